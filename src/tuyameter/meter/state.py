"""The current state of one meter, built from named readings through its profile.

Source-agnostic: a source's binding has already turned its device's words into
``(name, value)`` pairs in the profile's units.

- Power DPs that carry a magnitude (``signed_by`` in the profile) become signed:
  consumption positive, export negative (Home Assistant's convention).
- ``computed`` values (``power_total`` = signed A + signed B) are recomputed
  from the signed values; the MCU's own total stays a raw diagnostic.
- ``late_direction`` channels hold their values until the following direction
  DP, which is the one that belongs to them (a known firmware bug).
- ``suppress_lone_zeros`` drops a single zero between non-zero readings.
- A reading the profile calls implausible (outside the quantity's ``range``, an enum
  code outside its ``options``, not finite) is dropped and counted before any of this:
  it is never published, signed, summed or integrated.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from tuyameter.profiles.model import DPSpec, Profile, Value
from tuyameter.util.lograte import worth_logging

Reading = tuple[str, Value]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeterOptions:
    late_direction: frozenset[str] = frozenset()
    suppress_lone_zeros: bool = False


@dataclass
class MeterStats:
    readings: int = 0
    unknown: int = 0  # names the profile does not know (kept as they came)
    lone_zeros_suppressed: int = 0
    late_direction_missing: int = 0
    held_released: int = 0  # held late-direction values released without their direction (link loss)
    #: readings dropped as outside their quantity's range or options, per name
    implausible_by_name: dict[str, int] = field(default_factory=dict)

    @property
    def implausible(self) -> int:
        return sum(self.implausible_by_name.values())


@dataclass
class MeterState:
    profile: Profile
    options: MeterOptions = field(default_factory=MeterOptions)
    stats: MeterStats = field(default_factory=MeterStats)
    #: the last value as reported, before signing (magnitudes of signed power)
    reported: dict[str, Value] = field(default_factory=dict)
    values: dict[str, Value] = field(default_factory=dict)
    meter_id: str = ""  # for the log

    def __post_init__(self) -> None:
        self._by_name = self.profile.by_name()
        #: names stored by the last apply()/flush_held(), changed or not (what was read just now)
        self.fresh: set[str] = set()
        self._held: dict[str, list[Reading]] = {}
        self._pending_zero: set[str] = set()
        #: what each derived value is made of: it is worked out again only when one of those was set;
        #: the rules read off the profile once (name, its magnitude's direction quantity, the option
        #: that means export, inputs) and (name, parts, decimals, inputs)
        self._signed_rules: list[tuple[str, str, object, frozenset[str]]] = []
        for d in self.profile.dps:
            if not d.signed_by:
                continue
            direction = self._by_name[d.signed_by]
            inputs = frozenset((d.name, d.signed_by))
            self._signed_rules.append((d.name, direction.name, direction.reverse_option, inputs))
        self._sum_rules = [(c.name, tuple(c.sum), c.decimals, frozenset(c.sum)) for c in self.profile.computed]
        self._derived_from = frozenset().union(*(r[3] for r in self._signed_rules), *(r[3] for r in self._sum_rules))
        #: names set during this apply → their value before it (what tells a change from a rewrite)
        self._before: dict[str, object] = {}
        #: name → (range of a plain number, or None) for quantities that take a plausible reading as
        #: it comes (no options, no held direction, no lone-zero rule): most readings, checked in line
        self._plain: dict[str, tuple[float, float] | None] = {}
        for d in self.profile.dps:
            held = d.channel is not None and d.channel in self.options.late_direction
            if not (d.options or held or (d.lone_zero and self.options.suppress_lone_zeros)):
                self._plain[d.name] = d.range

    # -- public ------------------------------------------------------------

    def apply(self, readings: Iterable[Reading]) -> set[str]:
        """Apply readings in arrival order; return the names whose value changed."""
        self._before, self.fresh = before, fresh = {}, set()
        plain, values, reported = self._plain, self.values, self.reported
        n = 0
        for r in readings:
            n += 1
            name, value = r
            t = type(value)
            if (t is float or t is int) and name in plain:  # the common case, as _route would take it
                rng, num = plain[name], cast(float, value)
                if rng is None:
                    if t is float and not math.isfinite(num):
                        self._route(r)  # counted as implausible there
                        continue
                elif not rng[0] <= num <= rng[1]:  # NaN and infinities fail too (ranges are finite)
                    self._route(r)
                    continue
                reported[name] = value
                if name not in before:
                    before[name] = values.get(name, _MISSING)
                values[name] = value
                fresh.add(name)
            else:
                self._route(r)
        self.stats.readings += n
        return self._changes()

    @property
    def holding(self) -> bool:
        return any(self._held.values())

    def flush_held(self) -> set[str]:
        """Release values held for a late direction (at link loss: their direction will not come)."""
        self._before, self.fresh = {}, set()
        for ch in list(self._held):
            self.stats.held_released += len(self._held[ch])
            self._release(ch)
        return self._changes()

    def snapshot(self, include_private: bool = False) -> dict[str, Value]:
        if include_private:
            return dict(self.values)
        out: dict[str, Value] = {}
        for k, v in self.values.items():
            spec = self._by_name.get(k)
            if spec is None or not spec.private:
                out[k] = v
        return out

    # -- internals ---------------------------------------------------------

    def _implausible(self, name: str, value: object) -> None:
        n = self.stats.implausible_by_name[name] = self.stats.implausible_by_name.get(name, 0) + 1
        if worth_logging(n):
            log.warning("%s: implausible %s %r dropped (%d so far)", self.meter_id, name, value, n)

    def _route(self, r: Reading) -> None:
        name, value = r
        spec = self._by_name.get(name)
        if spec is None:
            self.stats.unknown += 1
            if isinstance(value, float) and not math.isfinite(value):
                self._implausible(name, value)  # kept as it came, but never NaN or infinity
                return
            self.reported[name] = value
            self._set(name, value)
            return
        if not spec.plausible(value):
            self._implausible(name, value)
            return
        ch = spec.channel
        if ch is not None and ch in self.options.late_direction:
            if spec.reverse_option is not None:
                self._store(spec, value)  # this direction belongs to the held values
                self._release(ch)
                return
            held = self._held.setdefault(ch, [])
            if any(h[0] == name for h in held):
                # A new cycle began without a direction DP: keep the last direction.
                self.stats.late_direction_missing += 1
                self._release(ch)
                held = self._held.setdefault(ch, [])
            held.append(r)
            return
        self._apply_one(spec, value)

    def _release(self, ch: str) -> None:
        for name, value in self._held.pop(ch, []):
            self._apply_one(self._by_name[name], value)

    def _apply_one(self, spec: DPSpec, value: Value) -> None:
        if spec.lone_zero and self.options.suppress_lone_zeros and _is_number(value):
            prev = self.reported.get(spec.name)
            if spec.name in self._pending_zero:
                self._pending_zero.discard(spec.name)
                if value != 0:
                    self.stats.lone_zeros_suppressed += 1
            elif value == 0 and prev not in (None, 0):
                self._pending_zero.add(spec.name)
                return
        self._store(spec, value)

    def _store(self, spec: DPSpec, value: Value) -> None:
        self.reported[spec.name] = value
        self._set(spec.name, value)
        self.fresh.add(spec.name)

    def _set(self, name: str, value: Value) -> None:
        if name not in self._before:
            self._before[name] = self.values.get(name, _MISSING)
        self.values[name] = value

    def _changes(self) -> set[str]:
        self._derive()
        values = self.values
        return {k for k, old in self._before.items() if values.get(k, _MISSING) != old}

    def _derive(self) -> None:
        """Signed values and sums, from what this apply set (the rest cannot have moved)."""
        touched = self._before
        if self._derived_from.isdisjoint(touched):
            return
        values = self.values
        for name, direction, reverse, inputs in self._signed_rules:
            if inputs.isdisjoint(touched):
                continue
            magnitude = self.reported.get(name)
            if not _is_number(magnitude):
                continue
            m = cast("int | float", magnitude)  # (not float: a compiled build would make an int a float)
            self._set(name, (-m if values.get(direction) == reverse else m) if m else m)
        for name, parts, decimals, inputs in self._sum_rules:
            if inputs.isdisjoint(touched):
                continue
            nums: list[float] = []
            for part in parts:
                p = values.get(part)
                if not _is_number(p):
                    break
                nums.append(float(cast("int | float", p)))
            else:
                self._set(name, round(sum(nums), decimals) + 0.0)  # no negative zero


def _is_number(v: object) -> bool:
    t = type(v)
    return t is float or t is int or (isinstance(v, (int, float)) and not isinstance(v, bool))


_MISSING = object()
