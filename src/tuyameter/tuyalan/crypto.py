"""The ciphers the protocol uses, all from the `cryptography` package."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class CryptoError(ValueError):
    """Data that does not decrypt or authenticate under the key in use."""


def ecb_encrypt(key: bytes, data: bytes, pad: bool = True) -> bytes:
    if pad:
        p = padding.PKCS7(128).padder()
        data = p.update(data) + p.finalize()
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def ecb_decrypt(key: bytes, data: bytes, unpad: bool = True) -> bytes:
    if not data or len(data) % 16:
        raise CryptoError(f"{len(data)} bytes is not a whole number of AES blocks")
    dec = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    out = dec.update(data) + dec.finalize()
    if not unpad:
        return out
    n = out[-1]
    if not 1 <= n <= 16 or out[-n:] != bytes([n]) * n:
        raise CryptoError("bad padding (wrong key?)")
    return out[:-n]


def gcm_encrypt(key: bytes, iv: bytes, data: bytes, aad: bytes | None) -> tuple[bytes, bytes]:
    """(ciphertext, 16-byte tag)."""
    out = AESGCM(key).encrypt(iv, data, aad)
    return out[:-16], out[-16:]


def gcm_decrypt(key: bytes, iv: bytes, data: bytes, tag: bytes, aad: bytes | None) -> bytes:
    try:
        return AESGCM(key).decrypt(iv, data + tag, aad)
    except InvalidTag:
        raise CryptoError("GCM tag does not verify (wrong key?)") from None


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
