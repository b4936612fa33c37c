"""``tuyameter sim pj1103a`` — a PJ-1103A emulator on a pty or a TCP port (``sim hlw8112``: the chip)."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal

from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, run_async
from tuyameter.cli.options import BAUD, CLOCK_RATE, PORT, REPORT_RATE
from tuyameter.cli.sim_hlw8112 import fault_help, serve_hlw8112
from tuyameter.emulator.factory import EMULATORS, EmulatorSpec, build_emulator
from tuyameter.emulator.lan_serve import LanServer
from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.emulator.quirks import QUIRKS
from tuyameter.emulator.serve import PtyServer, TcpServer
from tuyameter.emulator.stock_module import PUSH_MODES, StockModule
from tuyameter.meter import MeterState
from tuyameter.profiles.loader import find_profile
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.tuyalan.constants import VERSIONS
from tuyameter.tuyalan.discovery import port_for
from tuyameter.util.limits import PORT_MAX


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    quirk_help = "; ".join(f"{k}[=N]: {v[1]} (default {v[0]:g})" for k, v in QUIRKS.items())
    p = sub.add_parser(
        "sim",
        help=summary("sim"),
        description="Run an emulated meter (the MCU side). The first line of output is the endpoint to "
        "connect to (/dev/pts/N, the --link path, or socket://HOST:PORT).",
        epilog=f"Quirks: {quirk_help}. Send SIGUSR1 to cut the power once (kill -USR1 PID).",
    )
    p.add_argument("model", choices=[*EMULATORS, "hlw8112"], help="pj1103a (TuyaMCU) or hlw8112 (the metering chip on "
                   "a UART at 8E1)")  # fmt: skip
    where = p.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (default)")
    where.add_argument("--tcp", metavar="HOST:PORT", help="serve on TCP, like a ser2net bridge (port 0: any free)")
    where.add_argument(
        "--lan",
        metavar="HOST:PORT",
        help="serve the meter as on stock firmware, over the Tuya LAN protocol (6668 on a device; 0: any free); "
        "the first line is its tuya:// URL",
    )
    p.add_argument("--link", metavar="PATH", help="with --pty: also make a stable symlink to the pty at PATH")
    p.add_argument("--baud", type=BAUD, default=9600, help="the MCU's baud rate (default 9600)")
    p.add_argument(
        "--report-rate",
        type=REPORT_RATE,
        default=10,
        metavar="S",
        help="DP 129, seconds between reports",
    )
    p.add_argument("--quirk", action="append", default=[], metavar="NAME[=N]", help="enable a quirk (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--speed",
        type=CLOCK_RATE,
        default=1.0,
        help="time acceleration for demos (simulated s per s)",
    )
    p.add_argument("--start", metavar="HH:MM", help="simulated local time of day to start at (default: now)")
    p.add_argument("--protocol-version", type=int, default=3, choices=(0, 3))
    p.add_argument(
        "--working-mode",
        choices=("cooperative", "self"),
        default="cooperative",
        help="0x02 answer: cooperative (empty; the PJ-1103A) or self (the module drives LED and button)",
    )
    lan = p.add_argument_group("with --lan")
    lan.add_argument("--version", dest="lan_version", choices=VERSIONS, default="3.4", help="LAN protocol version")
    lan.add_argument("--key", help="the 16-character local key (default: a random one)")
    lan.add_argument("--device-id", help="the device id (default: a random one)")
    lan.add_argument(
        "--announce",
        metavar="HOST:PORT",
        default="127.0.0.1",
        help="where discovery datagrams go (default 127.0.0.1 on 6666 for 3.1, 6667 otherwise; 'none': silent)",
    )
    lan.add_argument(
        "--app-port", type=PORT, metavar="PORT", help="answer the app's discovery requests on this UDP port"
    )
    lan.add_argument(
        "--push",
        choices=PUSH_MODES,
        default="settings",
        help="push measured values unasked (all) or only settings, as stock firmware does (settings)",
    )
    lan.add_argument("--device22", action="store_true", help="answer DP_QUERY with 'data unvalid'")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help=f"hlw8112: a board fault (repeatable): {fault_help()}")  # fmt: skip
    p.add_argument("--no-pace", action="store_true", help="do not pace output at the line's byte rate")
    p.add_argument("--json", action="store_true", help="print the true values of each report cycle as JSON lines")
    p.add_argument("--quiet", action="store_true", help="print only the endpoint line")
    p.set_defaults(func=cmd_sim)


def _host_port(text: str, what: str, default_port: int | None = None) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep and default_port is not None:
        host, port = text, str(default_port)
    if not host or not port.isdigit() or not 0 <= int(port) <= PORT_MAX:
        raise CliError(f"{what} needs HOST:PORT with a port of 0..{PORT_MAX}, got {text!r}")
    return host.strip("[]"), int(port)


def _lan_server(args: argparse.Namespace, emu: Pj1103aEmulator) -> LanServer:
    host, port = _host_port(args.lan, "--lan")
    key = args.key or secrets.token_hex(8)
    if len(key) != 16 or not key.isascii():
        raise CliError(f"--key needs 16 ASCII characters, got {len(key)}")
    device_id = args.device_id or "bf" + secrets.token_hex(10)
    profile = find_profile("pj1103a")
    module = StockModule(emu, profile, device_id, key.encode(), args.lan_version, push=args.push,
                         device22=args.device22)  # fmt: skip
    announce = None
    if args.announce != "none":
        announce = _host_port(args.announce, "--announce", port_for(args.lan_version))
    pk = profile.product_ids[0] if profile.product_ids else ""
    return LanServer(module, host, port, announce=announce, app_port=args.app_port, product_key=pk)


def _truth(emu: Pj1103aEmulator, state: MeterState) -> dict[str, object]:
    state.apply(DPBinding(state.profile).readings(emu.last_truth))
    vals: dict[str, object] = dict(state.snapshot())
    vals["report_rate"] = emu.report_rate
    tr = emu.last_truth_energy
    vals["truth_kwh"] = {
        "energy_forward_a": tr.fwd_a / 1000, "energy_reverse_a": tr.rev_a / 1000,
        "energy_forward_b": tr.fwd_b / 1000, "energy_reverse_b": tr.rev_b / 1000,
        "energy_forward_total": tr.total_fwd / 1000, "energy_reverse_total": tr.total_rev / 1000,
    }  # fmt: skip
    vals["power_cycles"] = emu.power_cycles
    if emu.hostile_sent:
        vals["hostile_sent"] = dict(emu.hostile_sent)
    return vals


async def _serve(args: argparse.Namespace) -> int:
    if args.model == "hlw8112":
        return await serve_hlw8112(args, _host_port(args.tcp, "--tcp") if args.tcp else None)
    if args.fault:
        raise CliError("--fault is for the hlw8112 emulator; the pj1103a has --quirk")
    spec = EmulatorSpec(
        args.model,
        args.seed,
        args.report_rate,
        args.quirk,
        args.speed,
        args.start,
        args.protocol_version,
        args.baud,
        args.working_mode,
    )
    try:
        emu = build_emulator(spec)
    except ValueError as e:
        raise CliError(str(e)) from None
    stop = asyncio.Event()
    server: PtyServer | TcpServer | LanServer
    if args.lan:
        server = _lan_server(args, emu)
        try:
            await server.start()
        except OSError as e:
            raise CliError(f"cannot listen on {args.lan}: {e}") from None
        endpoint = server.url()
    elif args.tcp:
        host, port = _host_port(args.tcp, "--tcp")
        server = TcpServer(emu, host, port, args.baud, pace=not args.no_pace)
        try:
            await server.start()
        except OSError as e:
            raise CliError(f"cannot listen on {args.tcp}: {e}") from None
        endpoint = f"socket://{args.tcp.rpartition(':')[0]}:{server.port}"
    else:
        try:
            server = PtyServer(emu, args.baud, args.link, pace=not args.no_pace)
        except OSError as e:
            raise CliError(f"cannot create the pty: {e}") from None
        endpoint = server.path
    print(endpoint, flush=True)
    if not args.quiet and not args.json:
        q = ", ".join(emu.quirks.names) or "none"
        print(f"# PJ-1103A emulator at {args.baud} baud, report every {emu.report_rate} s, speed ×{args.speed:g}, "
              f"quirks: {q}. Ctrl-C stops.", flush=True)  # fmt: skip
    loop = asyncio.get_running_loop()
    # kill -USR1 <pid> cuts the power now (the MCU restarts; with counter-reset its counters too).
    loop.add_signal_handler(signal.SIGUSR1, lambda: emu.power_cycle(loop.time()))
    serve_task = asyncio.ensure_future(server.serve(stop))
    state = MeterState(find_profile("pj1103a"))
    cycles = 0
    try:
        while not serve_task.done():
            await asyncio.sleep(0.05)
            if emu.cycles != cycles and not args.quiet:
                cycles = emu.cycles
                vals = _truth(emu, state)
                if args.json:
                    print(json.dumps({"cycle": cycles, "values": vals}), flush=True)
                else:
                    print(
                        f"cycle {cycles}: A {vals.get('power_a')} W  B {vals.get('power_b')} W  "
                        f"{vals.get('voltage')} V  A→ {vals.get('energy_forward_a')} kWh  "
                        f"B← {vals.get('energy_reverse_b')} kWh",
                        flush=True,
                    )
    finally:
        stop.set()
        await asyncio.wait_for(serve_task, 2.0)
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    return run_async(_serve(args))
