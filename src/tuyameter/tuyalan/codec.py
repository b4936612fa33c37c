"""One side of one connection: frames in and out under the right key, with sequence numbers."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from tuyameter.tuyalan.constants import Command, command_name
from tuyameter.tuyalan.crypto import AesKey, CryptoError
from tuyameter.tuyalan.envelope import seal, unseal
from tuyameter.tuyalan.frame import FrameError, Packet, RawFrame, encode_55aa, encode_6699, open_frame
from tuyameter.tuyalan.messages import encode

#: what a connection sends again and again with the same body: sealed once per key
REPEATED = frozenset({Command.HEART_BEAT, Command.UPDATEDPS})


class Message(NamedTuple):
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
        self.version, self.role = version, role
        self._local = AesKey(local_key)
        self._session: AesKey | None = None
        self._sealed: dict[tuple[int, bytes], bytes] = {}
        self.seq = 1

    @property
    def local_key(self) -> bytes:
        return self._local.raw

    @local_key.setter
    def local_key(self, key: bytes) -> None:
        self._local = AesKey(key)
        self._sealed.clear()

    @property
    def session_key(self) -> bytes | None:
        """The 3.4/3.5 session key, once negotiated."""
        return self._session.raw if self._session is not None else None

    @session_key.setter
    def session_key(self, key: bytes | None) -> None:
        self._session = AesKey(key) if key is not None else None
        self._sealed.clear()

    @property
    def key(self) -> AesKey:
        """The key frames use now: the session key once negotiated (3.4/3.5), else the local key."""
        return self._session or self._local

    def reset(self) -> None:
        self.session_key, self.seq = None, 1

    def pack(self, cmd: int, body: bytes | dict[str, Any], retcode: int | None = None) -> bytes:
        if isinstance(body, dict):
            body = encode(body)
        if self.role == "device" and retcode is None:
            retcode = 0
        key = self.key
        if cmd in REPEATED:
            payload = self._sealed.get((cmd, body))
            if payload is None:
                payload = self._sealed[cmd, body] = seal(self.version, cmd, body, key)
        else:
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
