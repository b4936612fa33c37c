"""``tuyameter run`` (the gateway) and ``tuyameter demo`` (the gateway on emulated meters)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tuyameter.emulator.simlink  # noqa: F401  (sim:// links, for the URLs this command opens)
from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, load_profile_arg, run_async
from tuyameter.cli.options import (
    CLOCK_RATE,
    DAYS,
    INTERVAL,
    METER_COUNT,
    METER_ID,
    SECONDS,
    WORKERS,
    json_option,
    last_baud,
    link_options,
    profile_options,
)
from tuyameter.cli.web_options import add_web_options, web_output
from tuyameter.config import GatewayConfig, load_config
from tuyameter.config.model import MqttSection
from tuyameter.emulator.lan_serve import lan_meters
from tuyameter.energy.periods import local_zone
from tuyameter.gateway import Gateway, GatewayConfigError, MeterConfig
from tuyameter.gateway.console import ConsoleOutput
from tuyameter.gateway.fleet_backend import FleetBackend
from tuyameter.gateway.fleet_link import FLEET_SOCKET_ENV, FleetLink
from tuyameter.gateway.workers import WorkerSupervisor, parse_worker, share, worker_bridge
from tuyameter.mqtt.output import MqttOutput
from tuyameter.mqtt.settings import MqttSettings, MqttSettingsError
from tuyameter.pipeline.events import Output
from tuyameter.profiles.model import Profile
from tuyameter.store import default_db_path, open_store
from tuyameter.store.base import Store, StoreError
from tuyameter.store.rollup import zone_key
from tuyameter.util.fdlimit import raise_open_files
from tuyameter.util.heap import settle_heap
from tuyameter.util.yamlfile import YamlFileError

if TYPE_CHECKING:
    from tuyameter.web.output import WebOutput


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        parents=[link_options(url_required=False), profile_options(), json_option()],
        help=summary("run"),
        description="Run the gateway for one meter (URL) or a config file.",
    )
    p.add_argument("-c", "--config", help="gateway configuration file (YAML)")
    p.add_argument("--id", type=METER_ID, default="meter", help="meter id for a URL (default 'meter')")
    p.add_argument("--late-direction", action="append", default=[], metavar="CH", help="channel with late direction DP")
    p.add_argument("--suppress-lone-zeros", action="store_true")
    p.add_argument("--wifi-state", type=int, choices=range(6), help="Wi-Fi state to announce (default: profile's, 4)")
    p.add_argument("--duration", type=SECONDS, help="stop after S seconds (default: until Ctrl-C)")
    p.add_argument(
        "--workers",
        type=WORKERS,
        default=1,
        metavar="N",
        help="share the config's meters between N gateway processes (one per core; see docs/performance.md)",
    )
    p.add_argument("--worker", type=_worker, help=argparse.SUPPRESS)  # K/N: set by --workers for each worker
    p.add_argument(
        "--db", help=f"SQLite file or postgresql:// URL for energy and history (default {default_db_path()})"
    )
    p.add_argument("--no-store", action="store_true", help="keep nothing on disk (totals restart from the meter's)")
    p.add_argument(
        "--keep-days",
        type=DAYS,
        help="days of raw readings to keep (default 90; aggregates: forever)",
    )
    p.add_argument("--tz", help="time zone of the local days energy is totalled by (default: this machine's)")
    p.add_argument(
        "--time-scale",
        type=CLOCK_RATE,
        help="the meter's clock runs this much faster (an emulator's --speed)",
    )
    _output_options(p)
    add_web_options(p)
    p.set_defaults(func=cmd_run)

    d = sub.add_parser(
        "demo",
        help=summary("demo"),
        description="Run the gateway against emulated PJ-1103A meters with time accelerated, so that the solar "
        "channel B flips between import and export within seconds.",
    )
    d.add_argument("--meters", type=METER_COUNT, default=2, help="how many emulated meters (default 2)")
    d.add_argument("--hlw8112", type=int, default=1, choices=range(0, 11), metavar="N",
                   help="emulated HLW8112 chips over SPI beside them (profile hlw8112_clamps; default 1)")  # fmt: skip
    d.add_argument("--duration", type=SECONDS, help="stop after S seconds (default: until Ctrl-C)")
    d.add_argument("--speed", type=CLOCK_RATE, default=30.0, help="time acceleration (default 30)")
    d.add_argument("--quirk", action="append", default=[], metavar="NAME[=N]", help="emulator quirk for all meters")
    d.add_argument("--db", default=":memory:", help="SQLite file to keep the demo's history in (default: memory)")
    d.add_argument("--keep-days", type=DAYS, help=argparse.SUPPRESS)
    d.add_argument("--json", action="store_true", help="one JSON line per update on stdout")
    d.add_argument(
        "--lan",
        nargs="?",
        const="3.4",
        choices=("3.1", "3.3", "3.4", "3.5"),
        metavar="VERSION",
        help="the meters on stock firmware, over the Tuya LAN protocol on loopback (default version 3.4)",
    )
    _output_options(d, default_every=1.0)
    add_web_options(d, demo=True)
    d.set_defaults(func=cmd_demo)


def _mqtt_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("MQTT / Home Assistant")
    g.add_argument("--mqtt", metavar="URL", help="publish to this broker: mqtt[s]://[user:pass@]host[:port]")
    g.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate for mqtts://")
    g.add_argument("--mqtt-insecure", action="store_true", help="mqtts:// without certificate checks")
    g.add_argument("--mqtt-client-id", metavar="ID")
    g.add_argument("--mqtt-prefix", metavar="TOPIC", help="topic prefix (default tuyameter)")
    g.add_argument(
        "--discovery-prefix", metavar="TOPIC", help="Home Assistant discovery prefix (default homeassistant)"
    )
    g.add_argument(
        "--mqtt-bridge", metavar="NAME", help="this gateway's name when several share one broker, each its own meters"
    )


def mqtt_from_args(args: argparse.Namespace) -> MqttSettings | None:
    if not args.mqtt:
        return None
    # The same mapping as the config file's mqtt section (its checks are parse_mqtt_url's).
    section = MqttSection.model_construct(
        url=args.mqtt,
        ca=args.mqtt_ca,
        insecure=args.mqtt_insecure,
        client_id=args.mqtt_client_id,
        topic_prefix=args.mqtt_prefix,
        discovery_prefix=args.discovery_prefix,
        bridge=args.mqtt_bridge,
    )
    try:
        return section.settings()
    except MqttSettingsError as e:
        raise CliError(str(e)) from None


def _output_options(p: argparse.ArgumentParser, default_every: float = 0.0) -> None:
    _mqtt_options(p)
    p.add_argument("--all", action="store_true", help="include private values (calibration, report rate)")
    p.add_argument(
        "--every",
        type=INTERVAL,
        default=default_every,
        metavar="S",
        help="at most one line per meter per S s",
    )


async def run_gateway(cfg: GatewayConfig, args: argparse.Namespace) -> int:
    """Build the gateway from the configuration and the command line, run it, print diagnostics."""
    profiles = _profiles(cfg)
    short = raise_open_files(len(cfg.meters))
    if short:
        print(f"tuyameter: warning: {short}", file=sys.stderr, flush=True)
    console = ConsoleOutput(profiles, as_json=args.json, every=args.every, include_private=args.all)
    outputs: list[Output] = [console]
    mqtt_settings = mqtt_from_args(args) or cfg.mqtt
    worker = getattr(args, "worker", None)
    if mqtt_settings is not None and worker is not None:
        k = worker[0]  # each worker its own client id, availability and last will
        bridge, client_id = worker_bridge(mqtt_settings.bridge, k), f"{mqtt_settings.client_id}-w{k}"
        mqtt_settings = dataclasses.replace(mqtt_settings, bridge=bridge, client_id=client_id)
    if mqtt_settings is not None:
        outputs.append(MqttOutput(mqtt_settings, profiles))
    if worker is None:
        web = web_output(args, cfg, demo=args.func is cmd_demo)
        if web is not None:
            outputs.append(web)
    elif os.environ.get(FLEET_SOCKET_ENV):  # a worker of a fleet with a web page: the supervisor serves it
        outputs.append(FleetLink(os.environ[FLEET_SOCKET_ENV], worker[0]))
    zone = _zone(getattr(args, "tz", None) or cfg.timezone)
    target, store = _store(cfg, args, zone)
    keep_days = args.keep_days if args.keep_days is not None else (cfg.keep_days or 90.0)
    try:
        gateway = Gateway(cfg.meters, profiles, store=store, outputs=outputs, keep_days=keep_days, zone=zone)
    except GatewayConfigError as e:
        raise CliError(str(e)) from None
    try:
        async with gateway:
            settle_heap()
            try:
                await gateway.serve()
            finally:
                _print_diagnostics(gateway, args.json)
    except StoreError as e:
        raise _store_error(target, e) from None
    return 0


def _profiles(cfg: GatewayConfig) -> dict[str, Profile]:
    """Each meter's profile, loaded (a CliError names one that cannot be)."""
    return {m.id: load_profile_arg(m.profile, cfg.profile_dirs) for m in cfg.meters}


def _store(
    cfg: GatewayConfig, args: argparse.Namespace, zone: dt.tzinfo
) -> tuple[str | None, Callable[[], Store] | None]:
    """The store's target (None: the default file) and what opens it with ``zone``'s rollups; or no store."""
    if getattr(args, "no_store", False):
        return None, None
    target = args.db or cfg.db
    return target, lambda: open_store(target, zone_key(zone))


def _store_error(target: str | None, e: StoreError) -> CliError:
    return CliError(f"cannot open the store {target or default_db_path()}: {e}")


def _print_diagnostics(gateway: Gateway, as_json: bool) -> None:
    for meter in gateway.meter_ids:
        diag = gateway.diagnostics(meter)
        if as_json:
            print(json.dumps({"meter": meter, "diagnostics": diag}), file=sys.stderr, flush=True)
        else:
            text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in diag.items() if k != "online")
            print(f"{meter}: {text}", file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    if bool(args.url) == bool(args.config):
        raise CliError("give either a URL or -c CONFIG")
    if args.config:
        try:
            cfg = load_config(Path(args.config))
        except YamlFileError as e:
            raise CliError(str(e)) from None
        cfg.profile_dirs = args.profile_dir + cfg.profile_dirs
        if args.worker is not None:
            k, n = args.worker
            cfg.meters = share(cfg.meters, k, n, key=lambda m: m.id)
        elif args.workers > 1:
            return _run_workers(cfg, args)
    elif args.workers > 1:
        raise CliError("--workers shares the meters of a configuration file (-c) between processes")
    else:
        meter = MeterConfig(
            id=args.id,
            url=args.url,
            profile=args.profile,
            late_direction=args.late_direction,
            suppress_lone_zeros=args.suppress_lone_zeros,
            baud=last_baud(args),
            wifi_state=args.wifi_state,
            clock_rate=args.time_scale,
        )
        cfg = GatewayConfig([meter], args.profile_dir)
    return run_async(run_gateway(cfg, args), args.duration)


def _worker(text: str) -> tuple[int, int]:
    try:
        return parse_worker(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _run_workers(cfg: GatewayConfig, args: argparse.Namespace) -> int:
    """Start a worker process per share of the meters (each this command with ``--worker K/N``)."""
    n = args.workers
    shares = [share(cfg.meters, k, n, key=lambda m: m.id) for k in range(n)]
    empty = [k for k, s in enumerate(shares) if not s]
    if empty:
        raise CliError(
            f"{len(cfg.meters)} meters cannot keep {n} workers busy (a meter's worker is a hash of its id; "
            f"worker {empty[0]} would have none): use fewer workers"
        )
    profiles = _profiles(cfg)  # every worker's profiles load before any starts
    command = [sys.executable, "-m", "tuyameter", *args.argv]
    web = web_output(args, cfg)  # listening already (a taken address is an error now), its URL printed
    if web is None:
        supervisor = WorkerSupervisor(command, n, describe=lambda k: f"{len(shares[k])} meters")
        return run_async(supervisor.run(), None)
    zone = _zone(getattr(args, "tz", None) or cfg.timezone)
    target, store = _store(cfg, args, zone)
    backend = FleetBackend(profiles, n, zone, store=store, outputs=[web])
    with tempfile.TemporaryDirectory(prefix="tuyameter-fleet-") as private:  # this user's only (0700)
        path = os.path.join(private, "workers.sock")
        env = {**os.environ, FLEET_SOCKET_ENV: path}
        supervisor = WorkerSupervisor(command, n, describe=lambda k: f"{len(shares[k])} meters", env=env)
        return run_async(_fleet_page(backend, path, supervisor, web, target), None)


async def _fleet_page(
    backend: FleetBackend, path: str, supervisor: WorkerSupervisor, web: WebOutput, target: str | None
) -> int:
    """The workers, and the fleet's one web page served here from what they send (docs/web.md)."""
    try:
        await backend.start(path)
    except StoreError as e:
        raise _store_error(target, e) from None
    page = asyncio.ensure_future(web.serve(backend))
    try:
        return await supervisor.run()
    finally:
        page.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await page
        await backend.close()


def demo_config(n: int, speed: float, quirks: list[str], chips: int = 0) -> GatewayConfig:
    """Meters whose simulated clocks start just before sunrise or sunset, alternately; ``chips`` HLW8112
    boards (in-process over SPI) after them."""
    if not 1 <= n <= 50:
        raise CliError("--meters must be 1..50")
    meters = []
    for i in range(n):
        start = "06:28" if i % 2 == 0 else "19:24"
        q = "".join(f"&quirk={x}" for x in quirks)
        url = f"sim://pj1103a?seed={i + 1}&speed={speed:g}&start={start}{q}"
        meters.append(MeterConfig(id=f"demo{i + 1}", url=url, late_direction=[], suppress_lone_zeros=True))
    for i in range(chips):
        url = f"spi://sim?seed={i + 11}&rate={max(1, round(speed))}&start={'06:28' if i % 2 == 0 else '19:24'}"
        meters.append(MeterConfig(id=f"chip{i + 1}", url=url, profile="hlw8112_clamps"))
    return GatewayConfig(meters)


def cmd_demo(args: argparse.Namespace) -> int:
    chips = 0 if args.lan else args.hlw8112
    cfg = demo_config(args.meters, args.speed, args.quirk, chips)
    if not args.json:
        how = f" on stock firmware (Tuya LAN {args.lan} on loopback)" if args.lan else ""
        also = f" and {chips} emulated HLW8112 chip(s) over SPI" if chips else ""
        print(
            f"tuyameter demo: {args.meters} emulated PJ-1103A meter(s){how}{also}, time ×{args.speed:g}. Clamp A "
            "is a house, clamp B a solar inverter (negative = export). Ctrl-C stops.",
            flush=True,
        )
    if args.lan:
        return run_async(_demo_lan(cfg, args), args.duration)
    return run_async(run_gateway(cfg, args), args.duration)


async def _demo_lan(cfg: GatewayConfig, args: argparse.Namespace) -> int:
    """The same meters, each behind an emulated stock module on a loopback TCP port."""
    async with lan_meters([m.url for m in cfg.meters], args.lan) as urls:
        for m, url in zip(cfg.meters, urls, strict=True):
            m.url, m.clock_rate = url, args.speed
        return await run_gateway(cfg, args)


def _zone(name: str | None) -> dt.tzinfo:
    if not name:
        return local_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"unknown time zone {name!r} (an IANA name such as Europe/Berlin)") from None
