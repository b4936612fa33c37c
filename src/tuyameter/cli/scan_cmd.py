"""``tuyameter scan`` — find stock Tuya devices on the local network by their UDP announcements."""

from __future__ import annotations

import argparse
import asyncio

from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, emit_json, load_all_profiles
from tuyameter.cli.options import PORT, SECONDS, json_option
from tuyameter.tools.lan_scan import PORTS, Found, scan


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "scan",
        parents=[json_option()],
        help=summary("scan"),
        description="Listen for the UDP announcements of stock Tuya devices (6666 in clear for 3.1, 6667 "
        "encrypted for 3.3–3.5, 7000 for 3.5) and list device id, address, product key, protocol version "
        "and the profile that fits the product key. Only listens unless --ask is given.",
    )
    p.add_argument("--seconds", type=SECONDS, default=12.0, help="how long to listen (devices announce every ~5 s)")
    p.add_argument("--bind", default="0.0.0.0", help="address to listen on (default all)")
    p.add_argument(
        "--port", type=PORT, action="append", help="UDP port to listen on (repeatable; default 6666 6667 7000)"
    )
    p.add_argument("--ask", metavar="ADDRESS", help="send the app's discovery request (for quiet 3.5 devices) here")
    p.add_argument("--ask-port", type=PORT, default=7000, help="its UDP port (default 7000)")
    p.add_argument("--profile-dir", action="append", default=[], metavar="DIR", help="extra profile directory")
    p.set_defaults(func=cmd_scan)


def cmd_scan(args: argparse.Namespace) -> int:
    profiles = load_all_profiles(args.profile_dir)

    def profile_for(f: Found) -> str | None:
        return next((p.name for p in profiles if f.product_key and f.product_key in p.product_ids), None)

    def show(f: Found) -> None:
        if not args.json:
            prof = profile_for(f)
            print(f"{f.device_id:<24} {f.ip:<16} {f.version or '?':<4} {f.product_key or '?':<17} "
                  f"{prof or '(no profile for this product key)'}", flush=True)  # fmt: skip

    if not args.json:
        print(f"Listening {args.seconds:g} s for Tuya devices…", flush=True)
        print(f"{'device id':<24} {'address':<16} {'ver':<4} {'product key':<17} profile", flush=True)
    ports = tuple(args.port) if args.port else PORTS
    try:
        res = asyncio.run(scan(args.seconds, bind=args.bind, ports=ports, ask=args.ask, ask_port=args.ask_port,
                               on_found=show))  # fmt: skip
    except OSError as e:
        raise CliError(f"cannot listen or ask: {e}") from None
    if not res.ports:
        raise CliError(f"cannot listen on UDP {', '.join(map(str, res.busy_ports))}: in use by another program")
    if args.json:
        emit_json({"devices": [f.as_dict() | {"profile": profile_for(f)} for f in res.devices.values()],
                   "ports": res.ports, "busy_ports": res.busy_ports, "datagrams": res.datagrams,
                   "unreadable": res.unreadable})  # fmt: skip
    else:
        busy = f"; UDP {', '.join(map(str, res.busy_ports))} in use by another program" if res.busy_ports else ""
        print(f"{len(res.devices)} device(s); {res.datagrams} datagrams, {res.unreadable} unreadable{busy}")
        if res.devices:
            print("Next: tuyameter probe tuya://DEVICE_ID@ADDRESS?key_file=PATH (the local key: "
                  "tuyameter flash inspect backup.bin --show-secrets)")  # fmt: skip
    return 0
