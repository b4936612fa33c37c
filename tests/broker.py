"""A real mosquitto broker on a free loopback port, and a paho subscriber, for tests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    def __init__(self, tmp: Path, port: int | None = None, extra: str = "") -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.exe = exe
        self.port = port or free_port()
        self.conf = tmp / f"mosquitto-{self.port}.conf"
        anonymous = "false" if "password_file" in extra else "true"
        if os.geteuid() == 0:
            # As root mosquitto would switch to its own user, who cannot read files in pytest's tmp dirs.
            extra += "user root\n"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous {anonymous}\npersistence false\n{extra}")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


class Sub:
    """Subscribes to ``#`` and records every message; reconnects by itself."""

    def __init__(self, port: int, topic: str = "#") -> None:
        self.lock = threading.Lock()
        self.msgs: list[tuple[float, str, bytes, bool]] = []
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{free_port()}")
        self.c.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.c.on_message = self._on_message
        self.c.reconnect_delay_set(0.2, 1)
        self.c.connect_async("127.0.0.1", port)
        self.c.loop_start()

    def _on_message(self, c: Any, u: Any, m: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.msgs.append((time.monotonic(), m.topic, m.payload, bool(m.retain)))

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def on(self, topic: str, since: float = 0.0) -> list[bytes]:
        with self.lock:
            return [p for t, tp, p, _ in self.msgs if tp == topic and t >= since]

    def last_json(self, topic: str) -> dict[str, Any]:
        got = self.on(topic)
        assert got, f"nothing on {topic}"
        return dict(json.loads(got[-1]))

    def wait(self, pred: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return
            time.sleep(0.05)
        with self.lock:
            topics = sorted({tp for _, tp, _, _ in self.msgs})
        raise AssertionError(f"timed out waiting for {what}; topics seen: {topics}")

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()
