"""Profile data model: what each DP of a layout means."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.dp import DPValue

Number = int | float
Value = bool | int | float | str


@dataclass(frozen=True)
class DPSpec:
    dp: int
    name: str
    type: DPType
    scale: float = 1.0
    unit: str | None = None
    label: str | None = None
    access: str = "ro"  # ro | rw | wo
    range: tuple[int, int] | None = None  # raw units
    step: int = 1
    options: dict[int, str] = field(default_factory=dict)  # enum raw → text
    channel: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    entity_category: str | None = None
    ha: str | None = None  # sensor | number | button | binary_sensor | select | none
    icon: str | None = None
    private: bool = False
    diagnostic: bool = False
    lone_zero: bool = False
    reverse_option: str | None = None  # enum direction: the option that means export
    signed_by: str | None = None  # power magnitude: name of its direction DP
    resets: tuple[str, ...] = ()  # button: names it resets
    counter: str | None = None  # energy counter: "forward" (import) or "reverse" (export)

    @property
    def writable(self) -> bool:
        return self.access in ("rw", "wo")

    @property
    def decimals(self) -> int:
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
        raw = round(raw_f)
        if abs(raw_f - raw) > 1e-6:
            raise ValueError(f"{self.name}: {value} is not a multiple of {self.scale}")
        self.check_raw(raw)
        return raw

    def check_raw(self, raw: int) -> None:
        if self.range is not None:
            lo, hi = self.range
            if not lo <= raw <= hi:
                lo_v, hi_v = self.to_value(lo), self.to_value(hi)
                unit = f" {self.unit}" if self.unit else ""
                raise ValueError(f"{self.name}: {self.to_value(raw)}{unit} is outside {lo_v}..{hi_v}{unit}")
        if self.type is DPType.ENUM and self.options and raw not in self.options:
            raise ValueError(f"{self.name}: {raw} is not one of {sorted(self.options)}")


@dataclass(frozen=True)
class Computed:
    """A value computed from others (e.g. total power = signed A + signed B)."""

    name: str
    sum: tuple[str, ...]
    unit: str | None = None
    label: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    decimals: int = 1


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    source: str
    dps: tuple[DPSpec, ...]
    computed: tuple[Computed, ...] = ()
    manufacturer: str = "Tuya"
    model: str = ""
    product_ids: tuple[str, ...] = ()
    baud: int = 9600
    wifi_state: int = 4
    channels: tuple[str, ...] = ()
    report_rate: str | None = None  # name of the report-rate DP

    def __post_init__(self) -> None:
        # Lookups are used per DP record (monitor, decode, MQTT commands): build them once.
        object.__setattr__(self, "_by_dp", MappingProxyType({d.dp: d for d in self.dps}))
        object.__setattr__(self, "_by_name", MappingProxyType({d.name: d for d in self.dps}))

    def by_dp(self) -> Mapping[int, DPSpec]:
        return self._by_dp  # type: ignore[attr-defined,no-any-return]

    def by_name(self) -> Mapping[str, DPSpec]:
        return self._by_name  # type: ignore[attr-defined,no-any-return]

    def spec(self, name: str) -> DPSpec:
        try:
            return self.by_name()[name]
        except KeyError:
            raise KeyError(f"profile {self.name} has no DP named {name!r}") from None
