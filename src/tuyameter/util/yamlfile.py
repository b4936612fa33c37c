"""YAML loading that remembers the line of every mapping key, for clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A mapping that knows the (1-based) line of each key and of itself."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) or key is None:
            raise yaml.MarkedYAMLError(problem=f"unsupported key {key!r}", problem_mark=key_node.start_mark)
        skey = str(key) if not isinstance(key, str) else key
        if skey in out:
            raise yaml.MarkedYAMLError(problem=f"duplicate key {skey!r}", problem_mark=key_node.start_mark)
        out[skey] = loader.construct_object(value_node, deep=True)
        out.key_lines[skey] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlFileError(ValueError):
    """An error that names the file and line."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source, self.line_no, self.message = source, line, message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


def load_yaml_text(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlFileError(source, line, f"YAML error: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise YamlFileError(source, None, f"YAML error: {e}") from None


def load_yaml_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise YamlFileError(str(path), None, f"cannot read: {e}") from None
    return load_yaml_text(text, str(path))
