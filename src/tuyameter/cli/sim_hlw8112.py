"""``tuyameter sim hlw8112`` — the emulated HLW8112 chip on a UART (pty or TCP)."""

from __future__ import annotations

import argparse
import asyncio
import json

from tuyameter.cli.common import CliError
from tuyameter.emulator.hlw8112_meter import EmulatedHlw8112
from tuyameter.emulator.hlw8112_serve import Hlw8112PtyServer, Hlw8112TcpServer
from tuyameter.emulator.hlw8112_wire import FAULTS


def fault_help() -> str:
    return ", ".join(FAULTS)


async def serve_hlw8112(args: argparse.Namespace, host_port: tuple[str, int] | None) -> int:
    if args.lan:
        raise CliError("--lan serves a stock Tuya meter; the HLW8112 emulator is a chip on a UART (--pty or --tcp)")
    try:
        meter = EmulatedHlw8112(seed=args.seed, speed=args.speed, faults=tuple(args.fault), start=args.start)
    except ValueError as e:
        raise CliError(str(e)) from None
    server: Hlw8112PtyServer | Hlw8112TcpServer
    if host_port is not None:
        server = Hlw8112TcpServer(meter, *host_port, args.baud, pace=not args.no_pace)
        try:
            await server.start()
        except OSError as e:
            raise CliError(f"cannot listen on {args.tcp}: {e}") from None
        endpoint = f"socket://{host_port[0]}:{server.port}?proto=hlw8112"
    else:
        try:
            server = Hlw8112PtyServer(meter, args.baud, pace=not args.no_pace)
        except OSError as e:
            raise CliError(f"cannot create the pty: {e}") from None
        endpoint = f"{server.path}?proto=hlw8112&baud={args.baud}"
    print(endpoint, flush=True)
    if not args.quiet and not args.json:
        faults = ", ".join(args.fault) or "none"
        print(f"# HLW8112 emulator (UART 8E1 at {args.baud} baud), speed ×{args.speed:g}, faults: {faults}; "
              "profile hlw8112_clamps. Ctrl-C stops.", flush=True)  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.ensure_future(server.serve(stop))
    try:
        while not task.done():
            await asyncio.sleep(1.0)
            if args.json and not args.quiet:
                t = meter.truth
                print(json.dumps({"volts": round(t.volts, 2), "watts_a": round(t.watts_a, 1),
                                  "watts_b": round(t.watts_b, 1), "wh": meter.energy.wh}), flush=True)  # fmt: skip
    finally:
        stop.set()
        await asyncio.wait_for(task, 2.0)
    return 0
