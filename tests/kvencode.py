"""An independent encoder of Tuya KV stores, for tests (written from the reference facts,
not from tuyameter.flash). Builds plain blocks, encrypts them, and lays out 72 KB config
files and full 2 MB dumps the way a BK7231N image has them."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MASTER = b"qwertyuiopasdfgh"
P2 = b"HHRRQbyemofrtytf"
BK_P1 = b"8710_2M"
KV_START = 0x1EE000  # key block of a 2 MB BK7231N image
FLASH = 0x200000


def aes(key: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def vault_key(device_key: bytes, p1: bytes = BK_P1) -> bytes:
    out = bytearray(16)
    for i in range(16):
        out[i] = (p1[i % 4] + P2[i] + device_key[i]) % 256
    return bytes(out)


def key_block(device_key: bytes, *, bad_checksum: bool = False) -> bytes:
    checksum = sum(device_key) + (1 if bad_checksum else 0)
    plain = struct.pack("<II", 0x13579753, checksum) + device_key
    return aes(MASTER, plain.ljust(4096, b"\xff"))


def protected_block(device_key: bytes, value: bytes) -> bytes:
    """The block at 0x1ED000: same magic as a key block, but its checksum covers the whole
    block and an inner-encrypted record follows the key (so it never passes as a key block)."""
    record = (struct.pack("<I", len(value)) + b"gw_bi".ljust(32, b"\0") + value).ljust(4096 - 32, b"\0")
    inner = aes(vault_key(device_key), record)
    body = bytearray(
        struct.pack("<II", 0x13579753, 0) + device_key + struct.pack("<II", len(record), 0xFFFFFFFF) + inner
    )
    struct.pack_into("<I", body, 4, sum(body[8:]) & 0xFFFFFFFF)
    return aes(MASTER, bytes(body))


@dataclass
class Block:
    block_id: int
    generation: int = 1
    pages: dict[int, bytes] = field(default_factory=dict)  # page no (1..31) → 128 bytes
    index: set[int] = field(default_factory=set)
    magic: int = 0x98761234

    def free(self) -> int | None:
        return next((p for p in range(1, 32) if p not in self.pages), None)

    def plain(self) -> bytes:
        bitmap = bytearray(4)
        for p in self.index:
            bitmap[p >> 3] |= 1 << (p & 7)
        body = bytearray(b"\xff" * 4096)
        body[8:128] = (struct.pack("<HIB", self.block_id, self.generation, 4) + bytes(bitmap)).ljust(120, b"\0")
        for p, data in self.pages.items():
            body[p * 128 : p * 128 + 128] = data
        struct.pack_into("<II", body, 0, self.magic, sum(body[8:]) & 0xFFFFFFFF)
        return bytes(body)


class Store:
    """Values are placed as Tuya does: an index page, then the value's pages, spilling into
    later blocks (one part per block)."""

    def __init__(self, device_key: bytes = bytes(range(0x30, 0x40)), first_id: int = 0) -> None:
        self.device_key = device_key
        self.blocks: list[Block] = [Block(first_id)]

    def _alloc(self) -> tuple[Block, int]:
        for b in self.blocks:
            p = b.free()
            if p is not None:
                return b, p
        b = Block(self.blocks[-1].block_id + 1)
        self.blocks.append(b)
        return b, 1

    def put(self, name: str, value: bytes) -> None:
        ib, ip = self._alloc()
        ib.pages[ip] = b"\0" * 128  # reserve
        ib.index.add(ip)
        parts: list[tuple[int, int, int]] = []
        chunks = [value[i : i + 128].ljust(128, b"\0") for i in range(0, len(value), 128)] or [b"\0" * 128]
        for chunk in chunks:
            b, p = self._alloc()
            b.pages[p] = chunk
            if parts and parts[-1][0] == b.block_id and parts[-1][2] == p - 1:
                parts[-1] = (b.block_id, parts[-1][1], p)
            else:
                parts.append((b.block_id, p, p))
        nm = name.encode() + b"\0"
        head = struct.pack("<IIHBHIB", sum(value), len(value), ib.block_id, ip, len(parts), 0, len(nm))
        page = head + nm + b"".join(struct.pack("<HBB", *pt) for pt in parts)
        assert len(page) <= 128, "name too long for an index page"
        ib.pages[ip] = page.ljust(128, b"\0")

    def encrypted(self, block: Block, p1: bytes = BK_P1) -> bytes:
        return aes(vault_key(self.device_key, p1), block.plain())


def config_region(
    store: Store, *, extra: list[tuple[int, bytes]] | None = None, p1: bytes = BK_P1, formatted: int = 14
) -> bytearray:
    """The 72 KB region 0x1EE000..0x200000: key block, data blocks from 0x1EF000, and
    ``extra`` (offset within the region, encrypted sector) such as swap copies. Tuya formats
    the data blocks up front, so ``formatted`` blocks exist even when empty."""
    region = bytearray(b"\xff" * (FLASH - KV_START))
    region[0:4096] = key_block(store.device_key)
    blocks = list(store.blocks)
    while len(blocks) < formatted:
        blocks.append(Block(blocks[-1].block_id + 1))
    assert len(blocks) <= 17, "a 72 KB region holds the key block and 17 data blocks"
    for i, b in enumerate(blocks):
        off = 0x1000 * (1 + i)
        region[off : off + 4096] = store.encrypted(b, p1)
    for off, sector in extra or []:
        region[off : off + 4096] = sector
    return region


def full_dump(region: bytes, *, mac: bytes = b"\x38\x1f\x8d\x12\x34\x56", obk_config: bool = False) -> bytearray:
    """A 2 MB image: made-up bootloader/app bytes, RF TLV with a MAC at 0x1D0000, Tuya net
    info (or an OpenBeken CFG) at 0x1D1000, a protected block at 0x1ED000, then ``region``."""
    img = bytearray(b"\xff" * FLASH)
    img[0:64] = b"BK7231N bootloader (synthetic)".ljust(64, b"\0")
    img[0x11000:0x11040] = b"bk7231n application, synthetic test image".ljust(64, b"\0")
    tlv = bytearray(b"TLV\0".ljust(4096, b"\0"))
    tlv[36:42] = mac
    img[0x1D0000:0x1D1000] = tlv
    img[0x1D1000:0x1D1010] = b"CFG\x05openbeken-cfg" if obk_config else b"tuya-netinfo...."
    img[0x1ED000:0x1EE000] = protected_block(bytes(range(0xA0, 0xB0)), b'{"uuid":"protected-copy"}')
    img[KV_START:] = region
    return img
