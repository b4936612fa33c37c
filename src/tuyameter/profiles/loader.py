"""Load and validate profile YAML files; errors name the file and line."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from tuyameter.profiles.model import Computed, DPSpec, Profile
from tuyameter.tuyamcu.constants import DPType
from tuyameter.util.yamlfile import LineDict, YamlFileError, load_yaml_file, load_yaml_text

ProfileError = YamlFileError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TYPES = {t.name.lower(): t for t in DPType}
_DP_KEYS = {
    "dp", "name", "type", "scale", "unit", "label", "access", "range", "step", "options", "channel",
    "device_class", "state_class", "entity_category", "ha", "icon", "private", "diagnostic",
    "lone_zero", "reverse_option", "signed_by", "resets", "counter",
}  # fmt: skip
_TOP_KEYS = {
    "name", "description", "manufacturer", "model", "product_ids", "tuyamcu", "channels", "dps",
    "computed", "report_rate",
}  # fmt: skip
_COMPUTED_KEYS = {"name", "sum", "unit", "label", "device_class", "state_class", "decimals"}
_HA_KINDS = {"sensor", "number", "button", "binary_sensor", "select", "none"}


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: LineDict | None, key: str | None, msg: str) -> YamlFileError:
        line = None
        if where is not None:
            line = where.line_of(key) if key else where.line
        return YamlFileError(self.source, line, msg)

    def mapping(self, obj: Any, parent: LineDict | None, key: str | None, what: str) -> LineDict:
        if not isinstance(obj, LineDict):
            raise self.fail(parent, key, f"{what} must be a mapping")
        return obj

    def unknown(self, m: LineDict, allowed: set[str], what: str) -> None:
        for k in m:
            if k not in allowed:
                raise self.fail(m, k, f"unknown key {k!r} in {what} (allowed: {', '.join(sorted(allowed))})")

    def get(self, m: LineDict, key: str, kinds: type | tuple[type, ...], what: str, default: Any = None) -> Any:
        if key not in m:
            return default
        v = m[key]
        if isinstance(v, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
            raise self.fail(m, key, f"{what}: {key} must be {_kind_names(kinds)}, not a boolean")
        if not isinstance(v, kinds):
            raise self.fail(m, key, f"{what}: {key} must be {_kind_names(kinds)}, got {v!r}")
        return v

    def require(self, m: LineDict, key: str, kinds: type | tuple[type, ...], what: str) -> Any:
        if key not in m:
            raise self.fail(m, None, f"{what}: missing {key!r}")
        return self.get(m, key, kinds, what)


def _kind_names(kinds: type | tuple[type, ...]) -> str:
    ks = kinds if isinstance(kinds, tuple) else (kinds,)
    names = {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in ks)


def _parse_dp(c: _Ctx, m: LineDict, index: int) -> DPSpec:
    what = f"dps[{index}]"
    c.unknown(m, _DP_KEYS, what)
    dp = c.require(m, "dp", int, what)
    if not 0 <= dp <= 255:
        raise c.fail(m, "dp", f"{what}: dp {dp} is outside 0..255")
    name = c.require(m, "name", str, what)
    if not _NAME.match(name):
        raise c.fail(m, "name", f"dp {dp}: name {name!r} must be lower_snake_case")
    what = f"dp {dp} ({name})"
    tname = c.require(m, "type", str, what)
    if tname not in _TYPES:
        raise c.fail(m, "type", f"{what}: type {tname!r} is not one of {', '.join(_TYPES)}")
    scale = c.get(m, "scale", (int, float), what, 1)
    if scale <= 0:
        raise c.fail(m, "scale", f"{what}: scale must be positive")
    access = c.get(m, "access", str, what, "ro")
    if access not in ("ro", "rw", "wo"):
        raise c.fail(m, "access", f"{what}: access must be ro, rw or wo")
    rng = c.get(m, "range", list, what)
    ints = rng is not None and len(rng) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in rng)
    if rng is not None and (not ints or rng[0] > rng[1]):
        raise c.fail(m, "range", f"{what}: range must be [min, max] in raw integers, min <= max")
    options_raw = c.get(m, "options", LineDict, what, None)
    options: dict[int, str] = {}
    if options_raw is not None:
        for k, v in options_raw.items():
            try:
                options[int(k)] = str(v)
            except ValueError:
                raise c.fail(options_raw, k, f"{what}: option key {k!r} must be an integer") from None
    ha = c.get(m, "ha", str, what)
    if ha is not None and ha not in _HA_KINDS:
        raise c.fail(m, "ha", f"{what}: ha must be one of {', '.join(sorted(_HA_KINDS))}")
    reverse_option = c.get(m, "reverse_option", str, what)
    if reverse_option is not None and reverse_option not in options.values():
        raise c.fail(m, "reverse_option", f"{what}: reverse_option {reverse_option!r} is not among its options")
    resets = c.get(m, "resets", list, what, [])
    counter = c.get(m, "counter", str, what)
    if counter is not None and counter not in ("forward", "reverse"):
        raise c.fail(m, "counter", f"{what}: counter must be forward or reverse")
    return DPSpec(
        dp=dp,
        name=name,
        type=_TYPES[tname],
        scale=float(scale),
        unit=c.get(m, "unit", str, what),
        label=c.get(m, "label", str, what),
        access=access,
        range=(rng[0], rng[1]) if rng else None,
        step=c.get(m, "step", int, what, 1),
        options=options,
        channel=c.get(m, "channel", str, what),
        device_class=c.get(m, "device_class", str, what),
        state_class=c.get(m, "state_class", str, what),
        entity_category=c.get(m, "entity_category", str, what),
        ha=ha,
        icon=c.get(m, "icon", str, what),
        private=c.get(m, "private", bool, what, False),
        diagnostic=c.get(m, "diagnostic", bool, what, False),
        lone_zero=c.get(m, "lone_zero", bool, what, False),
        reverse_option=reverse_option,
        signed_by=c.get(m, "signed_by", str, what),
        resets=tuple(str(x) for x in resets),
        counter=counter,
    )


def parse_profile(data: Any, source: str) -> Profile:
    c = _Ctx(source)
    top = c.mapping(data, None, None, "a profile")
    c.unknown(top, _TOP_KEYS, "profile")
    name = c.require(top, "name", str, "profile")
    if not _NAME.match(name):
        raise c.fail(top, "name", f"profile name {name!r} must be lower_snake_case")
    dps_raw = c.require(top, "dps", list, "profile")
    dps: list[DPSpec] = []
    seen_dp: dict[int, int] = {}
    seen_name: set[str] = set()
    for i, item in enumerate(dps_raw):
        m = c.mapping(item, top, "dps", f"dps[{i}]")
        spec = _parse_dp(c, m, i)
        if spec.dp in seen_dp:
            raise c.fail(m, "dp", f"dp {spec.dp} is defined twice")
        if spec.name in seen_name:
            raise c.fail(m, "name", f"name {spec.name!r} is used twice")
        seen_dp[spec.dp] = i
        seen_name.add(spec.name)
        dps.append(spec)
    names = {d.name: d for d in dps}
    for item, spec in zip(dps_raw, dps, strict=True):
        if spec.signed_by is not None:
            d = names.get(spec.signed_by)
            if d is None or d.reverse_option is None:
                raise c.fail(
                    item,
                    "signed_by",
                    f"{spec.name}: signed_by {spec.signed_by!r} must name a direction DP with reverse_option",
                )
        for r in spec.resets:
            if r not in names:
                raise c.fail(item, "resets", f"{spec.name}: resets names unknown DP {r!r}")
    computed: list[Computed] = []
    for i, item in enumerate(c.get(top, "computed", list, "profile", [])):
        m = c.mapping(item, top, "computed", f"computed[{i}]")
        c.unknown(m, _COMPUTED_KEYS, f"computed[{i}]")
        cname = c.require(m, "name", str, f"computed[{i}]")
        if cname in names:
            raise c.fail(m, "name", f"computed name {cname!r} clashes with a DP name")
        parts = c.require(m, "sum", list, cname)
        for p in parts:
            if p not in names:
                raise c.fail(m, "sum", f"{cname}: sum names unknown DP {p!r}")
        computed.append(
            Computed(
                name=cname,
                sum=tuple(parts),
                unit=c.get(m, "unit", str, cname),
                label=c.get(m, "label", str, cname),
                device_class=c.get(m, "device_class", str, cname),
                state_class=c.get(m, "state_class", str, cname),
                decimals=c.get(m, "decimals", int, cname, 1),
            )
        )
    tm = c.mapping(top.get("tuyamcu", LineDict()), top, "tuyamcu", "tuyamcu")
    c.unknown(tm, {"baud", "wifi_state"}, "tuyamcu")
    report_rate = c.get(top, "report_rate", str, "profile")
    if report_rate is not None and report_rate not in names:
        raise c.fail(top, "report_rate", f"report_rate names unknown DP {report_rate!r}")
    return Profile(
        name=name,
        description=c.get(top, "description", str, "profile", ""),
        source=source,
        dps=tuple(dps),
        computed=tuple(computed),
        manufacturer=c.get(top, "manufacturer", str, "profile", "Tuya"),
        model=c.get(top, "model", str, "profile", ""),
        product_ids=tuple(str(x) for x in c.get(top, "product_ids", list, "profile", [])),
        baud=c.get(tm, "baud", int, "tuyamcu", 9600),
        wifi_state=c.get(tm, "wifi_state", int, "tuyamcu", 4),
        channels=tuple(str(x) for x in c.get(top, "channels", list, "profile", [])),
        report_rate=report_rate,
    )


def load_profile_text(text: str, source: str) -> Profile:
    return parse_profile(load_yaml_text(text, source), source)


def load_profile(path: str | Path) -> Profile:
    p = Path(path)
    return parse_profile(load_yaml_file(p), str(p))


def profile_dirs(extra: Iterable[str | Path] = ()) -> list[Path]:
    """User directories first (they may override shipped profiles), then the shipped ones."""
    dirs = [Path(d).expanduser() for d in extra]
    env = os.environ.get("TUYAMETER_PROFILE_PATH")
    if env:
        dirs += [Path(d).expanduser() for d in env.split(os.pathsep) if d]
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    dirs.append(Path(xdg) / "tuyameter" / "profiles")
    dirs.append(Path(str(resources.files("tuyameter.profiles") / "data")))
    return dirs


def list_profiles(extra: Iterable[str | Path] = ()) -> dict[str, Path]:
    """Profile name → file, earlier directories winning."""
    found: dict[str, Path] = {}
    for d in profile_dirs(extra):
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.yaml")):
            found.setdefault(f.stem, f)
    return found


def find_profile(name_or_path: str, extra: Iterable[str | Path] = ()) -> Profile:
    """A profile by name (searched in the profile directories) or by file path."""
    p = Path(name_or_path).expanduser()
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        return load_profile(p)
    avail = list_profiles(extra)
    if name_or_path not in avail:
        raise ProfileError(name_or_path, None, f"no such profile; known: {', '.join(sorted(avail)) or 'none'}")
    return load_profile(avail[name_or_path])


def all_profiles(extra: Iterable[str | Path] = ()) -> list[Profile]:
    return [load_profile(p) for p in list_profiles(extra).values()]
