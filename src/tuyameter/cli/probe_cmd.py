"""``tuyameter probe URL`` — is the MCU talking, at which baud, which DPs, which profile?"""

from __future__ import annotations

import argparse
import asyncio

from tuyameter.cli.common import emit_json, load_all_profiles, progress
from tuyameter.cli.options import SECONDS, json_option, link_options, profile_options
from tuyameter.tools.probe import BAUDS, ProbeResult, probe


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "probe",
        parents=[link_options(), profile_options(), json_option()],
        help="find out what is on a TuyaMCU link",
        description="Try 9600 then 115200 baud, handshake, list product info, protocol version and every DP, "
        "and say which profile fits.",
    )
    p.add_argument("--listen", type=SECONDS, default=2.0, help="seconds to collect DPs after the handshake")
    p.set_defaults(func=cmd_probe)


def to_json(r: ProbeResult) -> dict[str, object]:
    best = r.matches[0] if r.matches else None
    return {
        "url": r.url,
        "answered": r.answered,
        "baud": r.baud,
        "attempts": [a.__dict__ for a in r.attempts],
        "protocol_version": r.protocol_version,
        "product_info": r.product_info,
        "product_id": r.product_id,
        "working_mode": r.working_mode,
        "dps": [
            {"dp": d.dp, "type": d.type.name.lower(), "value": d.value.hex() if isinstance(d.value, bytes) else d.value}
            for d in sorted(r.dps.values(), key=lambda d: d.dp)
        ],
        "profile": r.profile,
        "closest_profile": best.profile if best else None,
        "differences": best.differences() if best else [],
        "candidates": [{"profile": m.profile, "fits": m.fits, "score": round(m.score, 3)} for m in r.matches],
        "advice": r.advice(),
    }


def print_human(r: ProbeResult) -> None:
    if not r.answered:
        print(f"No TuyaMCU answered on {r.url}.")
        for a in r.attempts:
            extra = f", error: {a.error}" if a.error else ""
            print(f"  {a.baud or 'bridge'} baud: {a.bytes_seen} bytes received, {a.frames_seen} valid frames{extra}")
        print("Things to check:")
        for tip in r.advice():
            print(f"  - {tip}")
        return
    print(f"TuyaMCU found on {r.url}" + (f" at {r.baud} baud" if r.baud else ""))
    print(f"  protocol version: {r.protocol_version}")
    print(f"  product info:     {r.product_info}")
    print(f"  working mode:     {r.working_mode}")
    print(f"  DPs seen ({len(r.dps)}):")
    for d in sorted(r.dps.values(), key=lambda d: d.dp):
        v = d.value.hex() if isinstance(d.value, bytes) else d.value
        print(f"    dp{d.dp:<4} {d.type.name.lower():<7} {v}")
    if r.profile:
        print(f"Profile: {r.profile} fits.")
    else:
        best = r.matches[0] if r.matches else None
        print("No shipped profile fits." + (f" Closest: {best.profile}; differences:" if best else ""))
        if best:
            for line in best.differences():
                print(f"  - {line}")


def cmd_probe(args: argparse.Namespace) -> int:
    profiles = load_all_profiles(args.profile_dir)
    bauds = tuple(args.baud) if args.baud else BAUDS
    r = asyncio.run(probe(args.url, profiles, bauds=bauds, listen=args.listen, progress=progress))
    if args.json:
        emit_json(to_json(r))
    else:
        print_human(r)
    return 0 if r.answered else 1
