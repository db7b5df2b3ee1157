"""Fast YAML reading that remembers where every key and item is, for line-precise errors.

Loading the library only reads it, so it uses libyaml's C composer (PyYAML) instead of ruamel's
pure-Python round-trip parser, which is an order of magnitude slower; edits still go through ruamel so
comments and key order survive. Plain scalars are resolved by the YAML 1.2 core schema, as ruamel does
(``no`` and ``12:30`` stay strings); timestamps stay strings and pydantic parses them where a field
is a datetime.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # PyYAML built without libyaml: slower, same result
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

YAMLError = yaml.MarkedYAMLError

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}


class LinedDict(dict):
    """A mapping that knows the 0-based line of each key."""

    key_lines: dict[Any, int]
    line: int


class LinedList(list):
    """A sequence that knows the 0-based line of each item."""

    item_lines: list[int]
    line: int


def _scalar(node: yaml.ScalarNode) -> Any:
    value = node.value
    if node.style or node.tag == "tag:yaml.org,2002:str":  # quoted or block scalars are text
        return value
    if _NULL.match(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.match(value):
        return int(value)
    if _OCT.match(value) or _HEX.match(value):
        return int(value, 0)
    if _FLOAT.match(value):
        return float(value)
    return _SPECIAL_FLOAT.get(value.lower(), value)


def _construct(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        mapping = LinedDict()
        mapping.key_lines, mapping.line = {}, node.start_mark.line
        for key_node, value_node in node.value:
            key = _construct(key_node)
            mapping[key] = _construct(value_node)
            mapping.key_lines[key] = key_node.start_mark.line
        return mapping
    if isinstance(node, yaml.SequenceNode):
        items = LinedList(_construct(item) for item in node.value)
        items.item_lines, items.line = [item.start_mark.line for item in node.value], node.start_mark.line
        return items
    return _scalar(node)


def load_with_lines(text: str) -> Any:
    """Parse one YAML document into dicts, lists and scalars that carry their line numbers."""
    node = yaml.compose(text, Loader=_Loader)
    return None if node is None else _construct(node)


def line_of(data: Any, loc: tuple[int | str, ...]) -> int:
    """1-based line of the deepest key or item along ``loc`` that exists."""
    line = getattr(data, "line", 0)
    for part in loc:
        if isinstance(data, LinedDict) and part in data:
            line, data = data.key_lines[part], data[part]
        elif isinstance(data, LinedList) and isinstance(part, int) and part < len(data):
            line, data = data.item_lines[part], data[part]
        else:
            break
    return line + 1
