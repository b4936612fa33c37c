"""Wire a module-side Session to the emulator core in memory, on a simulated clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.emulator.quirks import Quirks
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.messages import Direction
from tuyameter.tuyamcu.session import Session, SessionConfig

FIXED_TIME = dt.datetime(2026, 11, 23, 14, 5, 9)


@dataclass
class Loop:
    emu: Pj1103aEmulator
    session: Session
    t: float = 0.0
    events: list[ev.Event] = field(default_factory=list)
    to_mcu: list[bytes] = field(default_factory=list)
    from_mcu: list[bytes] = field(default_factory=list)
    connected: bool = True  # False: the wire is cut both ways

    def step(self, dt_: float = 0.005) -> None:
        self.emu.tick(self.t)
        self.session.tick(self.t)
        while data := self.session.data_to_send(self.t):
            self.to_mcu.append(data)
            if self.connected:
                self.emu.receive_data(data, self.t)
        out = self.emu.data_to_send()
        if out and self.connected:
            self.from_mcu.append(out)
            self.session.receive_data(out, self.t)
        self.events += self.session.events()
        self.t += dt_

    def run(self, seconds: float, dt_: float = 0.005) -> None:
        end = self.t + seconds
        while self.t < end:
            self.step(dt_)

    def run_until(self, pred: object, timeout: float = 30.0, dt_: float = 0.005) -> None:
        assert callable(pred)
        end = self.t + timeout
        while not pred():
            if self.t > end:
                raise AssertionError(f"condition not met within {timeout} simulated s")
            self.step(dt_)

    def of(self, kind: type[ev.Event]) -> list[ev.Event]:
        return [e for e in self.events if isinstance(e, kind)]


def make_loop(
    quirks: Quirks | None = None, *, seed: int = 1, speed: float = 1.0, sim_hour: float = 12.0,
    config: SessionConfig | None = None, trace: bool = False, report_rate: int = 10,
) -> Loop:  # fmt: skip
    emu = Pj1103aEmulator(seed=seed, quirks=quirks, speed=speed, sim_start=sim_hour * 3600, report_rate=report_rate)
    session = Session(config or SessionConfig(), local_time=lambda: FIXED_TIME, trace=trace)
    return Loop(emu, session)


def traffic(loop: Loop, direction: Direction) -> list[Frame]:
    return [e.frame for e in loop.events if isinstance(e, ev.Traffic) and e.direction is direction]
