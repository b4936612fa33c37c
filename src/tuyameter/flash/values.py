"""Turn raw KV values into data: JSON, Tuya's unquoted pseudo-JSON, text, or hex."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tuyameter.util import safejson

_PRINTABLE = re.compile(rb"[\x20-\x7e\t\r\n]*")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?$")


@dataclass(frozen=True)
class Parsed:
    kind: str  # json | tuya-json | text | binary
    value: Any


_JSON_SCALAR = re.compile(r"-?(0|[1-9]\d{0,17})(\.\d{1,17})?([eE][-+]?\d{1,3})?|true|false|null")


class PseudoJsonError(ValueError):
    pass


def parse_value(raw: bytes) -> Parsed:
    """Never raises: what is not JSON or pseudo-JSON is text, what is not text is hex."""
    body = raw.rstrip(b"\0")
    if not _PRINTABLE.fullmatch(body):
        return Parsed("binary", raw.hex())
    text = body.decode("ascii")
    stripped = text.strip()
    if _JSON_SCALAR.fullmatch(stripped):  # a bare number or true/false/null keeps its JSON type
        return Parsed("json", safejson.loads(stripped))
    if stripped[:1] in ("{", "["):
        try:
            return Parsed("json", safejson.loads(stripped))
        except ValueError:
            pass
        try:
            return Parsed("tuya-json", parse_pseudo_json(stripped))
        except PseudoJsonError:
            pass
    return Parsed("text", text)


def parse_pseudo_json(text: str) -> Any:
    """Tuya's ``{module:CB2S,ele_pin:7,list:[1,2],name:"a b"}``: keys and values may be unquoted.

    Unquoted scalars become int/float when they look like numbers, ``true``/``false``/``null``
    their JSON values, anything else a string. Raises :class:`PseudoJsonError`.
    """
    parser = _Parser(text)
    value = parser.value()
    parser.skip_ws()
    if parser.pos != len(text):
        raise PseudoJsonError(f"unexpected {text[parser.pos : parser.pos + 10]!r} at {parser.pos}")
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise PseudoJsonError(f"expected {ch!r} at {self.pos}")
        self.pos += 1

    def value(self) -> Any:
        ch = self.peek()
        if ch in ("{", "["):
            self.depth += 1
            if self.depth > 64:
                raise PseudoJsonError("nested too deeply")
            out = self.obj() if ch == "{" else self.arr()
            self.depth -= 1
            return out
        if ch == '"':
            return self.quoted()
        return self.scalar(self.bare())

    def obj(self) -> dict[str, Any]:
        self.expect("{")
        out: dict[str, Any] = {}
        while self.peek() != "}":
            key = self.quoted() if self.peek() == '"' else self.bare()
            if not key:
                raise PseudoJsonError(f"empty key at {self.pos}")
            self.expect(":")
            out[key] = self.value()
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() != "}":
                raise PseudoJsonError(f"expected ',' or '}}' at {self.pos}")
        self.pos += 1
        return out

    def arr(self) -> list[Any]:
        self.expect("[")
        out: list[Any] = []
        while self.peek() != "]":
            out.append(self.value())
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() != "]":
                raise PseudoJsonError(f"expected ',' or ']' at {self.pos}")
        self.pos += 1
        return out

    def quoted(self) -> str:
        self.expect('"')
        end = self.text.find('"', self.pos)
        while end != -1 and self.text[end - 1] == "\\":
            end = self.text.find('"', end + 1)
        if end == -1:
            raise PseudoJsonError("unterminated string")
        raw = self.text[self.pos : end]
        self.pos = end + 1
        try:
            return str(json.loads(f'"{raw}"'))
        except ValueError:
            return raw

    def bare(self) -> str:
        self.skip_ws()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ',:{}[]"':
            self.pos += 1
        return self.text[start : self.pos].strip()

    @staticmethod
    def scalar(tok: str) -> Any:
        if not tok:
            raise PseudoJsonError("missing value")
        if _NUMBER.match(tok):
            return float(tok) if "." in tok else int(tok)
        return {"true": True, "false": False, "null": None}.get(tok, tok)
