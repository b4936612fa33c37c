"""Profile data model: the quantities a device measures, and how each source reaches them.

A profile is a list of *quantities* (name, unit, Home Assistant classes, channel,
counter kind, privacy, range in the quantity's own unit, …), each with a
*binding* per source that can read it: ``tuyamcu: {dp, type, scale}`` (which the Tuya
LAN source shares: its DPs are the MCU's) and ``hlw8112: {value}`` for a chip read
directly. The pydantic models below are the one place where the fields are defined:
loading, validation and writing a profile back to YAML all come from them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    StrictInt,
    field_validator,
    model_validator,
)

from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.dp import DPValue
from tuyameter.util.limits import Baud
from tuyameter.util.validation import LocatedError

Number = int | float
Value = bool | int | float | str

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
HA_KINDS = ("sensor", "number", "button", "binary_sensor", "select", "none")


def _dp_type(v: object) -> object:
    if isinstance(v, str):
        try:
            return DPType[v.upper()]
        except KeyError:
            names = ", ".join(t.name.lower() for t in DPType)
            raise ValueError(f"type {v!r} is not one of {names}") from None
    if isinstance(v, bool):
        raise ValueError("type must be a name such as value or enum")
    return v


DPTypeName = Annotated[DPType, BeforeValidator(_dp_type), PlainSerializer(lambda t: t.name.lower(), return_type=str)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    def to_data(self) -> dict[str, Any]:
        """YAML-ready data (defaults left out); validating it again gives the same model."""
        out = _plain(self.model_dump(exclude_defaults=True))
        assert isinstance(out, dict)
        return out


class TuyaMcuBinding(_Model):
    """Where a quantity lives on the TuyaMCU link: DP id, DP type, raw × scale = value."""

    dp: StrictInt
    type: DPTypeName
    scale: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False)

    @field_validator("dp")
    @classmethod
    def _dp_range(cls, v: int) -> int:
        if not 0 <= v <= 255:
            raise ValueError(f"dp {v} is outside 0..255")
        return v


class Hlw8112Binding(_Model):
    """Which of an HLW8112's measurements a quantity is."""

    value: Literal[
        "voltage", "current_a", "current_b", "power_a", "power_b", "apparent_power_a", "power_factor_a",
        "frequency", "energy_forward_a", "energy_reverse_a", "energy_forward_b", "energy_reverse_b",
        "energy_forward_total", "energy_reverse_total",
    ]  # fmt: skip


PgaGain = Literal[1, 2, 4, 8, 16]


class Hlw8112Settings(_Model):
    """The board around an HLW8112 (shared/reference/hlw8112.md, "Conversions"): its current sensors
    against a 1 mΩ shunt (a current transformer: burden Ω ÷ turns ÷ 0.001), its voltage divider
    against 1 kΩ / 1 MΩ, the PGA gains to configure, and whether channel B reads a current transformer."""

    k1_a: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False)
    k1_b: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False)
    k2: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False)
    pga_a: PgaGain = 16
    pga_b: PgaGain = 16
    pga_u: PgaGain = 1
    ct_b: bool = True
    hfconst: int | None = Field(None, ge=1, le=0xFFFF)
    #: the chip's active power gain per channel (PAGain / PBGain: P × (1 + gain / 32768)), from calibration
    pa_gain: int = Field(0, ge=-32768, le=32767)
    pb_gain: int = Field(0, ge=-32768, le=32767)
    #: the apparent power's gain (PSGain), the phase corrections in steps of 1.12 µs (PhaseA / PhaseB),
    #: the active power offsets (PAOS / PBOS) and the current RMS offsets (RmsIAOS / RmsIBOS), in
    #: register counts: all from ``tuyameter calibrate`` (datasheet §11)
    ps_gain: int = Field(0, ge=-32768, le=32767)
    phase_a: int = Field(0, ge=-128, le=127)
    phase_b: int = Field(0, ge=-128, le=127)
    pa_os: int = Field(0, ge=-32768, le=32767)
    pb_os: int = Field(0, ge=-32768, le=32767)
    rms_ia_os: int = Field(0, ge=-32768, le=32767)
    rms_ib_os: int = Field(0, ge=-32768, le=32767)
    #: seconds between reads of the measurements
    poll: float = Field(1.0, ge=0.2, le=3600, allow_inf_nan=False)


class Quantity(_Model):
    name: Name
    tuyamcu: TuyaMcuBinding | None = None
    hlw8112: Hlw8112Binding | None = None
    unit: str | None = None
    label: str | None = None
    access: Literal["ro", "rw", "wo"] = "ro"
    #: in the quantity's unit: for a setting what the device accepts, for a measurement
    #: what it can plausibly read (readings outside are dropped and counted)
    range: tuple[float, float] | None = None
    step: int = Field(1, ge=1)  # in raw units of the binding
    options: dict[int, str] = Field(default_factory=dict)  # enum: raw code → text
    channel: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    entity_category: str | None = None
    ha: Literal["sensor", "number", "button", "binary_sensor", "select", "none"] | None = None
    icon: str | None = None
    private: bool = False
    diagnostic: bool = False
    lone_zero: bool = False
    reverse_option: str | None = None  # enum direction: the option that means export
    signed_by: str | None = None  # power magnitude: name of its direction quantity
    resets: tuple[str, ...] = ()  # button: names it resets
    counter: Literal["forward", "reverse"] | None = None  # energy counter: import or export

    @model_validator(mode="after")
    def _check(self) -> Quantity:
        if self.range is not None and not self.range[0] <= self.range[1]:
            raise LocatedError(("range",), "range must be [min, max] with min <= max")
        if self.range is not None and not all(math.isfinite(x) for x in self.range):
            raise LocatedError(("range",), "range must be finite numbers")
        if self.reverse_option is not None and self.reverse_option not in self.options.values():
            raise LocatedError(("reverse_option",), f"reverse_option {self.reverse_option!r} is not an option")
        return self

    # -- classes of quantity (found by class, not by name) ----------------------

    @property
    def is_power(self) -> bool:
        return self.device_class == "power" and not self.diagnostic

    @property
    def is_energy(self) -> bool:
        return self.counter is not None

    # -- the TuyaMCU binding ----------------------------------------------------

    @property
    def binding(self) -> TuyaMcuBinding:
        if self.tuyamcu is None:
            raise KeyError(f"{self.name} has no TuyaMCU binding")
        return self.tuyamcu

    @property
    def dp(self) -> int:
        return self.binding.dp

    @property
    def type(self) -> DPType:
        """The DP type; a quantity no TuyaMCU DP carries (an HLW8112 measurement) is a number: VALUE."""
        return self.tuyamcu.type if self.tuyamcu is not None else DPType.VALUE

    @property
    def scale(self) -> float:
        return self.tuyamcu.scale if self.tuyamcu is not None else 1.0

    @property
    def raw_range(self) -> tuple[int, int] | None:
        if self.range is None:
            return None
        return round(self.range[0] / self.scale), round(self.range[1] / self.scale)

    @property
    def writable(self) -> bool:
        return self.access in ("rw", "wo")

    @property
    def decimals(self) -> int:
        if self.tuyamcu is None:
            return 2  # a chip's measurement, converted and rounded by its source
        s = f"{self.scale:.10f}".rstrip("0")
        return len(s.split(".")[1]) if "." in s else 0

    def to_value(self, raw: DPValue) -> Value:
        """Raw DP value → typed, scaled value."""
        if isinstance(raw, bytes):
            return raw.hex()
        if isinstance(raw, bool) or self.type is DPType.BOOL:
            return bool(raw)
        if isinstance(raw, str):
            return raw
        if self.type is DPType.ENUM and self.options:
            return self.options.get(raw, str(raw))
        if self.scale == 1:
            return raw
        return round(raw * self.scale, self.decimals)

    def to_raw(self, value: Value) -> int:
        """Scaled value (or enum text) → raw integer, validated against range and options."""
        if self.type is DPType.ENUM and isinstance(value, str):
            for k, v in self.options.items():
                if v == value:
                    return k
            raise ValueError(f"{self.name}: {value!r} is not one of {sorted(self.options.values())}")
        if isinstance(value, str):
            raise ValueError(f"{self.name}: expected a number, got {value!r}")
        if self.type is DPType.BOOL:
            return int(bool(value))
        raw_f = float(value) / self.scale
        if not math.isfinite(raw_f) or abs(raw_f) >= 2**63:
            raise ValueError(f"{self.name}: {value} is outside {self._range_text()}")
        raw = round(raw_f)
        if abs(raw_f - raw) > 1e-6:
            raise ValueError(f"{self.name}: {value} is not a multiple of {self.scale}")
        self.check_raw(raw)
        return raw

    def _range_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        rr = self.raw_range
        if rr is None:
            return "what the device can take"
        return f"{self.to_value(rr[0])}..{self.to_value(rr[1])}{unit}"

    def plausible(self, value: Value) -> bool:
        """Whether a reading can be real: a number within ``range``, an enum text among ``options``."""
        if isinstance(value, bool):
            return True
        if self.options:
            return isinstance(value, str) and value in self.options.values()
        if isinstance(value, int | float):
            if not math.isfinite(value):
                return False
            return self.range is None or self.range[0] <= value <= self.range[1]
        return True

    def check_raw(self, raw: int) -> None:
        rr = self.raw_range
        if rr is not None and not rr[0] <= raw <= rr[1]:
            unit = f" {self.unit}" if self.unit else ""
            raise ValueError(f"{self.name}: {self.to_value(raw)}{unit} is outside {self._range_text()}")
        if self.type is DPType.ENUM and self.options and raw not in self.options:
            raise ValueError(f"{self.name}: {raw} is not one of {sorted(self.options)}")


#: The name the TuyaMCU-side code knows a quantity by.
DPSpec = Quantity


class Computed(_Model):
    """A value computed from others (e.g. total power = signed A + signed B)."""

    name: Name
    sum: tuple[str, ...]
    unit: str | None = None
    label: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    decimals: int = Field(1, ge=0, le=9)


class TuyaMcuSettings(_Model):
    baud: Baud = 9600
    wifi_state: int = Field(4, ge=0, le=5)


class Profile(_Model):
    name: Name
    description: str = ""
    manufacturer: str = "Tuya"
    model: str = ""
    product_ids: tuple[str, ...] = ()
    tuyamcu: TuyaMcuSettings = TuyaMcuSettings()
    #: for meters read straight from an HLW8112 chip: the board (None: the profile has no such meters)
    hlw8112: Hlw8112Settings | None = None
    channels: tuple[str, ...] = ()
    report_rate: str | None = None  # name of the report-rate quantity
    #: the quantity each report cycle ends with: a burst is complete when it arrives, without
    #: waiting for the line to go quiet (the quiet time stays the fallback when it does not come)
    report_ends_with: str | None = None
    quantities: tuple[Quantity, ...]
    computed: tuple[Computed, ...] = ()
    source: str = Field("", exclude=True)
    _dps: tuple[Quantity, ...] = PrivateAttr(())
    _by_dp: Mapping[int, Quantity] = PrivateAttr(default_factory=dict)
    _by_name: Mapping[str, Quantity] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _cross_check(self) -> Profile:
        names: dict[str, int] = {}
        dps: dict[int, int] = {}
        for i, q in enumerate(self.quantities):
            if q.name in names:
                raise LocatedError(("quantities", i, "name"), f"name {q.name!r} is used twice")
            names[q.name] = i
            if q.tuyamcu is not None:
                if q.tuyamcu.dp in dps:
                    raise LocatedError(("quantities", i, "tuyamcu", "dp"), f"dp {q.tuyamcu.dp} is defined twice")
                dps[q.tuyamcu.dp] = i
        chip: dict[str, int] = {}
        for i, q in enumerate(self.quantities):
            if q.hlw8112 is not None:
                if q.hlw8112.value in chip:
                    raise LocatedError(("quantities", i, "hlw8112", "value"), f"{q.hlw8112.value} is bound twice")
                chip[q.hlw8112.value] = i
        by = {q.name: q for q in self.quantities}
        for i, q in enumerate(self.quantities):
            if q.signed_by is not None:
                d = by.get(q.signed_by)
                if d is None or d.reverse_option is None:
                    raise LocatedError(
                        ("quantities", i, "signed_by"),
                        f"{q.name}: signed_by {q.signed_by!r} must name a direction quantity with reverse_option",
                    )
            for r in q.resets:
                if r not in by:
                    raise LocatedError(("quantities", i, "resets"), f"{q.name}: resets names unknown {r!r}")
        for i, c in enumerate(self.computed):
            if c.name in by:
                raise LocatedError(("computed", i, "name"), f"computed name {c.name!r} clashes with a quantity")
            for p in c.sum:
                if p not in by:
                    raise LocatedError(("computed", i, "sum"), f"{c.name}: sum names unknown {p!r}")
        if self.report_rate is not None and self.report_rate not in by:
            raise LocatedError(("report_rate",), f"report_rate names unknown {self.report_rate!r}")
        end = self.report_ends_with
        if end is not None and (end not in by or by[end].tuyamcu is None):
            raise LocatedError(("report_ends_with",), f"report_ends_with must name a quantity with a DP, not {end!r}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        # Lookups are used per reading (monitor, decode, MQTT commands): build them once.
        self._dps = tuple(q for q in self.quantities if q.tuyamcu is not None)
        self._by_dp = MappingProxyType({q.dp: q for q in self._dps})
        self._by_name = MappingProxyType({q.name: q for q in self.quantities})

    @property
    def dps(self) -> tuple[Quantity, ...]:
        """The quantities with a TuyaMCU binding."""
        return self._dps

    @property
    def baud(self) -> int:
        return self.tuyamcu.baud

    @property
    def wifi_state(self) -> int:
        return self.tuyamcu.wifi_state

    def by_dp(self) -> Mapping[int, Quantity]:
        return self._by_dp

    def by_name(self) -> Mapping[str, Quantity]:
        return self._by_name

    def spec(self, name: str) -> Quantity:
        try:
            return self.by_name()[name]
        except KeyError:
            raise KeyError(f"profile {self.name} has no quantity named {name!r}") from None

    def power_names(self) -> list[str]:
        """Signed power values: the power quantities and the computed sums of class power."""
        return [q.name for q in self.quantities if q.is_power] + [
            c.name for c in self.computed if c.device_class == "power"
        ]


def _plain(v: Any) -> Any:
    """Tuples → lists, whole floats → ints: what YAML shows plainly."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v
