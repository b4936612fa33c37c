"""An RFC 2217 serial bridge on loopback for tests, as ser2net or an ESP-link in telnet mode would be:
pyserial's own server side (serial.rfc2217.PortManager) in front of a serial device (an emulator's
pty). It records the line settings the client asked for: a pty carries no parity, RFC 2217 does."""

from __future__ import annotations

import socket
import threading

import serial
import serial.rfc2217


class _PtyPort(serial.Serial):
    """A serial device without modem lines (a pty): the client's DTR / RTS requests are taken and
    ignored, as a bridge whose adapter has none would."""

    def _update_dtr_state(self) -> None:
        return None

    def _update_rts_state(self) -> None:
        return None

    def _update_break_state(self) -> None:
        return None

    def _reconfigure_port(self, force_update: bool = False) -> None:
        """A pty refuses a parity setting (EINVAL): keep what the client asked for, set the pty without it."""
        asked = self._parity
        self._parity = serial.PARITY_NONE
        try:
            super()._reconfigure_port(force_update)  # type: ignore[misc]
        finally:
            self._parity = asked

    # the lines a bridge reports to its client: a pty has none, so "ready" and no carrier change
    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True


class _Connection:
    """What PortManager writes its answers to: the client's socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)


class Rfc2217Bridge:
    def __init__(self, device: str) -> None:
        self.device = device
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.url = f"rfc2217://127.0.0.1:{self.port}"
        #: (baud, parity, bytesize, stopbits) of the device after each client, as the client set them
        self.settings: list[tuple[int, str, int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        ser = _PtyPort(self.device, timeout=0.05)
        manager = serial.rfc2217.PortManager(ser, _Connection(conn))
        done = threading.Event()

        def device_to_client() -> None:
            while not done.is_set():
                try:
                    data = ser.read(ser.in_waiting or 1)
                    if data:
                        conn.sendall(b"".join(manager.escape(data)))
                except (OSError, serial.SerialException):
                    return

        reader = threading.Thread(target=device_to_client, daemon=True)
        reader.start()
        conn.settimeout(0.2)
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(1024)
                except TimeoutError:
                    continue
                if not data:
                    break
                payload = b"".join(manager.filter(data))
                if payload:
                    ser.write(payload)
        except OSError:
            pass
        finally:
            done.set()
            reader.join(2)
            self.settings.append((ser.baudrate, ser.parity, ser.bytesize, ser.stopbits))
            ser.close()

    def close(self) -> None:
        self._stop.set()
        self.server.close()
        self._thread.join(5)
