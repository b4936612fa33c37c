"""``tuyameter probe URL`` — is the MCU talking, at which baud, which DPs, which profile?"""

from __future__ import annotations

import argparse
import asyncio

import tuyameter.emulator.simlink  # noqa: F401  (sim:// links, for the URLs this command opens)
from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, emit_json, load_all_profiles, progress
from tuyameter.cli.options import SECONDS, json_option, link_options, profile_options
from tuyameter.profiles.match import ProfileMatch, best_fit
from tuyameter.sources.base import url_proto
from tuyameter.sources.hlw8112.bus import is_spi_url
from tuyameter.tools.hlw8112_probe import ChipProbe, probe_chip
from tuyameter.tools.lan_probe import LanProbeResult, probe_lan
from tuyameter.tools.probe import BAUDS, ProbeResult, probe


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "probe",
        parents=[link_options(), profile_options(), json_option()],
        help=summary("probe"),
        description="Try 9600 then 115200 baud, handshake, list product info, protocol version and every DP, "
        "and say which profile fits. For tuya://ID@HOST?key_file=… (stock firmware): try the protocol "
        "versions (or the one given), check the local key, list the DPs, the product key and the profile. "
        "For an HLW8112 (spi://… or a serial URL with ?proto=hlw8112): a self-test of the chip and its wiring "
        "that names the cause when it fails.",
    )
    p.add_argument("--listen", type=SECONDS, default=2.0, help="seconds to collect DPs after the handshake")
    p.set_defaults(func=cmd_probe)


def _match_json(matches: list[ProfileMatch]) -> dict[str, object]:
    """The profile that fits (or the closest one and how it differs), for both kinds of probe."""
    best = matches[0] if matches else None
    return {
        "profile": best_fit(matches),
        "closest_profile": best.profile if best else None,
        "differences": best.differences() if best else [],
    }


def _print_match(matches: list[ProfileMatch]) -> None:
    fit = best_fit(matches)
    if fit:
        print(f"Profile: {fit} fits.")
        return
    best = matches[0] if matches else None
    print("No shipped profile fits." + (f" Closest: {best.profile}; differences:" if best else ""))
    for line in best.differences() if best else []:
        print(f"  - {line}")


def to_json(r: ProbeResult) -> dict[str, object]:
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
        **_match_json(r.matches),
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
    _print_match(r.matches)


def lan_to_json(r: LanProbeResult) -> dict[str, object]:
    return {
        "target": r.target,
        "device_id": r.device_id,
        "answered": r.answered,
        "protocol": "tuya-lan",
        "protocol_version": r.version,
        "key_checked": r.key_checked,
        "attempts": [a.__dict__ for a in r.attempts],
        "product_key": r.product_key,
        "discovery": r.discovery,
        "dps": dict(sorted(r.dps.items(), key=lambda kv: (len(kv[0]), kv[0]))),
        **_match_json(r.matches),
        "advice": r.advice(),
    }


def print_lan(r: LanProbeResult) -> None:
    tried = ", ".join(f"{a.version} {a.outcome}" for a in r.attempts)
    if not r.answered:
        print(f"No answer from {r.target} (tried: {tried}).")
        for a in r.attempts:
            print(f"  {a.version}: {a.detail}")
        print("Things to check:")
        for tip in r.advice():
            print(f"  - {tip}")
        return
    print(f"Tuya LAN device at {r.target}")
    print(f"  protocol version: {r.version} (tried: {tried})")
    key = "right (the device proved it)" if r.key_checked else "not checked (3.1 answers status in clear)"
    print(f"  local key:        {key}")
    print(f"  product key:      {r.product_key or 'not heard (no discovery broadcast from it)'}")
    print(f"  DPs seen ({len(r.dps)}):")
    for k, v in sorted(r.dps.items(), key=lambda kv: (len(kv[0]), kv[0])):
        print(f"    dp{k:<4} {v!r}")
    _print_match(r.matches)


def print_chip(r: ChipProbe) -> None:
    print(f"HLW8112 self-test on {r.url} ({'SPI' if r.spi else 'UART'})")
    for c in r.checks:
        print(f"  {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    if r.fix:
        print(f"It answers with {r.fix}. Use that (in the URL, or on the board) and probe again.")
    if r.cause:
        print(f"The chip does not answer as it should. Likely: {r.cause}")
    elif r.ok:
        print("The chip answers, reads and writes correctly.")


def cmd_probe(args: argparse.Namespace) -> int:
    if is_spi_url(args.url) or url_proto(args.url) == "hlw8112":
        chip = asyncio.run(probe_chip(args.url))
        if args.json:
            emit_json(chip.json())
        else:
            print_chip(chip)
        return 0 if chip.ok else 1
    profiles = load_all_profiles(args.profile_dir)
    if args.url.startswith("tuya:"):
        try:
            lan = asyncio.run(probe_lan(args.url, profiles, listen=args.listen, progress=progress))
        except ValueError as e:
            raise CliError(str(e)) from None
        if args.json:
            emit_json(lan_to_json(lan))
        else:
            print_lan(lan)
        return 0 if lan.answered else 1
    bauds = tuple(args.baud) if args.baud else BAUDS
    r = asyncio.run(probe(args.url, profiles, bauds=bauds, listen=args.listen, progress=progress))
    if args.json:
        emit_json(to_json(r))
    else:
        print_human(r)
    return 0 if r.answered else 1
