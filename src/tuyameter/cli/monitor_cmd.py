"""``tuyameter monitor URL`` — live decoded traffic, both directions when it drives the link."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json

import tuyameter.emulator.simlink  # noqa: F401  (sim:// links, for the URLs this command opens)
from tuyameter.cli.commands import summary
from tuyameter.cli.common import CliError, emit_json, load_profile_arg, run_async
from tuyameter.cli.options import SECONDS, json_option, last_baud, link_options, profile_options
from tuyameter.profiles.model import Profile
from tuyameter.sources.tuyalan.binding import LanBinding
from tuyameter.sources.tuyalan.connection import LanConnection
from tuyameter.sources.tuyalan.target import parse_lan_url
from tuyameter.tools.describe import describe, frame_json
from tuyameter.transport.links import Link, LinkError, open_link
from tuyameter.transport.session_pump import SessionPump
from tuyameter.tuyalan import events as lev
from tuyameter.tuyalan.client import ClientConfig, ClientSession
from tuyameter.tuyalan.codec import Message as LanMessage
from tuyameter.tuyalan.messages import dps_of
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.decoder import FrameDecoder, Garbage
from tuyameter.tuyamcu.session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "monitor",
        parents=[link_options(), profile_options(), json_option()],
        help=summary("monitor"),
        description="Drive the link (handshake, heartbeats) and print every frame in both directions, "
        "or with --passive only listen and decode what arrives.",
    )
    p.add_argument("--passive", action="store_true", help="only listen; never send")
    p.add_argument("--duration", type=SECONDS, help="stop after S seconds")
    p.set_defaults(func=cmd_monitor)


class _Printer:
    def __init__(self, profile: Profile | None, as_json: bool) -> None:
        self.profile, self.as_json = profile, as_json

    def frame(self, direction: m.Direction, frame_: object, msg: m.Message) -> None:
        from tuyameter.tuyamcu.frame import Frame

        assert isinstance(frame_, Frame)
        ts = dt.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        if self.as_json:
            emit_json({"time": ts} | frame_json(frame_, direction, msg, self.profile))
        else:
            arrow = "→" if direction is m.Direction.TO_MCU else "←"
            print(
                f"{ts} {arrow} {frame_.encode().hex(' ').upper()}\n             {describe(msg, self.profile)}",
                flush=True,
            )

    def lan(self, outgoing: bool, msg: LanMessage, binding: LanBinding) -> None:
        ts = dt.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        data = msg.data
        dps = dps_of(data)
        readings = dict(binding.readings(dps)) if dps else {}
        body = data if data is not None else msg.body.hex(" ") if msg.body else ""
        if self.as_json:
            emit_json({"time": ts, "direction": "out" if outgoing else "in", "command": msg.command, "seq": msg.seq,
                       "retcode": msg.retcode, "body": body, "readings": readings})  # fmt: skip
            return
        arrow = "→" if outgoing else "←"
        rc = f" rc {msg.retcode}" if msg.retcode else ""
        text = json.dumps(body, separators=(",", ":")) if isinstance(body, dict | list) else body
        print(f"{ts} {arrow} {msg.command} #{msg.seq}{rc} {text}", flush=True)
        if readings:
            print("             " + ", ".join(f"{k}={v}" for k, v in readings.items()), flush=True)

    def note(self, text: str, **extra: object) -> None:
        ts = dt.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        if self.as_json:
            emit_json({"time": ts, "event": text} | extra)
        else:
            print(f"{ts} ** {text}" + (f" {extra}" if extra else ""), flush=True)


async def _active(link: Link, pr: _Printer) -> None:
    session = Session(trace=True, local_time=dt.datetime.now)

    async def show(events: list[ev.Event], now: float) -> None:
        for e in events:
            if isinstance(e, ev.Traffic):
                pr.frame(e.direction, e.frame, e.message)
            elif isinstance(e, ev.SkippedBytes):
                pr.note("skipped bytes", data=e.garbage.data.hex(" "), reason=e.garbage.reason)
            elif isinstance(e, ev.LinkUp | ev.LinkDown | ev.McuRestarted):
                values = {f.name: getattr(e, f.name) for f in dataclasses.fields(e)}
                fields = {k: v for k, v in values.items() if k != "time" and isinstance(v, str | int)}
                pr.note(type(e).__name__, **fields)

    await SessionPump(link, session).run(show)


async def _passive(link: Link, pr: _Printer) -> None:
    loop = asyncio.get_running_loop()
    dec = FrameDecoder()
    while True:
        data = await link.read()
        for item in dec.feed(data, loop.time()):
            if isinstance(item, Garbage):
                pr.note("skipped bytes", data=item.data.hex(" "), reason=item.reason)
            else:
                d = m.guess_direction(item)
                pr.frame(d, item, m.parse(item, d))


async def _lan(args: argparse.Namespace, profile: Profile, pr: _Printer) -> int:
    try:
        target = parse_lan_url(args.url)
    except ValueError as e:
        raise CliError(str(e)) from None
    binding = LanBinding(profile)
    cfg = ClientConfig(target.device_id, target.key, target.version, trace=True,
                       refresh_dps=binding.measured_dps(), refresh_interval=10.0)  # fmt: skip
    session = ClientSession(cfg)
    pr.note(f"monitoring {target.description}")

    def show(events: list[lev.Event], now: float) -> None:
        for e in events:
            if isinstance(e, lev.Traffic):
                pr.lan(e.outgoing, e.message, binding)
            elif isinstance(e, lev.Undecodable):
                pr.note("undecodable frame", reason=e.reason)
            elif isinstance(e, lev.Ready | lev.Failed):
                pr.note(type(e).__name__, **{k: v for k, v in e.__dict__.items() if k != "time"})

    reason = await LanConnection(target, session).run(show)
    pr.note(f"connection ended: {reason}")
    return 1


async def _monitor(args: argparse.Namespace) -> int:
    profile = load_profile_arg(args.profile, args.profile_dir) if args.profile else None
    pr = _Printer(profile, args.json)
    if args.url.startswith("tuya:"):
        return await _lan(args, profile or load_profile_arg("pj1103a", args.profile_dir), pr)
    try:
        link = await open_link(args.url, last_baud(args) or (profile.baud if profile else 9600))
    except LinkError as e:
        raise CliError(str(e)) from None
    pr.note(f"monitoring {link.description}" + (" (passive)" if args.passive else ""))
    try:
        await (_passive(link, pr) if args.passive else _active(link, pr))
    except LinkError as e:
        pr.note(f"link lost: {e}")
        return 1
    finally:
        await link.close()
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    return run_async(_monitor(args), args.duration)
