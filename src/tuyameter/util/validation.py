"""Pydantic validation errors → one clear ``file:line: message`` for YAML files."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from tuyameter.util.yamlfile import LineDict, YamlFileError

Loc = tuple[str | int, ...]


class LocatedError(ValueError):
    """Raised by a model's own checks; ``loc`` (relative to that model) points at the key at fault."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that holds the key at ``loc``'s end."""
    model = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        sub = _submodel(field.annotation) if field is not None else None
        if sub is None:
            return None
        model = sub
    return model


def line_of(data: Any, loc: Loc) -> int | None:
    """The line of the deepest key of ``loc`` found in the YAML data."""
    node, line = data, getattr(data, "line", None) or None
    for part in loc:
        if isinstance(node, LineDict) and isinstance(part, str) and part in node:
            line = node.line_of(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = getattr(node, "line", None) or line
        else:
            if isinstance(node, LineDict) and node.line:
                line = node.line  # a key that is missing: the mapping that lacks it
            break
    return line


def describe(
    e: ValidationError,
    data: Any,
    root: type[BaseModel],
    what: Callable[[Loc], str] = lambda loc: "",
    hidden: tuple[str, ...] = (),
) -> tuple[Loc, str]:
    """The first error's location and a message in the project's words."""
    errors = e.errors()
    # An unknown key is the likeliest cause (a typo) of the other errors it comes with.
    err = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc: Loc = tuple(err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    exc = ctx.get("error")
    if isinstance(exc, LocatedError):
        loc = loc + exc.loc
        return loc, f"{what(loc) if len(exc.loc) < len(loc) else ''}{exc}"
    key = next((p for p in reversed(loc) if isinstance(p, str)), "")
    prefix = what(loc)
    if kind == "extra_forbidden":
        model = model_at(root, loc)
        allowed = ", ".join(k for k in sorted(model.model_fields) if k not in hidden) if model else ""
        return loc, f"{prefix}unknown key {key!r} (allowed: {allowed})"
    if kind == "missing":
        return loc, f"{prefix}missing {key!r}"
    if isinstance(exc, ValueError):
        return loc, f"{prefix}{exc}"
    if kind == "string_pattern_mismatch" and key in ("name", "id"):
        return loc, f"{prefix}{key} {err.get('input')!r} has characters that are not allowed"
    return loc, f"{prefix}{key}: {err['msg']} (got {err.get('input')!r})"


def validate_yaml(
    model: type[BaseModel],
    data: Any,
    source: str,
    what: Callable[[Loc], str] = lambda loc: "",
    extra: dict[str, Any] | None = None,
) -> Any:
    """``model.model_validate(data | extra)``, with a YamlFileError naming file and line on failure.

    ``extra``: fields the program sets (not the file); they are not offered as allowed keys.
    """
    if not isinstance(data, dict):
        raise YamlFileError(source, None, f"expected a mapping at the top of the file, got {type(data).__name__}")
    extra = extra or {}
    try:
        return model.model_validate({**data, **extra})
    except ValidationError as e:
        loc, msg = describe(e, data, model, what, hidden=tuple(extra))
        raise YamlFileError(source, line_of(data, loc), msg) from None
