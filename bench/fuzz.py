"""The long fuzz run: ``make fuzz`` (``python bench/fuzz.py [--scale 0.1] [--json]``).

Mutation fuzzing of every parser of outside input, seeded from real traffic and
files: frames the emulator really sends (through the decoder, the message parser and
a live session), flash config stores built like real ones, the OpenBeken autoexec
fixture, the shipped profiles and a config file, MQTT commands. Each target counts
inputs, crashes (any exception other than the parser's own clear error: must be 0)
and throughput. The figures go into docs/reliability.md.

``make test`` runs the same parsers with hypothesis, a few thousand examples each; this
is the run of 10^6 decoder inputs and 10^4 of each kind of file.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the store builder the tests use (kvencode, test_flash_kv)

from test_autoexec_import import FIXTURE  # noqa: E402  (the workplace's shared fixture)
from tuyameter.config import parse_config  # noqa: E402
from tuyameter.emulator.pj1103a import Pj1103aEmulator  # noqa: E402
from tuyameter.emulator.quirks import Quirks  # noqa: E402
from tuyameter.flash.kv import FlashError, read_store  # noqa: E402
from tuyameter.flash.summary import summarize  # noqa: E402
from tuyameter.interop.autoexec import parse_autoexec  # noqa: E402
from tuyameter.interop.to_profile import autoexec_to_profile  # noqa: E402
from tuyameter.mqtt.commands import CommandError, parse_command  # noqa: E402
from tuyameter.mqtt.settings import parse_mqtt_url  # noqa: E402
from tuyameter.pipeline.writes import WriteRefused, validate_write  # noqa: E402
from tuyameter.profiles import find_profile  # noqa: E402
from tuyameter.profiles.loader import ProfileError, load_profile_text  # noqa: E402
from tuyameter.tuyamcu import messages as m  # noqa: E402
from tuyameter.tuyamcu.decoder import FrameDecoder, Garbage  # noqa: E402
from tuyameter.tuyamcu.session import Session  # noqa: E402
from tuyameter.util.yamlfile import YamlFileError, load_yaml_text  # noqa: E402


class Target:
    def __init__(self, name: str, run: Callable[[bytes], None], seeds: list[bytes], expected: tuple[type, ...]):
        self.name, self.run, self.seeds, self.expected = name, run, seeds, expected
        self.inputs = self.crashes = self.refused = 0
        self.seconds = 0.0
        self.first_crash: str | None = None


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """A few random edits: bit flips, byte sets, inserts, deletes, duplications, splices, headers."""
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 5, 8))):
        op = rng.randrange(8)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[pos % len(b)] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[pos % len(b)] = rng.choice((0, 0xFF, 0x55, 0xAA, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2:
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3 and b:
            del b[pos : pos + rng.randint(1, 32)]
        elif op == 4 and b:
            a = rng.randrange(len(b))
            b[pos:pos] = b[a : a + rng.randint(1, 64)]
        elif op == 5:
            other = rng.choice(pool)
            a = rng.randrange(len(other) + 1)
            b[pos:pos] = other[a : a + rng.randint(1, 256)]
        elif op == 6:
            b[pos:pos] = b"\x55\xaa" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 6)))
        elif op == 7 and b:
            cut = rng.randrange(len(b))
            b = b[:cut] if rng.random() < 0.5 else b[cut:]
    return bytes(b)


# -- targets ------------------------------------------------------------------------


def emulator_traffic(seconds: float = 600.0) -> list[bytes]:
    """What a PJ-1103A really sends (every quirk on), in chunks of a few frames."""
    emu = Pj1103aEmulator(seed=7, speed=10, quirks=Quirks(late_direction=True, noise=0.02, hostile=0.2))
    s = Session(local_time=lambda: __import__("datetime").datetime(2026, 1, 1))
    out: list[bytes] = []
    t = 0.0
    while t < seconds:
        emu.tick(t)
        s.tick(t)
        while data := s.data_to_send(t):
            emu.receive_data(data, t)
        if d := emu.data_to_send():
            s.receive_data(d, t)
            out.append(d)
        s.events()
        t += 0.05
    return out


def decoder_target(traffic: list[bytes]) -> Target:
    session = Session(local_time=lambda: __import__("datetime").datetime(2026, 1, 1))
    clock = [0.0]

    def run(data: bytes) -> None:
        dec = FrameDecoder()
        items = dec.feed(data, 0.0) + dec.flush()
        got = sum(len(i.data) if isinstance(i, Garbage) else len(i.encode()) for i in items)
        if got != len(data):
            raise AssertionError(f"{len(data)} bytes in, {got} accounted for")
        for i in items:
            if not isinstance(i, Garbage):
                m.parse(i, m.Direction.FROM_MCU)
                m.parse(i, m.Direction.TO_MCU)
        clock[0] += 0.01  # and one long-lived session that hears all of it
        session.receive_data(data, clock[0])
        session.tick(clock[0])
        session.data_to_send(clock[0])
        session.events()

    return Target("TuyaMCU decoder, messages, session", run, traffic, ())


def store_target() -> Target:
    from test_flash_kv import build, meter_values

    seeds = [bytes(build(meter_values(extra=k, seed=k))[1]) for k in (0, 5, 20)]

    def run(data: bytes) -> None:
        try:
            st = read_store(data)
        except FlashError as e:
            if not (str(e) and e.kind):
                raise AssertionError("FlashError without a message or kind") from e
            raise
        summarize(st, data)

    return Target("flash KV store reader + value parsers", run, seeds, (FlashError,))


def autoexec_target(profiles: list[Any]) -> Target:
    seed = FIXTURE.read_bytes()

    def run(data: bytes) -> None:
        script = parse_autoexec(data.decode("utf-8", errors="replace"))
        res = autoexec_to_profile(script, "fuzz", profiles)  # ValueError: not a TuyaMCU script
        # what it made must be a valid profile (the CLI would refuse to write it otherwise)
        load_profile_text(yaml.safe_dump(res.data, sort_keys=False), "imported.yaml")

    return Target("OpenBeken autoexec importer", run, [seed], (ValueError,))


def profile_target() -> Target:
    seeds = [p.read_bytes() for p in sorted((ROOT / "src/tuyameter/profiles/data").glob("*.yaml"))]

    def run(data: bytes) -> None:
        load_profile_text(data.decode("utf-8", errors="replace"), "fuzz.yaml")

    return Target("profile loader", run, seeds, (ProfileError, YamlFileError))


CONFIG = b"""meters:
  - id: house
    url: /dev/ttyUSB0
    profile: pj1103a
    baud: 9600
    late_direction: [b]
    heartbeat_interval: 10
  - {id: garage, url: "socket://127.0.0.1:7000", time_scale: 2}
mqtt: {url: "mqtt://user:pw@127.0.0.1:1883", topic_prefix: home/tm}
store: {db: /var/lib/tuyameter/tuyameter.db, keep_days: 90}
"""


def config_target() -> Target:
    def run(data: bytes) -> None:
        text = data.decode("utf-8", errors="replace")
        parse_config(load_yaml_text(text, "fuzz.yaml"), "fuzz.yaml")

    return Target("config loader", run, [CONFIG], (YamlFileError,))


def mqtt_target() -> Target:
    settings = parse_mqtt_url("mqtt://127.0.0.1:1883")
    profile = find_profile("pj1103a")
    profiles = {"house": profile}
    writable = [q.name for q in profile.quantities if q.writable]
    seeds = [f"tuyameter/house/set/{n}\x00{v}".encode() for n in writable for v in ("5", "1.05", "PRESS", "1e308")]

    def run(data: bytes) -> None:
        topic, _, payload = data.partition(b"\x00")
        cmd = parse_command(settings, topic.decode("utf-8", errors="replace"), payload, profiles)
        validate_write(profile, cmd.name, cmd.value)

    return Target("MQTT command parsing + write validation", run, seeds, (CommandError, WriteRefused))


# -- the run --------------------------------------------------------------------------


def fuzz(t: Target, n: int, rng: random.Random, progress: bool) -> None:
    start = time.perf_counter()
    step = max(1, n // 20)
    for i in range(n):
        data = mutate(rng, rng.choice(t.seeds), t.seeds)
        t.inputs += 1
        try:
            t.run(data)
        except t.expected:
            t.refused += 1
        except RecursionError as e:  # the kind of crash that was found: counted, kept
            t.crashes += 1
            t.first_crash = t.first_crash or f"{type(e).__name__}: {e}"
        except Exception as e:
            t.crashes += 1
            if t.first_crash is None:
                t.first_crash = f"{type(e).__name__}: {e} on {data[:80]!r}\n{traceback.format_exc(limit=4)}"
        if progress and (i + 1) % step == 0:
            print(f"\r  {t.name}: {i + 1:,}/{n:,} ({t.crashes} crashes)", end="", file=sys.stderr, flush=True)
    t.seconds = time.perf_counter() - start
    if progress:
        print(file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full run (1.0: 10^6 decoder inputs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    profiles = [find_profile("pj1103a"), find_profile("pj1103a_qqb5tzcb1qarf0s3")]
    print("recording emulator traffic…", file=sys.stderr)
    plan = [
        (decoder_target(emulator_traffic()), 1_000_000),
        (store_target(), 10_000),
        (autoexec_target(profiles), 10_000),
        (profile_target(), 10_000),
        (config_target(), 10_000),
        (mqtt_target(), 100_000),
    ]
    targets = []
    for t, n in plan:
        fuzz(t, max(1, int(n * args.scale)), rng, not args.json)
        targets.append(t)
    rows = [
        {"target": t.name, "inputs": t.inputs, "refused_cleanly": t.refused, "crashes": t.crashes,
         "per_second": round(t.inputs / t.seconds) if t.seconds else None, "seconds": round(t.seconds, 1),
         "first_crash": t.first_crash}
        for t in targets
    ]  # fmt: skip
    if args.json:
        print(json.dumps({"seed": args.seed, "scale": args.scale, "targets": rows}, indent=1))
    else:
        print("| target | inputs | refused cleanly | crashes | inputs/s |\n|---|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['target']} | {r['inputs']:,} | {r['refused_cleanly']:,} | {r['crashes']} | {r['per_second']:,} |"
            )
        for r in rows:
            if r["first_crash"]:
                print(f"\n{r['target']}: first crash: {r['first_crash']}")
    return 1 if any(t.crashes for t in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
