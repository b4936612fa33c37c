"""JSON from outside (a device, a dump, a script) with limits on size and nesting.

:func:`loads` raises :class:`JsonLimitError` (a ``ValueError``) for text that is too
long or nested too deeply, before the parser sees it: Python's parser recurses per
level and a few thousand ``[`` end in ``RecursionError``, which is not a ValueError.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
MAX_CHARS = 64 * 1024

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_BRACKETS = re.compile(r"[^\[\]{}]+")


class JsonLimitError(ValueError):
    """JSON text over the size or depth limit."""


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of ``text``, outside string literals (linear time)."""
    depth = deepest = 0
    for ch in _BRACKETS.sub("", _STRING.sub("", text)):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, max_chars: int = MAX_CHARS) -> Any:
    """``json.loads`` that refuses, with a ValueError, what is too long or too deep."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if len(text) > max_chars:
        raise JsonLimitError(f"JSON of {len(text)} characters is over the limit of {max_chars}")
    if (depth := nesting_depth(text)) > max_depth:
        raise JsonLimitError(f"JSON nested {depth} deep is over the limit of {max_depth}")
    return json.loads(text)
