"""One side of one connection: frames in and out under the right key, with sequence numbers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tuyameter.tuyalan.constants import command_name
from tuyameter.tuyalan.crypto import CryptoError
from tuyameter.tuyalan.envelope import seal, unseal
from tuyameter.tuyalan.frame import FrameError, Packet, RawFrame, encode_55aa, encode_6699, open_frame


@dataclass(frozen=True)
class Message:
    """A decoded message: the body is JSON text (``data``) or raw bytes (negotiation)."""

    seq: int
    cmd: int
    body: bytes
    retcode: int | None = None

    @property
    def data(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        if not self.body or self.body[:1] not in (b"{", b"["):
            return None
        try:
            return json.loads(self.body.decode("utf-8", "replace"))
        except ValueError:
            return None

    @property
    def command(self) -> str:
        return command_name(self.cmd)


class Codec:
    """``role`` is "client" (frames out have no return code) or "device"."""

    def __init__(self, version: str, local_key: bytes, role: str) -> None:
        if len(local_key) != 16:
            raise ValueError(f"a local key has 16 characters, not {len(local_key)}")
        self.version, self.local_key, self.role = version, local_key, role
        self.session_key: bytes | None = None
        self.seq = 1

    @property
    def key(self) -> bytes:
        """The key frames use now: the session key once negotiated (3.4/3.5), else the local key."""
        return self.session_key or self.local_key

    def reset(self) -> None:
        self.session_key, self.seq = None, 1

    def pack(self, cmd: int, body: bytes | dict[str, Any], retcode: int | None = None) -> bytes:
        if isinstance(body, dict):
            body = json.dumps(body, separators=(",", ":")).encode()
        if self.role == "device" and retcode is None:
            retcode = 0
        key = self.key
        payload = seal(self.version, cmd, body, key)
        packet = Packet(self.seq, cmd, payload, retcode)
        self.seq += 1
        if self.version == "3.5":
            return encode_6699(packet, key)
        return encode_55aa(packet, key if self.version == "3.4" else None)

    def unpack(self, raw: RawFrame) -> Message:
        """FrameError / CryptoError when it does not verify or open under the key in use."""
        key = self.key
        from_device = self.role == "client"
        if raw.is_6699 != (self.version == "3.5"):
            raise FrameError(f"a {'0x6699' if raw.is_6699 else '0x55AA'} frame on a {self.version} connection")
        p = open_frame(raw, key, hmac=self.version == "3.4", has_retcode=from_device)
        try:
            body = unseal(self.version, p.payload, key)
        except CryptoError:
            if not from_device or p.retcode == 0:
                raise
            body = p.payload  # an error answer may come in clear
        return Message(p.seq, p.cmd, body, p.retcode)


__all__ = ["Codec", "CryptoError", "FrameError", "Message"]
