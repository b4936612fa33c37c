"""The ciphers the protocol uses, all from the `cryptography` package.

A key that is used for many messages (a connection's local or session key) is an
:class:`AesKey`: its cipher contexts are made once. Making them costs ten to twenty
times the encryption of a whole message, and a meter sends one every few seconds.
"""

from __future__ import annotations

import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BLOCK = 16


class CryptoError(ValueError):
    """Data that does not decrypt or authenticate under the key in use."""


class AesKey:
    """A 16-byte key with its contexts, for AES-128 and HMAC-SHA256. ECB carries nothing from one
    block to the next, so one encryption and one decryption context serve every message: they are
    fed whole blocks and never finalised (a finalised context cannot be used again). HMACs start
    from a copy of one keyed context."""

    __slots__ = ("_dec", "_enc", "_gcm", "_hmac", "raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != BLOCK:
            raise ValueError(f"an AES-128 key has 16 bytes, not {len(raw)}")
        self.raw = raw
        cipher = Cipher(algorithms.AES(raw), modes.ECB())
        self._enc, self._dec = cipher.encryptor(), cipher.decryptor()
        self._gcm: AESGCM | None = None
        self._hmac = crypto_hmac.HMAC(raw, hashes.SHA256())

    def hmac_sha256(self, data: bytes) -> bytes:
        h = self._hmac.copy()
        h.update(data)
        return h.finalize()

    def ecb_encrypt(self, data: bytes, pad: bool = True) -> bytes:
        if pad:  # PKCS#7
            n = BLOCK - len(data) % BLOCK
            data += bytes((n,)) * n
        elif len(data) % BLOCK:
            raise ValueError(f"{len(data)} bytes is not a whole number of AES blocks")
        return self._enc.update(data)

    def ecb_decrypt(self, data: bytes, unpad: bool = True) -> bytes:
        if not data or len(data) % BLOCK:
            raise CryptoError(f"{len(data)} bytes is not a whole number of AES blocks")
        out = self._dec.update(data)
        if not unpad:
            return out
        n = out[-1]
        if not 1 <= n <= BLOCK or out[-n:] != bytes((n,)) * n:
            raise CryptoError("bad padding (wrong key?)")
        return out[:-n]

    def gcm_encrypt(self, iv: bytes, data: bytes, aad: bytes | None) -> tuple[bytes, bytes]:
        """(ciphertext, 16-byte tag)."""
        out = self._aead().encrypt(iv, data, aad)
        return out[:-16], out[-16:]

    def gcm_decrypt(self, iv: bytes, data: bytes, tag: bytes, aad: bytes | None) -> bytes:
        try:
            return self._aead().decrypt(iv, data + tag, aad)
        except InvalidTag:
            raise CryptoError("GCM tag does not verify (wrong key?)") from None

    def _aead(self) -> AESGCM:
        if self._gcm is None:
            self._gcm = AESGCM(self.raw)
        return self._gcm


Key = bytes | AesKey


def aes(key: Key) -> AesKey:
    return key if isinstance(key, AesKey) else AesKey(key)


def raw(key: Key) -> bytes:
    return key.raw if isinstance(key, AesKey) else key


def ecb_encrypt(key: Key, data: bytes, pad: bool = True) -> bytes:
    return aes(key).ecb_encrypt(data, pad)


def ecb_decrypt(key: Key, data: bytes, unpad: bool = True) -> bytes:
    return aes(key).ecb_decrypt(data, unpad)


def gcm_encrypt(key: Key, iv: bytes, data: bytes, aad: bytes | None) -> tuple[bytes, bytes]:
    """(ciphertext, 16-byte tag)."""
    return aes(key).gcm_encrypt(iv, data, aad)


def gcm_decrypt(key: Key, iv: bytes, data: bytes, tag: bytes, aad: bytes | None) -> bytes:
    return aes(key).gcm_decrypt(iv, data, tag, aad)


def hmac_sha256(key: Key, data: bytes) -> bytes:
    return aes(key).hmac_sha256(data)


def same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
