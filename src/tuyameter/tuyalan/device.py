"""Device side of one Tuya LAN connection (what stock firmware does), sans-IO, for the emulator.

It answers the session key negotiation (3.4/3.5), status queries, heartbeats and
UPDATEDPS from a :class:`DeviceModel`, passes writes to it, and pushes STATUS
when the model has new values (:meth:`DeviceSession.push`). Frames that do not
verify under the key in use are dropped and counted, as the firmware does.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from tuyameter.tuyalan import messages as msg
from tuyameter.tuyalan.codec import Codec, CryptoError, FrameError, Message
from tuyameter.tuyalan.constants import Command
from tuyameter.tuyalan.crypto import hmac_sha256, same
from tuyameter.tuyalan.envelope import negotiation_answer, session_key
from tuyameter.tuyalan.frame import FrameDecoder, frames_within


class DeviceModel(Protocol):
    def dps(self) -> dict[str, Any]:
        """Every DP's current value, as JSON carries it."""
        ...

    def control(self, dps: dict[str, Any]) -> None:
        """Apply writes; the new values come back through :meth:`DeviceSession.push` once applied."""
        ...


@dataclass
class DeviceStats:
    frames_in: int = 0
    frames_out: int = 0
    rejected: int = 0  # frames that did not verify or open
    queries: int = 0
    controls: int = 0
    refreshes: int = 0
    heartbeats: int = 0


@dataclass(eq=False)
class DeviceSession:
    device_id: str
    local_key: bytes
    version: str
    model: DeviceModel
    #: answer DP_QUERY with "data unvalid" (devices that want the DPs named)
    device22: bool = False
    stats: DeviceStats = field(default_factory=DeviceStats)

    def __post_init__(self) -> None:
        self.codec = Codec(self.version, self.local_key, "device")
        self.decoder = FrameDecoder()
        self.keyed = self.version not in msg.NEW_STYLE  # 3.1/3.3 need no session key
        self._device_nonce = b""
        self._client_nonce = b""
        self._out = bytearray()
        #: a client that cannot prove the key is dropped, as the firmware drops it
        self.closed: str | None = None

    def receive_data(self, data: bytes) -> None:
        queue = self.decoder.feed(data)
        while queue:
            raw = queue.pop(0)
            self.stats.frames_in += 1
            try:
                m = self.codec.unpack(raw)
            except (FrameError, CryptoError):
                inner = frames_within(raw)
                queue[0:0] = inner  # garbage that swallowed real frames: those come next
                self.stats.rejected += not inner
                continue
            self._handle(m)

    def data_to_send(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def push(self, dps: dict[str, Any]) -> None:
        """STATUS (8) with these values, once the client may hear it."""
        if self.keyed and dps:
            self._send(Command.STATUS, msg.status(self.version, self.device_id, dps, int(time.time())))

    def _send(self, cmd: int, body: bytes | dict[str, Any], retcode: int = 0) -> None:
        self._out += self.codec.pack(cmd, body, retcode)
        self.stats.frames_out += 1

    def _handle(self, m: Message) -> None:
        if m.cmd == Command.SESS_KEY_NEG_START and not self.keyed and len(m.body) >= 16:
            self._client_nonce, self._device_nonce = m.body[:16], os.urandom(16)
            answer = negotiation_answer(self.local_key, self._client_nonce, self._device_nonce)
            self._send(Command.SESS_KEY_NEG_RESP, answer)
            return
        if m.cmd == Command.SESS_KEY_NEG_FINISH and not self.keyed and self._device_nonce:
            if not same(m.body[:32], hmac_sha256(self.local_key, self._device_nonce)):
                self.closed = "the client did not prove the local key"
                return
            self.codec.session_key = session_key(self.version, self.local_key, self._client_nonce, self._device_nonce)
            self.keyed = True
            return
        if not self.keyed:
            return  # nothing else is answered before the session key is agreed
        data = m.data
        if m.cmd in (Command.DP_QUERY, Command.DP_QUERY_NEW):
            self.stats.queries += 1
            if self.device22:
                self._send(m.cmd, b"json obj data unvalid", 1)
            else:
                self._send(m.cmd, msg.status(self.version, self.device_id, self.model.dps(), int(time.time())))
        elif m.cmd == Command.HEART_BEAT:
            self.stats.heartbeats += 1
            self._send(Command.HEART_BEAT, b"")
        elif m.cmd == Command.UPDATEDPS:
            self.stats.refreshes += 1
            self._send(Command.UPDATEDPS, b"")
            wanted = {str(i) for i in msg.requested_dps(data) or []}
            self.push({k: v for k, v in self.model.dps().items() if k in wanted})
        elif m.cmd in (Command.CONTROL, Command.CONTROL_NEW):
            dps = msg.dps_of(data) or {}
            self._send(m.cmd, b"")
            queried = {k for k, v in dps.items() if v is None}  # device22's query: DPs named with null
            if queried:
                now = self.model.dps()
                named = {k: now[k] for k in queried if k in now}
                self._send(Command.STATUS, msg.status(self.version, self.device_id, named, int(time.time())))
            writes = {k: v for k, v in dps.items() if v is not None}
            if writes:
                self.stats.controls += 1
                self.model.control(writes)
