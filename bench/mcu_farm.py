"""N emulated PJ-1103A meters behind TCP ports (as behind ser2net bridges), in one process.

``mcu_farm.py N REPORT_S [--aligned] [--base-port P] [--replay] [--first K]``: prints one socket://
URL per line, then 'ready'. Each meter sends its report bursts paced at 9600 baud (16-byte writes,
one per 16 byte times, as a bridge forwards a UART), on its own schedule: the meters' report phases
are spread over the period as meters powered on at different times are (``--aligned``: all at
once, the worst case).

- ``--base-port P``: the meters listen on P, P+1, … instead of ports the system picks.
- ``--first K``: the meters are numbered from K (their seeds and phases), for a second farm beside
  a first (a process holds two descriptors a meter, and the system allows it only so many).
- ``--replay``: each meter answers the gateway as the emulator does, but its report cycles are
  replayed from 64 recorded emulators' (20 minutes of them) instead of worked out from its
  physics: the physics of 10,000 meters would take a core of its own, and this machine has two.

Unlike ``sim --tcp`` (which ticks every 20 ms so one meter answers at once), the farm has one
clock for all its meters: every 16 byte times it writes the next chunk of each meter that is
sending and starts the report cycles that are due, and a meter's answers to the gateway are
queued the same way. So one process plays thousands of meters with one timer, not a task each.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
import signal
import sys

from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.tuyamcu.constants import Command, WifiState
from tuyameter.tuyamcu.decoder import FrameDecoder
from tuyameter.tuyamcu.dp import DPRecord, parse_records
from tuyameter.tuyamcu.frame import Frame

BYTE_TIME = 10.0 / 9600
CHUNK = 16
TICK = CHUNK * BYTE_TIME  # one chunk per meter per tick: the 9600-baud pace


REPLAY_TRACES, REPLAY_CYCLES = 64, 400


class ReplayEmulator(Pj1103aEmulator):
    """The emulator's protocol and schedule; its report cycles are recorded ones, in their order."""

    def __init__(self, cycles: list[bytes], **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._cycles, self._k = cycles, 0

    def _physics(self, t: float, dt: float) -> None:
        pass

    def _report_cycle(self) -> None:
        self.cycles += 1
        self._out += self._cycles[self._k % len(self._cycles)]
        self._k += 1

    def state_records(self) -> list[DPRecord]:
        """A query's answer: the last replayed cycle's values (the physics, not run, would say 0 kWh
        and the gateway would take the counters for reset)."""
        recs = {r.dp: r for r in super().state_records()}
        if self._k:
            for f in FrameDecoder().feed(self._cycles[(self._k - 1) % len(self._cycles)], 0.0):
                if isinstance(f, Frame) and f.command == Command.DP_REPORT:
                    recs.update((r.dp, r) for r in parse_records(f.payload)[0])
        return [recs[dp] for dp in sorted(recs)]


def recorded_cycles(seed: int, report_s: int) -> list[bytes]:
    emu = Pj1103aEmulator(seed=seed, report_rate=report_s)
    emu.wifi_state = WifiState.CLOUD
    out = []
    for k in range(REPLAY_CYCLES):
        emu.tick(report_s * (k + 1.0))
        out.append(emu.data_to_send())
    return [c for c in out if c]


class Meter(asyncio.Protocol):
    def __init__(self, farm: Farm, emu: Pj1103aEmulator) -> None:
        self.farm, self.emu = farm, emu
        self.transport: asyncio.Transport | None = None
        self.out = b""  # bytes still to send at the line's pace
        self.deadline = 0.0  # the emulator's next deadline, as queued in the farm's heap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = asyncio.get_running_loop().time()
        self.emu.receive_data(data, now)
        self.farm.service(self, now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class Farm:
    def __init__(self) -> None:
        self.sending: set[Meter] = set()
        self._due: list[tuple[float, int, Meter]] = []
        self._seq = 0

    def service(self, m: Meter, now: float) -> None:
        """Take what the emulator has to send now, and queue its next deadline."""
        m.emu.tick(now)
        data = m.emu.data_to_send()
        if data:
            m.out += data
            self.sending.add(m)
        deadline = m.emu.next_deadline(now)
        if deadline != m.deadline:
            m.deadline = deadline
            self._seq += 1
            heapq.heappush(self._due, (deadline, self._seq, m))

    def turn(self, now: float) -> None:
        due = self._due
        while due and due[0][0] <= now:
            deadline, _, m = heapq.heappop(due)
            if deadline == m.deadline:  # not superseded by a later service()
                m.deadline = 0.0
                self.service(m, now)
        done = []
        for m in self.sending:
            if m.transport is not None:
                m.transport.write(m.out[:CHUNK])
            m.out = m.out[CHUNK:]
            if not m.out:
                done.append(m)
        self.sending.difference_update(done)


async def main(n: int, report_s: int, *, aligned: bool, base_port: int | None, replay: bool, first: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    farm = Farm()
    phases = random.Random(n if not first else f"{n}+{first}")
    traces = [recorded_cycles(k + 1, report_s) for k in range(REPLAY_TRACES)] if replay else []
    for i in range(first, first + n):
        phase = None if aligned else phases.uniform(0, report_s)
        if replay:
            emu: Pj1103aEmulator = ReplayEmulator(traces[i % len(traces)], seed=i + 1, report_rate=report_s,
                                                  report_phase=phase)  # fmt: skip
        else:
            emu = Pj1103aEmulator(seed=i + 1, report_rate=report_s, report_phase=phase)
        m = Meter(farm, emu)
        server = await loop.create_server(lambda m=m: m, "127.0.0.1", base_port + i - first if base_port else 0)
        print(f"socket://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        farm.service(m, loop.time())
    print("ready", flush=True)
    next_turn = loop.time()
    while not stop.is_set():
        farm.turn(loop.time())
        next_turn = max(next_turn + TICK, loop.time())  # a late turn does not make the next ones hurry
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), next_turn - loop.time())


if __name__ == "__main__":
    args = sys.argv[1:]
    base = int(args[args.index("--base-port") + 1]) if "--base-port" in args else None
    first = int(args[args.index("--first") + 1]) if "--first" in args else 0
    asyncio.run(main(int(args[0]), int(args[1]), aligned="--aligned" in args, base_port=base, replay="--replay" in args,
                     first=first))  # fmt: skip
