"""What a broken or malicious MCU sends, for the emulator's ``hostile`` quirk.

Each call makes one injection of a random kind. Injections come on top of the
meter's real reports, except a counter spike, which takes the place of that
counter's real report for one cycle (the next cycle reports it again), so the
emulator's true energy stays what a correct gateway must count.
"""

from __future__ import annotations

import random

from tuyameter.tuyamcu.constants import Command, DPType
from tuyameter.tuyamcu.dp import DPRecord, encode_records
from tuyameter.tuyamcu.frame import Frame

KINDS = ("absurd", "spike", "wrong-type", "nested-json", "cut", "garbage", "unknown-dp")

#: DP → raw values no PJ-1103A can report (beyond int32, negative, PF 1000, an unknown direction)
ABSURD: dict[int, tuple[int, ...]] = {
    101: (2**31 - 1, -1), 105: (2**31 - 1, 1_000_000), 112: (-1, 2**31 - 1), 110: (100_000, -3),
    121: (100_000,), 113: (-5, 2**31 - 1), 111: (0, 2**31 - 1), 102: (7, 255), 104: (7, 2),
}  # fmt: skip
ENUM_DPS = (102, 104)


def injection(rng: random.Random, version: int, measured: dict[int, int], real: bytes) -> tuple[str, bytes, int | None]:
    """One hostile injection: (its kind, the bytes to send, the DP whose real report it replaces).
    ``real`` is a real frame of this cycle."""
    kind = rng.choice(KINDS)
    if kind == "absurd":
        dp = rng.choice(sorted(ABSURD))
        raw = rng.choice(ABSURD[dp])
        rtype = DPType.ENUM if dp in ENUM_DPS else DPType.VALUE
        rec = DPRecord.make(dp, rtype, raw & 0xFF if rtype is DPType.ENUM else raw)
        return kind, _report([rec], version), None
    if kind == "spike":  # one energy counter far ahead of itself, in place of its real report
        dp = rng.choice((106, 107, 108, 109, 130, 131))
        spike = DPRecord.make(dp, DPType.VALUE, measured.get(dp, 0) + rng.randint(10**4, 10**6))
        return kind, _report([spike], version), dp
    if kind == "wrong-type":
        dp = rng.choice((101, 105, 106, 112, 102))
        rec = rng.choice(
            (DPRecord.make(dp, DPType.STRING, "2300"), DPRecord.make(dp, DPType.BOOL, True),
             DPRecord.make(dp, DPType.RAW, b"\xff" * 4))
        )  # fmt: skip
        return kind, _report([rec], version), None
    if kind == "nested-json":
        depth = rng.randint(200, 3000)
        return kind, Frame(Command.PRODUCT_INFO, b"[" * depth, version).encode(), None
    if kind == "cut":  # a copy of a real frame, cut off mid-way: the next real frame follows at once
        return kind, real[: rng.randint(1, max(1, len(real) - 1))], None
    if kind == "garbage":
        junk = bytearray(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        if rng.random() < 0.5:  # headers that announce long payloads
            junk += bytes((0x55, 0xAA, version, 0x07, 0xFF, 0xFF)) * rng.randint(1, 8)
        return kind, bytes(junk), None
    dp = rng.randint(200, 255)  # unknown-dp
    return kind, _report([DPRecord.make(dp, DPType.VALUE, rng.randint(-(2**31), 2**31 - 1))], version), None


def _report(records: list[DPRecord], version: int) -> bytes:
    return Frame(Command.DP_REPORT, encode_records(records), version).encode()
