"""The Tuya LAN binding of a profile: the module passes the MCU's DPs through, as JSON values.

The DP ids and scales are the quantity's ``tuyamcu`` binding; values come as JSON: a
value DP as an integer, a bool as true/false, an enum as the name of its option (in
whatever case the firmware's schema uses) and raw data as base64 text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuyameter.pipeline.writes import validate_write
from tuyameter.profiles.model import Profile, Quantity, Value
from tuyameter.sources.tuyamcu.binding import BindingStats
from tuyameter.tuyamcu.constants import DPType


class LanBinding:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.stats = BindingStats()
        self._by_dp = profile.by_dp()
        #: DP key → (name, converter), worked out once: this runs for every DP of every report
        self._conv = {str(dp): (q.name, _converter(q)) for dp, q in self._by_dp.items()}

    def measured_dps(self) -> tuple[int, ...]:
        """What UPDATEDPS asks for: every DP the profile reads that is not a setting."""
        return tuple(sorted(q.dp for q in self.profile.quantities if q.tuyamcu is not None and not q.writable))

    def readings(self, dps: dict[str, Any], *, counted: bool = True) -> list[tuple[str, Value]]:
        """DPs → (name, value); unknown ones as ``dp<N>``. ``counted=False``: a second look, not counted."""
        out: list[tuple[str, Value]] = []
        conv, stats = self._conv, self.stats if counted else BindingStats()
        stats.records += len(dps)
        for key, raw in dps.items():
            c = conv.get(key)
            if c is None:
                stats.unknown_dps += 1
                if isinstance(raw, bool | int | float | str):
                    out.append((f"dp{key}", raw))
                continue
            value = c[1](raw)
            if value is None:
                stats.type_mismatches += 1
            else:
                out.append((c[0], value))
        return out

    def lan_value(self, name: str, value: Value) -> tuple[str, Any]:
        """(DP key, JSON value) that writes ``value`` to ``name``; WriteRefused when it is not allowed."""
        spec, raw = validate_write(self.profile, name, value)
        if spec.type is DPType.BOOL:
            return str(spec.dp), bool(raw)
        if spec.type is DPType.ENUM and spec.options:
            return str(spec.dp), spec.options[raw]
        return str(spec.dp), raw

    def echoed(self, dps: dict[str, Any]) -> dict[str, Value]:
        return dict(self.readings(dps))


def _converter(spec: Quantity) -> Callable[[Any], Value | None]:
    """JSON value → the quantity's value, or None when the JSON type is not the DP's."""
    t = spec.type
    if t is DPType.BOOL:
        return lambda raw: raw if isinstance(raw, bool) else None
    if t is DPType.ENUM:
        names = {o.lower(): o for o in spec.options.values()}

        def enum(raw: Any) -> Value | None:
            if isinstance(raw, str):
                return names.get(raw.lower(), raw)
            return spec.to_value(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None

        return enum
    if t in (DPType.VALUE, DPType.BITMAP):
        scale, digits = spec.scale, spec.decimals

        def number(raw: Any) -> Value | None:
            return round(raw * scale, digits) if type(raw) is int else None  # not bool, a subclass

        def whole(raw: Any) -> Value | None:
            return raw if type(raw) is int else None

        return whole if scale == 1 else number
    return lambda raw: raw if isinstance(raw, str) else None
