"""``tuyameter decode HEX…`` — decode TuyaMCU frames pasted from a log."""

from __future__ import annotations

import argparse
import re
import sys
from typing import TYPE_CHECKING

from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, emit_json, load_profile_arg
from tuyameter.tools.describe import describe, frame_json
from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.decoder import FrameDecoder, Garbage

if TYPE_CHECKING:  # profiles (pydantic) load only when a profile is asked for
    from tuyameter.profiles.model import Profile

_HEXISH = re.compile(r"(?:0x)?([0-9A-Fa-f:,\-]+?),?")
_SEP = re.compile(r"[:\-,]")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "decode",
        help=summary("decode"),
        description="Decode TuyaMCU frames given as hex arguments or on stdin, one capture per line. "
        "Non-hex words on a line (log prefixes) are ignored.",
    )
    p.add_argument("hex", nargs="*", help="hex bytes, e.g. 55AA0307000802020004000000647D or '55 AA 03 …'")
    p.add_argument("--profile", help="name DPs with this profile (e.g. pj1103a)")
    d = p.add_mutually_exclusive_group()
    d.add_argument("--from-mcu", action="store_true", help="all frames come from the MCU")
    d.add_argument("--to-mcu", action="store_true", help="all frames go to the MCU")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_decode)


def hex_bytes(line: str) -> bytes:
    """The hex tokens of a line, joined; other words are skipped. A token is hex digits in pairs,
    optionally separated by ``:``, ``-`` or ``,``. One that starts like a frame (55 AA) but does not
    pair up is an error (CliError), not silently skipped."""
    out = bytearray()
    for tok in line.split():
        mt = _HEXISH.fullmatch(tok)
        if not mt:
            continue
        parts = _SEP.split(mt.group(1))
        if all(p and len(p) % 2 == 0 for p in parts):
            out += bytes.fromhex("".join(parts))
        elif "".join(parts)[:4].lower() == "55aa":
            shown = tok if len(tok) <= 40 else f"{tok[:40]}…"
            raise CliError(f"{shown!r} looks like a frame but its hex digits do not pair up (an odd number?)")
    return bytes(out)


def decode_line(line: str, profile: Profile | None, direction: m.Direction | None, as_json: bool) -> int:
    data = hex_bytes(line)
    if not data:
        return 0
    dec = FrameDecoder(max_payload=0xFFFF)
    items = dec.feed(data, 0.0) + dec.flush()
    frames = 0
    for item in items:
        if isinstance(item, Garbage):
            if as_json:
                emit_json({"garbage": item.data.hex(), "reason": item.reason})
            else:
                shown = item.data[:48].hex(" ") + (f" … ({len(item.data)} bytes)" if len(item.data) > 48 else "")
                print(f"  ?? {shown} ({item.reason})")
            continue
        frames += 1
        d = direction or m.guess_direction(item)
        msg = m.parse(item, d)
        if as_json:
            emit_json(frame_json(item, d, msg, profile))
        else:
            arrow = "→ MCU" if d is m.Direction.TO_MCU else "MCU →"
            print(f"{arrow} v{item.version} {item.encode().hex(' ').upper()}")
            print(f"      {describe(msg, profile)}")
    return frames


def cmd_decode(args: argparse.Namespace) -> int:
    profile = load_profile_arg(args.profile) if args.profile else None
    direction = m.Direction.FROM_MCU if args.from_mcu else m.Direction.TO_MCU if args.to_mcu else None
    lines = [" ".join(args.hex)] if args.hex else sys.stdin
    total = 0
    for line in lines:
        total += decode_line(line, profile, direction, args.json)
    if total == 0:
        print("no TuyaMCU frame found (frames start with 55 AA)", file=sys.stderr)
        return 1
    return 0
