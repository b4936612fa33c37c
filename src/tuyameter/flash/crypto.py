"""AES-128-ECB and the Tuya KV key derivation (pure functions)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SECTOR = 0x1000
MASTER_KEY = b"qwertyuiopasdfgh"
KEY_PART_2 = b"HHRRQbyemofrtytf"

#: first half of the data-key recipe per chip family (only its first 4 bytes count)
FAMILIES: dict[str, bytes] = {
    "BK7231N/T": b"8710_2M",
    "RTL8720D (8721D)": b"8721D",
    "RTL8711AM 4 MB (WRG1)": b"8711AM_4M",
    "RDA5981": b"RDA5981_2M",
}
BEKEN = "BK7231N/T"


def data_key(device_key: bytes, part1: bytes = FAMILIES[BEKEN]) -> bytes:
    """The key that encrypts data blocks, from the device key in the key block."""
    return bytes((part1[i & 3] + KEY_PART_2[i] + device_key[i]) & 0xFF for i in range(16))


@lru_cache(maxsize=64)
def _cipher(key: bytes) -> Cipher[modes.ECB]:
    return Cipher(algorithms.AES(key), modes.ECB())


def decrypt(key: bytes, data: bytes) -> bytes:
    """AES-ECB decrypt; ``data`` length must be a multiple of 16."""
    d = _cipher(key).decryptor()
    return d.update(data) + d.finalize()


def encrypt(key: bytes, data: bytes) -> bytes:
    e = _cipher(key).encryptor()
    return e.update(data) + e.finalize()
