"""Read the Tuya key-value store out of a flash image (sans-IO: bytes in, a :class:`Store` out).

Layout facts: ``../shared/reference/tuya-flash-kv.md``. The key block is found by
scanning every 4 KB sector (and, for files cut at odd offsets, by the encrypted-0xFF
marker), data blocks are every later sector that decrypts to a data-block header with a
good checksum, and of several copies of one block id the one with the highest
generation wins. Nothing here raises on a damaged store beyond the few
:class:`FlashError` cases that leave nothing to read; everything else is a ``problem``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from tuyameter.flash.crypto import BEKEN, FAMILIES, MASTER_KEY, SECTOR, data_key, decrypt, encrypt

KEY_MAGIC = 0x13579753
DATA_MAGICS = (0x98761234, 0x135726AB)
PAGE = 128
PAGES_PER_BLOCK = SECTOR // PAGE  # page 0 is the block header
_INDEX = struct.Struct("<IIHBHIB")  # crc, length, block_id, page_id, parts, element, name_len
_PART = struct.Struct("<HBB")  # block_id, first page, last page
ERASED_MARKER = encrypt(MASTER_KEY, b"\xff" * 16)


class FlashError(ValueError):
    """The file holds no readable Tuya store; ``kind`` says why in one word."""

    kind = "error"


class ErasedError(FlashError):
    kind = "erased"


class OpenBekenConfigError(FlashError):
    kind = "openbeken-config"


class NoStoreError(FlashError):
    kind = "no-store"


class UnknownKeyError(FlashError):
    kind = "unknown-key"


class TruncatedError(FlashError):
    kind = "truncated"


#: A store is a key block and 17 data sectors (0x1EE000–0x200000 on a 2 MB BK7231N: the "72 KB
#: config"); some BK7231T layouts put the same 72 KB at 0x1DD000, with other data after it.
STORE_SECTORS = 18
STORE_SPAN = STORE_SECTORS * SECTOR


@dataclass(frozen=True)
class DataBlock:
    offset: int
    block_id: int
    generation: int
    magic: int
    plain: bytes  # the decrypted 4 KB

    def index_pages(self) -> list[int]:
        size = self.plain[14]
        bitmap = self.plain[15 : 15 + size]
        return [i for i in range(1, PAGES_PER_BLOCK) if i // 8 < len(bitmap) and bitmap[i // 8] >> (i % 8) & 1]

    def page(self, i: int) -> bytes:
        return self.plain[i * PAGE : (i + 1) * PAGE]


@dataclass(frozen=True)
class Value:
    name: str
    raw: bytes | None  # None when part of it is in a block we do not have
    length: int
    crc: int
    block_id: int
    page_id: int

    @property
    def crc_ok(self) -> bool:
        return self.raw is not None and sum(self.raw) & 0xFFFFFFFF == self.crc


@dataclass
class Store:
    key_offset: int
    device_key: bytes
    family: str
    blocks: dict[int, DataBlock] = field(default_factory=dict)  # block id → newest good copy
    stale: list[DataBlock] = field(default_factory=list)  # older copies, not used
    values: dict[str, Value] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: information, not problems: the older swap copies every healthy store keeps
    notes: list[str] = field(default_factory=list)
    protected_offsets: list[int] = field(default_factory=list)
    size: int = 0

    @property
    def end(self) -> int:
        """One past the last sector the store occupies."""
        offs = [b.offset for b in self.blocks.values()] + [b.offset for b in self.stale] + [self.key_offset]
        return max(offs) + SECTOR

    @property
    def extent(self) -> tuple[int, int]:
        """The sectors the store may use: its protected block (just before the key block, where there
        is one), the key block and STORE_SECTORS - 1 data sectors after it (within the file)."""
        start = self.key_offset - SECTOR if self.key_offset - SECTOR in self.protected_offsets else self.key_offset
        return start, min(self.size or self.key_offset + STORE_SPAN, self.key_offset + STORE_SPAN)


def _sum(data: bytes) -> int:
    return sum(data) & 0xFFFFFFFF


def _key_at(image: bytes, off: int) -> tuple[bytes | None, bool]:
    """(device key, magic seen) for a key block candidate at ``off``."""
    head = image[off : off + 32]
    if len(head) < 32:
        return None, False
    plain = decrypt(MASTER_KEY, head)
    magic, checksum = struct.unpack_from("<II", plain)
    if magic != KEY_MAGIC:
        return None, False
    key = plain[8:24]
    return (key if _sum(key) == checksum else None), True


def find_key_blocks(image: bytes) -> tuple[list[tuple[int, bytes]], list[int]]:
    """Key blocks (offset, device key) with magic and checksum, and offsets with the magic only
    (the protected block). Sectors are scanned first; the marker search covers odd cuts."""
    found: list[tuple[int, bytes]] = []
    magic_only: list[int] = []
    for off in range(0, max(len(image) - 31, 0), SECTOR):
        key, magic = _key_at(image, off)
        if key is not None:
            found.append((off, key))
        elif magic:
            magic_only.append(off)
    if not found:
        pos = image.find(ERASED_MARKER)
        while pos != -1:
            cand = pos - 32
            if cand >= 0 and cand % 16 == 0 and cand % SECTOR:
                key, _ = _key_at(image, cand)
                if key is not None:
                    found.append((cand, key))
                    break
            pos = image.find(ERASED_MARKER, pos + 16)
    return found, magic_only


def _is_erased(chunk: bytes) -> bool:
    return chunk.count(0xFF) == len(chunk)


def _scan_blocks(image: bytes, start: int, dkey: bytes, problems: list[str]) -> list[DataBlock]:
    """The data blocks of the store whose first data sector is ``start``: at most STORE_SECTORS - 1
    sectors, so the scan stops at the store's end (a store at 0x1DD000 is followed by other data)."""
    blocks: list[DataBlock] = []
    for off in range(start, min(len(image), start - SECTOR + STORE_SPAN), SECTOR):
        raw = image[off : off + SECTOR]
        if len(raw) < SECTOR:
            if not _is_erased(raw):
                problems.append(f"0x{off:06X}: the file ends {len(raw)} bytes into this sector (truncated)")
            break
        if _is_erased(raw):
            continue
        magic = struct.unpack_from("<I", decrypt(dkey, raw[:16]))[0]
        if magic not in DATA_MAGICS:
            problems.append(f"0x{off:06X}: neither erased nor a data block (damaged header?); skipped")
            continue
        plain = decrypt(dkey, raw)
        checksum, block_id, generation = struct.unpack_from("<IHI", plain, 4)
        if _sum(plain[8:]) != checksum:
            problems.append(f"0x{off:06X}: data block {block_id} fails its checksum (corrupted); skipped")
            continue
        blocks.append(DataBlock(off, block_id, generation, magic, plain))
    return blocks


def _probe_family(image: bytes, start: int, device_key: bytes) -> str | None:
    """Which family's data key opens the first used sector after the key block."""
    for off in range(start, len(image) - SECTOR + 1, SECTOR):
        head = image[off : off + 16]
        if _is_erased(image[off : off + SECTOR]):
            continue
        for fam, part1 in FAMILIES.items():
            if struct.unpack_from("<I", decrypt(data_key(device_key, part1), head))[0] in DATA_MAGICS:
                return fam
        return None
    return None


def _no_store(image: bytes) -> FlashError:
    if _is_erased(image):
        return ErasedError(f"the whole file ({len(image)} bytes) is 0xFF: this flash was erased")
    if image[:3] == b"CFG":
        return OpenBekenConfigError("this is an OpenBeken configuration (starts with 'CFG'), not a Tuya config")
    cfg = [o for o in range(0, len(image), SECTOR) if image[o : o + 3] == b"CFG" and o >= 0x1D0000]
    if len(image) == 0x200000 and _is_erased(image[0x1EE000:]):
        extra = f"; an OpenBeken config is at 0x{cfg[0]:06X}" if cfg else ""
        return ErasedError(f"the Tuya config region 0x1EE000–0x200000 is erased (all 0xFF){extra}")
    if 0x12000 < len(image) < 0x200000 and len(image) > 0x100000:
        return TruncatedError(
            f"no Tuya key block in {len(image):#x} bytes; a 2 MB BK7231 dump keeps it at 0x1EE000, "
            "so this dump looks cut short"
        )
    return NoStoreError(
        "no Tuya key block found (magic and checksum under the master key): not a BK7231 Tuya dump, "
        "or a store from another vendor"
    )


def read_store(image: bytes) -> Store:
    """Find, decrypt and read the whole store in ``image`` (a 72 KB config file or a full dump)."""
    if not image:
        raise TruncatedError("the file is empty")
    keys, magic_only = find_key_blocks(image)
    if not keys:
        raise _no_store(image)
    best: Store | None = None
    for off, device_key in keys:
        st = Store(off, device_key, BEKEN, protected_offsets=[o for o in magic_only if o != off], size=len(image))
        found = _scan_blocks(image, off + SECTOR, data_key(device_key), st.problems)
        for blk in sorted(found, key=lambda b: (b.block_id, -b.generation, b.offset)):
            if blk.block_id in st.blocks:
                st.stale.append(blk)
            else:
                st.blocks[blk.block_id] = blk
        if best is None or len(st.blocks) > len(best.blocks):
            best = st
    assert best is not None
    if not best.blocks:
        start = best.key_offset + SECTOR
        if len(image) < start + SECTOR:
            raise TruncatedError(f"the key block is at 0x{best.key_offset:06X} but the file ends before any data block")
        fam = _probe_family(image, start, best.device_key)
        if fam and fam != BEKEN:
            raise UnknownKeyError(f"the data blocks are encrypted for a {fam} module, not BK7231N/T")
        if _is_erased(image[start:]):
            raise ErasedError(f"the key block is at 0x{best.key_offset:06X} but every data block after it is erased")
        raise UnknownKeyError(
            "no data block decrypts with this device's key: the store is corrupted or from a chip family "
            "tuyameter does not know"
        )
    for blk in best.stale:
        best.notes.append(
            f"0x{blk.offset:06X}: older copy of block {blk.block_id} (generation {blk.generation}, "
            f"newest is {best.blocks[blk.block_id].generation}); ignored"
        )
    _read_values(best)
    return best


def _read_values(st: Store) -> None:
    for blk in sorted(st.blocks.values(), key=lambda b: b.block_id):
        for i in blk.index_pages():
            v = _read_index(st, blk, i)
            if v is None:
                continue
            old = st.values.get(v.name)
            if old is None or (v.crc_ok and not old.crc_ok):
                st.values[v.name] = v
            if old is not None:
                st.problems.append(f"value {v.name!r} has two index entries; kept the one that checks out")


def _read_index(st: Store, blk: DataBlock, i: int) -> Value | None:
    page = blk.page(i)
    crc, length, block_id, page_id, nparts, _element, name_len = _INDEX.unpack_from(page)
    where = f"block {blk.block_id} page {i}"
    name_end = _INDEX.size + name_len
    if block_id != blk.block_id or page_id != i or name_len < 1 or name_end + nparts * _PART.size > PAGE:
        st.problems.append(f"{where}: index page does not describe itself (damaged); skipped")
        return None
    name = page[_INDEX.size : name_end].split(b"\0", 1)[0].decode("utf-8", "replace")
    if length > nparts * (PAGES_PER_BLOCK - 1) * PAGE:
        st.problems.append(f"{where}: {name!r} claims {length} bytes, more than its pages hold; skipped")
        return None
    chunks: list[bytes] = []
    raw: bytes | None = None
    for k in range(nparts):
        pb, first, last = _PART.unpack_from(page, name_end + k * _PART.size)
        src = st.blocks.get(pb)
        if src is None or not 1 <= first <= last < PAGES_PER_BLOCK:
            st.problems.append(f"value {name!r}: its data is in block {pb}, which this file does not hold intact")
            break
        chunks.extend(src.page(p) for p in range(first, last + 1))
    else:
        raw = b"".join(chunks)[:length]
        if len(raw) < length:
            st.problems.append(f"value {name!r}: {length} bytes claimed, {len(raw)} found")
            raw = None
    v = Value(name, raw, length, crc, blk.block_id, i)
    if raw is not None and not v.crc_ok:
        st.problems.append(f"value {name!r}: checksum mismatch (the value is damaged)")
    return v
