"""Writes to a device: validated against the profile before any source sees them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tuyameter.profiles.model import DPSpec, Profile, Value


class WriteRefused(ValueError):
    """A write that the profile does not allow (read-only, out of range, unknown)."""


@dataclass(frozen=True)
class WriteOutcome:
    """What the device answered to a write (a refused write raises :class:`WriteRefused`)."""

    name: str
    value: Value
    ok: bool
    error: str | None = None
    attempts: int = 0
    #: what the device reported back, by name, in the profile's units
    echoed: dict[str, Value] = field(default_factory=dict)


def validate_write(profile: Profile, name: str, value: Value) -> tuple[DPSpec, int]:
    """The quantity and its raw value for writing ``value`` to ``name``, or :class:`WriteRefused`."""
    spec = profile.by_name().get(name)
    if spec is None:
        writable = ", ".join(d.name for d in profile.quantities if d.writable) or "none"
        raise WriteRefused(f"{profile.name} has no quantity named {name!r}; writable: {writable}")
    if not spec.writable:
        raise WriteRefused(f"{name} is read-only")
    if isinstance(value, float) and not math.isfinite(value):
        raise WriteRefused(f"{name}: {value} is not a number")
    try:
        raw = spec.to_raw(value)
    except (ValueError, OverflowError) as e:
        raise WriteRefused(str(e)) from None
    return spec, raw
