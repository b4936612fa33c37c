"""Frames of the Tuya LAN protocol: 0x55AA (3.1–3.4) and 0x6699 (3.5), built and opened.

A :class:`FrameDecoder` cuts a byte stream into :class:`RawFrame` s by prefix, length
and suffix alone (it needs no key); :func:`open_frame` then checks the CRC32, HMAC or
GCM tag with the key in use and gives the :class:`Packet` inside.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

from tuyameter.tuyalan.constants import MAX_FRAME, PREFIX_55AA, PREFIX_6699, SUFFIX_55AA, SUFFIX_6699
from tuyameter.tuyalan.crypto import CryptoError, Key, gcm_decrypt, gcm_encrypt, hmac_sha256, same

_H55 = struct.Struct(">4I")  # prefix, seq, cmd, length
_H66 = struct.Struct(">IHIII")  # prefix, reserved, seq, cmd, length
_P55 = PREFIX_55AA.to_bytes(4, "big")
_P66 = PREFIX_6699.to_bytes(4, "big")
_S55 = SUFFIX_55AA.to_bytes(4, "big")
_S66 = SUFFIX_6699.to_bytes(4, "big")
RETCODE = struct.Struct(">I")


class FrameError(ValueError):
    """A frame whose checksum, HMAC or tag does not verify, or whose layout is wrong."""


class Packet(NamedTuple):
    """What a frame carries: ``payload`` is still as sent (encrypted or not, per version)."""

    seq: int
    cmd: int
    payload: bytes
    retcode: int | None = None  # only in frames from the device


class RawFrame(NamedTuple):
    prefix: int
    seq: int
    cmd: int
    data: bytes  # the whole frame

    @property
    def is_6699(self) -> bool:
        return self.prefix == PREFIX_6699


def encode_55aa(p: Packet, hmac_key: Key | None = None) -> bytes:
    """A 0x55AA frame; CRC32 without ``hmac_key`` (3.1–3.3), HMAC-SHA256 with it (3.4)."""
    body = (b"" if p.retcode is None else RETCODE.pack(p.retcode)) + p.payload
    check_len = 32 if hmac_key else 4
    head = _H55.pack(PREFIX_55AA, p.seq & 0xFFFFFFFF, p.cmd, len(body) + check_len + 4)
    check = hmac_sha256(hmac_key, head + body) if hmac_key else struct.pack(">I", zlib.crc32(head + body))
    return head + body + check + _S55


def encode_6699(p: Packet, key: Key, iv: bytes | None = None) -> bytes:
    """A 0x6699 frame (3.5): AES-GCM under ``key``, the 14 header bytes after the prefix as AAD."""
    plain = (b"" if p.retcode is None else RETCODE.pack(p.retcode)) + p.payload
    head = _H66.pack(PREFIX_6699, 0, p.seq & 0xFFFFFFFF, p.cmd, 12 + len(plain) + 16)
    iv = iv or os.urandom(12)
    ct, tag = gcm_encrypt(key, iv, plain, head[4:])
    return head + iv + ct + tag + _S66


def open_frame(raw: RawFrame, key: Key | None, *, hmac: bool, has_retcode: bool) -> Packet:
    """Verify and unwrap: ``key`` is the HMAC key (``hmac=True``, 3.4) or the GCM key (6699)."""
    d = raw.data
    if raw.is_6699:
        if key is None:
            raise FrameError("a 0x6699 frame needs a key")
        head, iv, ct, tag = d[:18], d[18:30], d[30:-20], d[-20:-4]
        try:
            plain = gcm_decrypt(key, iv, ct, tag, head[4:])
        except CryptoError as e:
            raise FrameError(str(e)) from None
        return _with_retcode(raw, plain, has_retcode)
    check_len = 32 if hmac else 4
    body_end = len(d) - 4 - check_len
    if body_end < _H55.size:
        raise FrameError(f"frame of {len(d)} bytes is too short for its checksum")
    signed, check = d[:body_end], d[body_end:-4]
    if hmac:
        if key is None or not same(hmac_sha256(key, signed), check):
            raise FrameError("HMAC does not verify (wrong key or session key?)")
    elif struct.unpack(">I", check)[0] != zlib.crc32(signed):
        raise FrameError("CRC32 does not match")
    return _with_retcode(raw, signed[_H55.size :], has_retcode)


def frames_within(raw: RawFrame) -> list[RawFrame]:
    """The frames inside one that did not verify: a header in garbage can claim exactly the length
    that ends on a real frame's suffix, swallowing it. Its bytes from the second on, looked at alone."""
    return FrameDecoder().feed(raw.data[1:])


def _with_retcode(raw: RawFrame, body: bytes, has_retcode: bool) -> Packet:
    if not has_retcode:
        return Packet(raw.seq, raw.cmd, body)
    if len(body) < 4:
        raise FrameError("frame from the device without its return code")
    return Packet(raw.seq, raw.cmd, body[4:], RETCODE.unpack_from(body)[0])


@dataclass
class DecoderStats:
    frames: int = 0
    garbage_bytes: int = 0
    resyncs: int = 0


@dataclass
class FrameDecoder:
    """Bytes in, :class:`RawFrame` s out; garbage between frames is skipped and counted."""

    stats: DecoderStats = field(default_factory=DecoderStats)
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[RawFrame]:
        if self._buf:  # the tail of the last read: go on from there
            self._buf += data
            data = bytes(self._buf)
            self._buf.clear()
        out: list[RawFrame] = []
        stats, pos, end = self.stats, 0, len(data)
        while True:
            m = _PREFIX.search(data, pos)
            if m is None:
                keep = max(pos, end - 3)  # a prefix may be split across reads
                stats.garbage_bytes += keep - pos
                self._buf += data[keep:]
                return out
            start = m.start()
            stats.garbage_bytes += start - pos
            pos = start
            is66 = data[pos : pos + 4] == _P66
            hs = _H66 if is66 else _H55
            if end - pos < hs.size:
                self._buf += data[pos:]
                return out
            fields = hs.unpack_from(data, pos)
            seq, cmd, length = fields[-3:]
            total = hs.size + length + (4 if is66 else 0)
            minimum = 12 + 16 if is66 else 4 + 4  # IV and tag; CRC and suffix
            if not minimum <= length <= MAX_FRAME or (
                end - pos >= total and data[pos + total - 4 : pos + total] != (_S66 if is66 else _S55)
            ):
                stats.resyncs += 1
                stats.garbage_bytes += 1
                pos += 1
                continue
            if end - pos < total:
                self._buf += data[pos:]
                return out
            out.append(RawFrame(PREFIX_6699 if is66 else PREFIX_55AA, seq, cmd, data[pos : pos + total]))
            pos += total
            stats.frames += 1

    def unstick(self) -> list[RawFrame]:
        """The frame waited for is not coming (a header in garbage claimed a length): skip it, look again."""
        if not self._buf:
            return []
        self._resync()
        return self.feed(b"")

    @property
    def pending(self) -> int:
        return len(self._buf)

    def _skip(self, n: int) -> None:
        del self._buf[:n]
        self.stats.garbage_bytes += n

    def _resync(self) -> None:
        self.stats.resyncs += 1
        self._skip(1)


_PREFIX = re.compile(re.escape(_P55) + b"|" + re.escape(_P66))
