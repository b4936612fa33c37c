"""Client side of one Tuya LAN connection: a sans-IO state machine.

Bytes from the socket and the (monotonic) time go in through :meth:`ClientSession.receive_data`
and :meth:`ClientSession.tick`; bytes to write come out of :meth:`data_to_send` and events
out of :meth:`events`; :meth:`next_deadline` says when to tick again (never sooner than
needed: a silent, healthy connection wakes the loop for its heartbeats only).

negotiating (3.4/3.5: nonces, HMAC proof, session key) → querying (DP_QUERY /
DP_QUERY_NEW, or the device22 form) → ready (pushed STATUS, heartbeats, UPDATEDPS at
the refresh interval, writes confirmed by their echo) → failed (close the socket).
One session serves one TCP connection; a reconnect starts a new one.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tuyameter.tuyalan import messages as msg
from tuyameter.tuyalan.codec import Codec, CryptoError, FrameError, Message
from tuyameter.tuyalan.constants import STALL, VERSIONS, Command
from tuyameter.tuyalan.crypto import hmac_sha256
from tuyameter.tuyalan.envelope import negotiation_answer, session_key
from tuyameter.tuyalan.events import Dps, Event, Failed, Ready, Traffic, Undecodable, WriteResult
from tuyameter.tuyalan.frame import FrameDecoder, RawFrame, frames_within


class Phase(Enum):
    NEGOTIATING = "negotiating"
    QUERYING = "querying"
    READY = "ready"
    FAILED = "failed"


@dataclass
class ClientConfig:
    device_id: str
    local_key: bytes
    version: str
    heartbeat_interval: float = 10.0
    #: negotiation and status query answers
    response_timeout: float = 3.0
    #: the device is given up when nothing at all came for this long
    silence_limit: float = 25.0
    #: UPDATEDPS for these DPs every refresh_interval seconds (measured values of meters)
    refresh_dps: tuple[int, ...] = ()
    refresh_interval: float | None = None
    #: log every message as a Traffic event (monitors)
    trace: bool = False

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ValueError(f"protocol version {self.version!r} is not one of {', '.join(VERSIONS)}")
        if len(self.local_key) != 16:
            raise ValueError(f"a local key has 16 characters, not {len(self.local_key)}")


@dataclass
class ClientStats:
    frames_in: int = 0
    frames_out: int = 0
    undecodable: int = 0
    error_answers: int = 0
    heartbeats_missed: int = 0
    writes_ok: int = 0
    writes_failed: int = 0


@dataclass
class _Write:
    write_id: int
    dps: dict[str, Any]
    expires: float


@dataclass(eq=False)
class ClientSession:
    config: ClientConfig
    stats: ClientStats = field(default_factory=ClientStats)
    #: while someone looks at the link, a ring of its last messages both ways: (time, sent by us,
    #: message); a source hands each new session the same one so that it spans reconnections
    recent: deque[tuple[float, bool, Message]] | None = None

    def __post_init__(self) -> None:
        c = self.config
        self.codec = Codec(c.version, c.local_key, "client")
        self.decoder = FrameDecoder()
        self.phase = Phase.NEGOTIATING if c.version in msg.NEW_STYLE else Phase.QUERYING
        self.device22 = False
        self._out = bytearray()
        self._events: list[Event] = []
        self._nonce = b""
        self._deadline: float | None = None  # an answer is due (negotiation, query)
        self._last_rx = 0.0
        self._next_heartbeat = 0.0
        self._next_refresh: float | None = None
        self._heartbeat = msg.heartbeat(c.device_id)
        self._update: tuple[tuple[int, ...], tuple[Command, bytes]] | None = None  # UPDATEDPS made once
        self._writes: list[_Write] = []
        self._next_id = 0
        self._started = False
        self._pending_since: float | None = None

    # -- driving ---------------------------------------------------------------

    def start(self, now: float) -> None:
        self._started, self._last_rx = True, now
        if self.phase is Phase.NEGOTIATING:
            self._nonce = os.urandom(16)
            self._send(Command.SESS_KEY_NEG_START, self._nonce, now)
            self._deadline = now + self.config.response_timeout
        else:
            self._query(now)

    def receive_data(self, data: bytes, now: float) -> None:
        if self.phase is Phase.FAILED:
            return
        self._last_rx = now
        self._frames(self.decoder.feed(data), now)

    def _frames(self, raws: list[RawFrame], now: float) -> None:
        if not self.decoder.pending:
            self._pending_since = None
        elif raws or self._pending_since is None:  # progress, or a new partial frame: its clock starts now
            self._pending_since = now
        queue = raws
        while queue:
            raw = queue.pop(0)
            try:
                m = self.codec.unpack(raw)
            except (FrameError, CryptoError) as e:
                inner = frames_within(raw)
                if inner:  # garbage that swallowed real frames: those come next
                    queue[0:0] = inner
                    continue
                self.stats.frames_in += 1
                self._undecodable(str(e), now)
                continue
            self.stats.frames_in += 1
            if self.recent is not None:
                self.recent.append((now, False, m))
            if self.config.trace:
                self._events.append(Traffic(now, False, m))
            self._handle(m, now)
            if self.failed:
                return

    def tick(self, now: float) -> None:
        if self.phase is Phase.FAILED or not self._started:
            return
        if self._pending_since is not None and now >= self._pending_since + STALL:
            self._pending_since = None
            self._frames(self.decoder.unstick(), now)
        if self._deadline is not None and now >= self._deadline:
            what = "session key negotiation" if self.phase is Phase.NEGOTIATING else "status query"
            why = "a wrong local key or protocol version, or not a Tuya device"
            self._fail(f"no answer to the {what} in {self.config.response_timeout:g} s ({why}?)", "timeout", now)
            return
        if now - self._last_rx >= self.config.silence_limit:
            self._fail(f"nothing heard from the device for {self.config.silence_limit:g} s", "timeout", now)
            return
        for w in [w for w in self._writes if now >= w.expires]:
            self._writes.remove(w)
            self._write_done(w, False, {}, "no echo from the device in time", now)
        if self.phase is not Phase.READY:
            return
        if now >= self._next_heartbeat:
            if now - self._last_rx > self.config.heartbeat_interval * 1.5:
                self.stats.heartbeats_missed += 1
            self._send(*self._heartbeat, now)
            self._next_heartbeat = now + self.config.heartbeat_interval
        if self._next_refresh is not None and now >= self._next_refresh:
            self._refresh(now)

    def next_deadline(self, now: float) -> float | None:
        if self.phase is Phase.FAILED or not self._started:
            return None
        times = [self._last_rx + self.config.silence_limit]
        if self._pending_since is not None:
            times.append(self._pending_since + STALL)
        if self._deadline is not None:
            times.append(self._deadline)
        if self.phase is Phase.READY:
            times.append(self._next_heartbeat)
            if self._next_refresh is not None:
                times.append(self._next_refresh)
        times += [w.expires for w in self._writes]
        return min(times)

    def data_to_send(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def events(self) -> list[Event]:
        out, self._events = self._events, []
        return out

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY

    @property
    def failed(self) -> bool:
        return self.phase is Phase.FAILED

    # -- writes ----------------------------------------------------------------

    def write(self, dps: dict[str, Any], now: float, timeout: float = 5.0) -> int:
        """Send DP values; a :class:`WriteResult` follows when the device echoes them (or not)."""
        if self.phase is not Phase.READY:
            raise RuntimeError("the connection is not ready")
        self._next_id += 1
        self._writes.append(_Write(self._next_id, dict(dps), now + timeout))
        self._send(*msg.control(self.config.version, self.config.device_id, dps, int(time.time())), now)
        return self._next_id

    def cancel_write(self, write_id: int) -> None:
        self._writes = [w for w in self._writes if w.write_id != write_id]

    # -- internals -------------------------------------------------------------

    def _send(self, cmd: int, body: bytes | dict[str, Any], now: float) -> None:
        self._out += self.codec.pack(cmd, body)
        self.stats.frames_out += 1
        if self.recent is not None or self.config.trace:
            raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
            sent = Message(self.codec.seq - 1, cmd, raw)
            if self.recent is not None:
                self.recent.append((now, True, sent))
            if self.config.trace:
                self._events.append(Traffic(now, True, sent))

    def _query(self, now: float) -> None:
        c, t = self.config, int(time.time())
        if self.device22:
            names = [str(d) for d in c.refresh_dps] or ["1"]
            self._send(*msg.query_device22(c.device_id, names, t), now)
        else:
            self._send(*msg.query(c.version, c.device_id, t), now)
        self._deadline = now + c.response_timeout

    def _refresh(self, now: float) -> None:
        c = self.config
        if c.version == "3.1":  # 3.1 firmware has no UPDATEDPS: ask for the whole status instead
            self._send(*msg.query(c.version, c.device_id, int(time.time())), now)
        elif c.refresh_dps:
            if self._update is None or self._update[0] != c.refresh_dps:
                self._update = c.refresh_dps, msg.update_dps(list(c.refresh_dps))
            self._send(*self._update[1], now)
        self._next_refresh = None if c.refresh_interval is None else now + c.refresh_interval

    def _fail(self, reason: str, kind: str, now: float) -> None:
        self.phase = Phase.FAILED
        self._deadline = None
        for w in self._writes:
            self._write_done(w, False, {}, f"connection failed: {reason}", now)
        self._writes.clear()
        self._events.append(Failed(now, reason, kind))

    def _undecodable(self, reason: str, now: float) -> None:
        self.stats.undecodable += 1
        self._events.append(Undecodable(now, reason))
        if self.phase is Phase.QUERYING and self.config.version in ("3.1", "3.3"):
            # the first answer does not open under the local key: the key (or version) is wrong
            self._fail(f"the device's answer does not decrypt ({reason}): wrong local key or version", "key", now)

    def _handle(self, m: Message, now: float) -> None:
        if m.cmd == Command.SESS_KEY_NEG_RESP and self.phase is Phase.NEGOTIATING:
            self._negotiated(m.body, now)
            return
        if m.retcode:
            self.stats.error_answers += 1
        if self.phase is Phase.QUERYING and not self.device22 and b"data unvalid" in m.body:
            self.device22 = True  # ask again, naming the DPs
            self._query(now)
            return
        if m.cmd in (Command.CONTROL, Command.CONTROL_NEW) and m.retcode and self._writes:
            w = self._writes.pop(0)
            text = m.body.decode("utf-8", "replace") or "no text"
            self._write_done(w, False, {}, f"the device refused it (code {m.retcode}: {text})", now)
            return
        dps = msg.dps_of(m.data)
        if dps is None:
            return
        if self.phase is Phase.QUERYING:
            self.phase, self._deadline = Phase.READY, None
            self._next_heartbeat = now + self.config.heartbeat_interval
            if self.config.refresh_interval is not None:
                self._next_refresh = now + min(1.0, self.config.refresh_interval)
            self._events.append(Ready(now, self.config.version, self.device22))
        self._events.append(Dps(now, dps, m.cmd))
        self._match_writes(dps, now)

    def _negotiated(self, body: bytes, now: float) -> None:
        key = self.config.local_key
        if len(body) < 48:
            self._fail(f"session key answer of {len(body)} bytes (48 expected)", "protocol", now)
            return
        device_nonce = body[:16]
        if negotiation_answer(key, self._nonce, device_nonce) != body[:48]:
            self._fail("the device does not prove the local key: the local key is wrong", "key", now)
            return
        self._send(Command.SESS_KEY_NEG_FINISH, hmac_sha256(key, device_nonce), now)
        self.codec.session_key = session_key(self.config.version, key, self._nonce, device_nonce)
        self.phase = Phase.QUERYING
        self._query(now)

    def _match_writes(self, dps: dict[str, Any], now: float) -> None:
        for w in list(self._writes):
            if all(k in dps and dps[k] == v for k, v in w.dps.items()):
                self._writes.remove(w)
                self._write_done(w, True, {k: dps[k] for k in w.dps}, None, now)
            elif any(k in dps for k in w.dps):  # the device answered with other values: not applied
                self._writes.remove(w)
                echoed = {k: dps[k] for k in w.dps if k in dps}
                self._write_done(w, False, echoed, f"the device kept {echoed}", now)

    def _write_done(self, w: _Write, ok: bool, echoed: dict[str, Any], error: str | None, now: float) -> None:
        if ok:
            self.stats.writes_ok += 1
        else:
            self.stats.writes_failed += 1
        self._events.append(WriteResult(now, w.write_id, ok, echoed, error))
