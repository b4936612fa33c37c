"""Load and validate profile YAML files; errors name the file and line.

Validation is the pydantic model's (:mod:`tuyameter.profiles.model`); this module
reads the YAML with line numbers, accepts the older flat ``dps:`` layout (each DP
with ``dp``/``type``/``scale`` and a raw ``range``) by moving it into the
quantity/binding shape, and turns the first validation error into ``file:line:
message``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tuyameter.profiles.model import Computed, Profile, ProfileCheckError, Quantity, TuyaMcuBinding, TuyaMcuSettings
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


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Profile
    children: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
        (Profile, "quantities"): Quantity,
        (Profile, "computed"): Computed,
        (Profile, "tuyamcu"): TuyaMcuSettings,
        (Quantity, "tuyamcu"): TuyaMcuBinding,
    }
    for part in loc:
        if isinstance(part, int):
            continue
        nxt = children.get((model, part))
        if nxt is None:
            return model if part == loc[-1] else None
        model = nxt
    return model


def _line(data: Any, loc: tuple[str | int, ...]) -> int | None:
    node, line = data, getattr(data, "line", None) or None
    for part in loc:
        if isinstance(node, LineDict) and isinstance(part, str) and part in node:
            line = node.line_of(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = getattr(node, "line", None) or line
        else:
            break
    return line


def _what(data: Any, loc: tuple[str | int, ...]) -> str:
    if len(loc) >= 2 and loc[0] in ("quantities", "computed") and isinstance(loc[1], int):
        items = data.get(loc[0]) if isinstance(data, LineDict) else None
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        name = item.get("name") if isinstance(item, LineDict) else None
        if isinstance(name, str):
            return f"{name}: "
        return f"{loc[0]}[{loc[1]}]: "
    return ""


def _message(err: Any, data: Any) -> tuple[tuple[str | int, ...], str]:
    loc = tuple(err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    exc = ctx.get("error")
    if isinstance(exc, ProfileCheckError):
        loc = loc + exc.loc
        return loc, f"{_what(data, loc) if len(loc) > 2 else ''}{exc}"
    key = next((p for p in reversed(loc) if isinstance(p, str)), "")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(sorted(model.model_fields)) if model else ""
        allowed = allowed.replace("source, ", "") if model is Profile else allowed
        return loc, f"{_what(data, loc)}unknown key {key!r} (allowed: {allowed})"
    if kind == "missing":
        return loc, f"{_what(data, loc)}missing {key!r}"
    if isinstance(exc, ValueError):
        return loc, f"{_what(data, loc)}{exc}"
    if kind == "string_pattern_mismatch" and key == "name":
        return loc, f"{_what(data, loc)}name {err.get('input')!r} must be lower_snake_case"
    return loc, f"{_what(data, loc)}{key}: {err['msg']} (got {err.get('input')!r})"


def parse_profile(data: Any, source: str) -> Profile:
    data = upgrade_layout(data)
    if not isinstance(data, dict):
        raise YamlFileError(source, None, "a profile must be a mapping with a name and quantities")
    if "source" in data:
        raise YamlFileError(source, _line(data, ("source",)), "unknown key 'source'")
    try:
        return Profile.model_validate({**data, "source": source})
    except ValidationError as e:
        loc, msg = _message(e.errors()[0], data)
        raise YamlFileError(source, _line(data, loc), msg) from None


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
