"""Payload encryption per protocol version (inside a frame), and the 3.4/3.5 session key."""

from __future__ import annotations

import base64
import binascii
import hashlib

from tuyameter.tuyalan.constants import NO_HEADER, Command, version_header
from tuyameter.tuyalan.crypto import CryptoError, Key, ecb_decrypt, ecb_encrypt, gcm_encrypt, hmac_sha256, raw

#: 3.1 encrypts only these, in its base64 + md5 envelope
_V31_SEALED = frozenset({Command.CONTROL, Command.STATUS})


def seal(version: str, cmd: int, body: bytes, key: Key) -> bytes:
    """``body`` (JSON or raw bytes) → the payload as it travels (for 3.5: the GCM plaintext)."""
    if not body:
        return b""
    header = version_header(version) if cmd not in NO_HEADER else b""
    if version == "3.1":
        if cmd not in _V31_SEALED:
            return body
        b64 = base64.b64encode(ecb_encrypt(key, body))
        return b"3.1" + _v31_signature(b64, key) + b64
    if version == "3.4":
        return ecb_encrypt(key, header + body)
    if version == "3.5":
        return header + body
    return header + ecb_encrypt(key, body)  # 3.2 / 3.3


def unseal(version: str, payload: bytes, key: Key) -> bytes:
    """The payload as it travelled → its body (JSON text or raw bytes). CryptoError if it won't open."""
    if not payload:
        return b""
    vb = version.encode()
    if payload.startswith(b"3.1") and version == "3.1":
        b64 = payload[19:]
        if _v31_signature(b64, key) != payload[3:19]:
            raise CryptoError("3.1 envelope: its MD5 signature does not match (wrong local key?)")
        try:
            return ecb_decrypt(key, base64.b64decode(b64, validate=True))
        except (binascii.Error, ValueError) as e:
            raise CryptoError(f"3.1 envelope does not open: {e}") from None
    if version == "3.1":
        return payload
    if version == "3.4":
        payload = ecb_decrypt(key, payload)
    elif version == "3.5":
        pass
    else:  # 3.2 / 3.3: a clear header, then ECB (some error answers come in clear JSON)
        if payload.startswith(vb):
            payload = payload[15:]
        try:
            payload = ecb_decrypt(key, payload)
        except CryptoError:
            if payload[:1] == b"{" and payload.rstrip()[-1:] == b"}":
                return payload
            raise
    return payload[15:] if payload.startswith(vb) else payload


def _v31_signature(b64: bytes, key: Key) -> bytes:
    """The 16 hex digits that sign a 3.1 envelope: the middle of md5 over the text and the key."""
    return hashlib.md5(b"data=" + b64 + b"||lpv=3.1||" + raw(key)).hexdigest()[8:24].encode()


# -- session key (3.4, 3.5) -----------------------------------------------------------


def negotiation_answer(local_key: bytes, client_nonce: bytes, device_nonce: bytes) -> bytes:
    """What the device sends in SESS_KEY_NEG_RESP: its nonce and proof that it knows the key."""
    return device_nonce + hmac_sha256(local_key, client_nonce)


def session_key(version: str, local_key: bytes, client_nonce: bytes, device_nonce: bytes) -> bytes:
    mixed = bytes(a ^ b for a, b in zip(client_nonce, device_nonce, strict=True))
    if version == "3.5":
        return gcm_encrypt(local_key, client_nonce[:12], mixed, None)[0]
    return ecb_encrypt(local_key, mixed, pad=False)
