"""Load and validate profile YAML files; errors name the file and line.

Validation is the pydantic model's (:mod:`tuyameter.profiles.model`); this module
reads the YAML with line numbers, accepts the older flat ``dps:`` layout (each DP
with ``dp``/``type``/``scale`` and a raw ``range``) by moving it into the
quantity/binding shape, and turns the first validation error into ``file:line:
message``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from tuyameter.profiles.model import Profile
from tuyameter.util.validation import Loc, line_of, validate_yaml
from tuyameter.util.yamlfile import LineDict, YamlFileError, load_yaml_file, load_yaml_text

ProfileError = YamlFileError
_BINDING_KEYS = ("dp", "type", "scale")


def _moved(src: LineDict, keys: Iterable[str], extra: dict[str, Any] | None = None) -> LineDict:
    """A LineDict holding ``keys`` of ``src`` (and ``extra``), keeping their lines."""
    out = LineDict()
    out.line = src.line
    out.key_lines = {}
    for k in keys:
        if k in src:
            out[k] = src[k]
            out.key_lines[k] = src.line_of(k)
    for k, v in (extra or {}).items():
        out[k] = v
        out.key_lines[k] = src.line
    return out


def _scaled_range(rng: Any, scale: Any) -> Any:
    ok = isinstance(rng, list) and len(rng) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in rng)
    if not ok or not isinstance(scale, int | float) or isinstance(scale, bool) or scale <= 0 or scale == 1:
        return rng
    decimals = max(0, len(f"{float(scale):.10f}".rstrip("0").split(".")[1]))
    return [round(x * scale, decimals) for x in rng]


def upgrade_layout(data: Any) -> Any:
    """The older flat ``dps:`` layout → ``quantities:`` with a ``tuyamcu`` binding each."""
    if not isinstance(data, LineDict) or "dps" not in data or "quantities" in data:
        return data
    dps = data["dps"]
    quantities: Any = dps
    if isinstance(dps, list):
        quantities = []
        for m in dps:
            if not isinstance(m, LineDict):
                quantities.append(m)
                continue
            q = _moved(m, [k for k in m if k not in _BINDING_KEYS])
            if "range" in q:
                q["range"] = _scaled_range(q["range"], m.get("scale", 1))
            if any(k in m for k in _BINDING_KEYS):
                q["tuyamcu"] = _moved(m, _BINDING_KEYS)
                q.key_lines["tuyamcu"] = m.line_of("dp")
            quantities.append(q)
    top = _moved(data, [k for k in data if k != "dps"])
    top["quantities"] = quantities
    top.key_lines["quantities"] = data.line_of("dps")
    return top


def _what(data: Any) -> Callable[[Loc], str]:
    """Errors inside a quantity or a computed value start with its name."""

    def what(loc: Loc) -> str:
        if len(loc) >= 2 and loc[0] in ("quantities", "computed") and isinstance(loc[1], int):
            items = data.get(loc[0]) if isinstance(data, LineDict) else None
            item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
            name = item.get("name") if isinstance(item, LineDict) else None
            return f"{name}: " if isinstance(name, str) else f"{loc[0]}[{loc[1]}]: "
        return ""

    return what


def parse_profile(data: Any, source: str) -> Profile:
    data = upgrade_layout(data)
    if not isinstance(data, dict):
        raise YamlFileError(source, None, "a profile must be a mapping with a name and quantities")
    if "source" in data:
        raise YamlFileError(source, line_of(data, ("source",)), "unknown key 'source'")
    profile: Profile = validate_yaml(Profile, data, source, _what(data), {"source": source})
    return profile


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
