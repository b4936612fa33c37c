"""Put the Tuya config region of a backup into another image (pure: bytes in, bytes and a report out).

Whole 4 KB sectors only; key, data, swap and protected blocks come from the same backup
(the data key is that device's). The result is validated before anyone writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuyameter.flash.crypto import SECTOR
from tuyameter.flash.kv import FlashError, Store, read_store
from tuyameter.flash.summary import Summary, summarize

FLASH_2MB = 0x200000
KV_START = 0x1EE000
PROTECTED = 0x1ED000
TLV = 0x1D0000
UF_MAGIC = bytes.fromhex("21437698")
MAC_AT = 36


class RestoreError(ValueError):
    pass


@dataclass(frozen=True)
class SectorChange:
    offset: int
    before: str
    after: str


@dataclass
class Plan:
    start: int
    end: int
    base: int  # where byte 0 of the backup lands in the target
    changes: list[SectorChange] = field(default_factory=list)
    unchanged: int = 0
    needs_yes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: Store | None = None  # the backup's store, decoded once
    target_store: Store | None = None  # the target's, before the copy


@dataclass
class Validation:
    ok: bool
    problems: list[str]
    store: Store | None


def parse_range(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x, 0) for x in text.split(":"))
    except ValueError:
        raise RestoreError(f"--range wants START:END (e.g. 0x1D0000:0x200000), got {text!r}") from None
    if a < 0 or b <= a:
        raise RestoreError(f"--range {text}: END must come after START (an empty or reversed range copies nothing)")
    return a, b


def _store_or_none(image: bytes) -> Store | None:
    try:
        return read_store(image)
    except FlashError:
        return None


def mac_of(image: bytes, off: int = TLV) -> str | None:
    raw = image[off : off + SECTOR]
    if raw[:4] != b"TLV\0":
        return None
    return ":".join(f"{b:02x}" for b in raw[MAC_AT : MAC_AT + 6])


class _Labeller:
    def __init__(self, image: bytes, store: Store | None, base: int = 0) -> None:
        self.image, self.base = image, base
        self.kinds: dict[int, str] = {}
        if store is not None:
            self.kinds[base + store.key_offset] = "Tuya KV key block"
            for o in store.protected_offsets:
                self.kinds[base + o] = "Tuya KV protected block"
            for b in store.blocks.values():
                self.kinds[base + b.offset] = f"Tuya KV data block {b.block_id} (generation {b.generation})"
            for b in store.stale:
                self.kinds[base + b.offset] = f"Tuya KV swap copy of block {b.block_id} (generation {b.generation})"

    def __call__(self, off: int) -> str:
        raw = self.image[off - self.base : off - self.base + SECTOR]
        if off in self.kinds:
            return self.kinds[off]
        if raw[:4] == b"TLV\0":
            return f"RF calibration TLV (MAC {mac_of(raw, 0)})"
        if raw[:3] == b"CFG":
            return "OpenBeken config"
        if raw[:4] == UF_MAGIC:
            return "Tuya UF file"
        if raw.count(0xFF) == len(raw):
            return "erased"
        return _by_map(off)


def _by_map(off: int) -> str:
    if off < 0x11000:
        return "bootloader"
    if off < 0x12A000:
        return "application"
    if off < TLV:
        return "OTA area / OpenBeken file system"
    if off == TLV + SECTOR:
        return "Tuya network info"
    if off >= KV_START:
        return "Tuya KV area (unused or unreadable)"
    return "other data"


def plan_restore(backup: bytes, target: bytes, rng: tuple[int, int] | None = None) -> Plan:
    """What copying ``rng`` of ``backup`` into ``target`` would change, and what needs ``--yes``."""
    if len(target) % SECTOR or not target:
        raise RestoreError(f"the target image is {len(target)} bytes, not whole 4 KB sectors")
    if len(backup) % SECTOR or not backup:
        raise RestoreError(f"the backup is {len(backup)} bytes, not whole 4 KB sectors (truncated?)")
    src_store = _store_or_none(backup)
    if len(backup) == len(target):
        base = 0
    elif len(backup) < len(target) and src_store is not None:
        base = len(target) - len(backup)  # a config-region file: it is the end of the flash
    else:
        raise RestoreError(
            f"cannot place a {len(backup):#x}-byte backup into a {len(target):#x}-byte image "
            "(want the same size, or a config-region file that holds a Tuya store)"
        )
    if rng is None:
        if base:
            rng = (base, len(target))  # a config-region file: all of it
        elif src_store is not None:
            rng = src_store.extent  # the backup's store where it is (0x1ED000–0x200000, or 0x1DC000–…)
        else:
            rng = (PROTECTED if len(target) == FLASH_2MB else 0, len(target))
    start, end = rng
    if start % SECTOR or end % SECTOR:
        raise RestoreError(
            f"range 0x{start:06X}:0x{end:06X} is not aligned to 4 KB sectors; flash is erased and written "
            "in whole sectors, so a partial copy would mix two devices' blocks"
        )
    if not (base <= start < end <= len(target)):
        raise RestoreError(
            f"range 0x{start:06X}:0x{end:06X} is outside what the backup covers (0x{base:06X}–0x{len(target):06X})"
        )
    plan = Plan(start, end, base, source=src_store, target_store=_store_or_none(target))
    if base:
        plan.notes.append(f"the backup is a config-region file; it is placed at 0x{base:06X}")
    before, after = _Labeller(target, plan.target_store), _Labeller(backup, src_store, base)
    for off in range(start, end, SECTOR):
        if target[off : off + SECTOR] == backup[off - base : off - base + SECTOR]:
            plan.unchanged += 1
            continue
        plan.changes.append(SectorChange(off, before(off), after(off)))
    _judge(plan, backup, target)
    return plan


def _judge(plan: Plan, backup: bytes, target: bytes) -> None:
    src, dst = plan.source, plan.target_store
    changed = {c.offset: c for c in plan.changes}
    low = [o for o in changed if o < TLV]
    if low and len(target) == FLASH_2MB:
        plan.needs_yes.append(f"{len(low)} sector(s) below 0x1D0000 change: bootloader, firmware or file system")
    if TLV in changed:
        old, new = mac_of(target), mac_of(backup, TLV - plan.base) if plan.base <= TLV else None
        plan.needs_yes.append(f"the RF/MAC TLV at 0x1D0000 changes: MAC {old} → {new} (clones the backup's MAC)")
    cfg = [o for o, c in changed.items() if c.before == "OpenBeken config"]
    if cfg:
        plan.needs_yes.append(f"OpenBeken's own config at 0x{cfg[0]:06X} is overwritten")
    if any(c.after.startswith("Tuya KV") for c in changed.values()):
        if src is None:
            plan.notes.append("the backup holds no readable Tuya store")
        if dst is not None and src is not None:
            plan.needs_yes += _other_device(summarize(src, backup), summarize(dst, target))
    if src is not None:
        kv_lo = plan.base + min([src.key_offset, *src.protected_offsets])
        kv_hi = plan.base + src.end
        if plan.start > plan.base + src.key_offset or plan.end < kv_hi:
            plan.notes.append(f"the backup's store spans 0x{kv_lo:06X}–0x{kv_hi:06X}; the range covers only part of it")


def _other_device(backup: Summary, target: Summary) -> list[str]:
    """Why the backup's store is not this device's: another device, module, chip family or product.

    The store's device key says little (many devices share one: all BK7231T stores of the
    public dumps had the same), so a device is told by its uuid, device id and auth key, and
    its hardware by module and chip."""
    out = []
    for label, a, b in (("uuid", backup.uuid, target.uuid), ("device id", backup.device_id, target.device_id),
                        ("auth key", backup.auth_key, target.auth_key)):  # fmt: skip
        if a and b and a != b:
            which = f"{label} {a} ≠ {b}" if label != "auth key" else "another auth key"
            out.append(f"the backup is of another device ({which}); the target's store is replaced")
            break
    if backup.module and target.module and backup.module != target.module:
        out.append(f"the backup is from another module ({backup.module} → {target.module})")
    if backup.chip and target.chip and backup.chip != target.chip:
        out.append(f"the backup is from another chip family ({backup.chip} → {target.chip}); it may not boot")
    if backup.product_key and target.product_key and backup.product_key != target.product_key:
        out.append(f"the backup is of another product ({backup.product_key} → {target.product_key})")
    return out


def apply_restore(plan: Plan, backup: bytes, target: bytes) -> bytes:
    out = bytearray(target)
    out[plan.start : plan.end] = backup[plan.start - plan.base : plan.end - plan.base]
    return bytes(out)


def validate_result(result: bytes, plan: Plan, target: bytes) -> Validation:
    """The result must hold the backup's store intact where the backup had one, and be
    byte-identical to the target outside the range."""
    problems: list[str] = []
    if result[: plan.start] != target[: plan.start] or result[plan.end :] != target[plan.end :]:
        problems.append("bytes outside the range differ from the target (internal error)")
    src = plan.source
    try:
        st: Store | None = read_store(result)
    except FlashError as e:
        return Validation(False, [*problems, f"the result has no readable Tuya store: {e}"], None)
    assert st is not None
    if src is not None and st.device_key != src.device_key:
        problems.append("the key block is not the backup's: key, data and swap blocks must come from one backup")
    if src is not None and st.key_offset != src.key_offset + plan.base:
        problems.append(f"key block at 0x{st.key_offset:06X}, expected 0x{src.key_offset + plan.base:06X}")
    problems += [p for p in st.problems if "checksum" in p or "truncated" in p or "does not hold" in p]
    bad = [n for n, v in st.values.items() if not v.crc_ok]
    if bad:
        problems.append(f"values that do not check out: {', '.join(sorted(bad))}")
    if src is not None:
        want = {n: v.raw for n, v in src.values.items()}
        got = {n: v.raw for n, v in st.values.items()}
        if want != got:
            problems.append("the result's values differ from the backup's")
    return Validation(not problems, problems, st)


def value_diff(before: Store | None, after: Store | None) -> dict[str, list[str]]:
    a = {n: v.raw for n, v in before.values.items()} if before else {}
    b = {n: v.raw for n, v in after.values.items()} if after else {}
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
        "changed": sorted(n for n in set(a) & set(b) if a[n] != b[n]),
    }
