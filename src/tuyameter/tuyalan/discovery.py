"""Discovery datagrams: what devices announce on UDP 6666/6667 and what the app asks on 7000."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from tuyameter.tuyalan.constants import UDP_KEY, Command
from tuyameter.tuyalan.crypto import CryptoError, ecb_decrypt, ecb_encrypt
from tuyameter.tuyalan.frame import FrameDecoder, FrameError, Packet, encode_55aa, encode_6699, open_frame


def port_for(version: str) -> int:
    """3.1 devices announce in clear on 6666; the others encrypted on 6667."""
    return 6666 if version == "3.1" else 6667


def announcement(info: dict[str, Any], version: str, seq: int = 0) -> bytes:
    body = json.dumps(info, separators=(",", ":")).encode()
    if version == "3.5":
        return encode_6699(Packet(seq, Command.UDP_NEW, body, 0), UDP_KEY)
    if version == "3.1":
        return encode_55aa(Packet(seq, Command.UDP_NEW, body, 0))
    return encode_55aa(Packet(seq, Command.UDP_NEW, ecb_encrypt(UDP_KEY, body), 0))


def app_request(ip: str, seq: int = 0) -> bytes:
    """What the app sends to UDP 7000 so that 3.5 devices answer (by unicast)."""
    body = json.dumps({"from": "app", "ip": ip}, separators=(",", ":")).encode()
    return encode_6699(Packet(seq, Command.REQ_DEVINFO, body), UDP_KEY)


def parse_datagram(data: bytes) -> dict[str, Any] | None:
    """The JSON of an announcement or app request, or None for anything else (never raises)."""
    frames = FrameDecoder().feed(data)
    if len(frames) != 1:
        return None
    raw = frames[0]
    for has_retcode in (True, False):
        try:
            p = open_frame(raw, UDP_KEY if raw.is_6699 else None, hmac=False, has_retcode=has_retcode)
        except FrameError:
            continue
        for body in _bodies(p.payload):
            try:
                obj = json.loads(body.rstrip(b"\x00").decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(obj, dict):
                return obj
    return None


def _bodies(payload: bytes) -> list[bytes]:
    out = [payload]
    with contextlib.suppress(CryptoError):
        out.append(ecb_decrypt(UDP_KEY, payload))
    return out
