"""A meter on stock firmware, sans-IO: the PJ-1103A MCU emulator behind an emulated Tuya module.

The module does what Tuya's Wi-Fi module does in the meter: it talks TuyaMCU to the
MCU (our own module-side :class:`~tuyameter.tuyamcu.session.Session`), keeps the last
value of every DP, and serves them on the LAN (:class:`~tuyameter.tuyalan.device.DeviceSession`):
status queries, UPDATEDPS, writes passed to the MCU and confirmed by its echo. Like the
real firmware it pushes settings when they change but measured values only when asked
(``push="settings"``), unless told to push every report (``push="all"``).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from tuyameter.emulator.pj1103a import Pj1103aEmulator
from tuyameter.profiles.model import Profile
from tuyameter.tuyalan.device import DeviceSession
from tuyameter.tuyamcu import events as ev
from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.dp import DPRecord
from tuyameter.tuyamcu.session import Session, SessionConfig

PUSH_MODES = ("settings", "all")


class StockModule:
    def __init__(
        self, mcu: Pj1103aEmulator, profile: Profile, device_id: str, local_key: bytes, version: str,
        *, push: str = "settings", device22: bool = False,
    ) -> None:  # fmt: skip
        if push not in PUSH_MODES:
            raise ValueError(f"push {push!r} is not one of {', '.join(PUSH_MODES)}")
        self.mcu, self.profile = mcu, profile
        self.device_id, self.local_key, self.version = device_id, local_key, version
        self.push_mode, self.device22 = push, device22
        # a stock module forwards each report frame as it comes: an update per frame
        config = SessionConfig(wifi_state=4, spacing=0.0, coalesce_reports=False)
        self.tuyamcu = Session(config, local_time=dt.datetime.now)
        self.values: dict[str, Any] = {}
        self.types: dict[int, DPType] = {q.dp: q.type for q in profile.quantities if q.tuyamcu is not None}
        self._by_dp = profile.by_dp()
        self.client: DeviceSession | None = None
        self.clients_refused = 0
        self._now = 0.0  # the time of the last tick (writes from the LAN are stamped with it)

    # -- the LAN side -------------------------------------------------------------

    def connect(self) -> DeviceSession | None:
        """A new TCP client: the one local slot, or None when it is taken (the device refuses it)."""
        if self.client is not None:
            self.clients_refused += 1
            return None
        self.client = DeviceSession(self.device_id, self.local_key, self.version, self, device22=self.device22)
        return self.client

    def disconnect(self, client: DeviceSession) -> None:
        if self.client is client:
            self.client = None

    # DeviceModel
    def dps(self) -> dict[str, Any]:
        return dict(self.values)

    def control(self, dps: dict[str, Any]) -> None:
        records = [r for k, v in dps.items() if (r := self._record(k, v)) is not None]
        if records and self.tuyamcu.link_up:
            now = self._now
            self.tuyamcu.write(records, now, expires=now + 5.0)

    # -- time ---------------------------------------------------------------------

    def tick(self, now: float) -> None:
        self._now = now
        for _ in range(8):  # shuttle until both sides are quiet
            self.mcu.tick(now)
            self.tuyamcu.tick(now)
            down = b""
            while chunk := self.tuyamcu.data_to_send(now):
                down += chunk
            if down:
                self.mcu.receive_data(down, now)
            up = self.mcu.data_to_send()
            if up:
                self.tuyamcu.receive_data(up, now)
            self._on_events(self.tuyamcu.events())
            if not down and not up:
                break

    def next_deadline(self, now: float) -> float:
        d = self.tuyamcu.next_deadline(now)
        m = self.mcu.next_deadline(now)
        return min(m, d) if d is not None else m

    # -- internals ------------------------------------------------------------------

    def _on_events(self, events: list[ev.Event]) -> None:
        for e in events:
            if not isinstance(e, ev.DPUpdate):
                continue
            changed: dict[str, Any] = {}
            for rec in e.records:
                key, val = str(rec.dp), self._lan_value(rec)
                setting = self._is_setting(rec.dp)
                if setting or (self.push_mode == "all" and self.values.get(key) != val):
                    changed[key] = val
                self.values[key] = val
            if changed and self.client is not None:
                self.client.push(changed)

    def _is_setting(self, dp: int) -> bool:
        q = self._by_dp.get(dp)
        return q is not None and q.writable

    def _lan_value(self, rec: DPRecord) -> Any:
        v = rec.value
        if rec.type is DPType.ENUM:
            q = self._by_dp.get(rec.dp)
            return q.options.get(v, str(v)) if q is not None and isinstance(v, int) else v
        if isinstance(v, bytes):
            return base64.b64encode(v).decode()
        return v

    def _record(self, key: str, value: Any) -> DPRecord | None:
        try:
            dp = int(key)
        except ValueError:
            return None
        t = self.types.get(dp)
        if t is None:
            return None
        if t is DPType.ENUM and isinstance(value, str):
            q = self._by_dp[dp]
            code = next((k for k, name in q.options.items() if name.lower() == value.lower()), None)
            return None if code is None else DPRecord.make(dp, t, code)
        if t is DPType.BOOL and isinstance(value, bool):
            return DPRecord.make(dp, t, value)
        if t in (DPType.VALUE, DPType.ENUM, DPType.BITMAP) and isinstance(value, int) and not isinstance(value, bool):
            return DPRecord.make(dp, t, value)
        return None  # a value of the wrong type is ignored, as the module does
