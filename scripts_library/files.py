"""Writing the library's files: ruamel round-trip (comments, key order and list styles kept) and atomic
replacement (temp file, fsync, rename), so a crash never leaves a half-written file behind."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

from scripts_library.loader import (
    EMOTIONS_FILE,
    ESCALATION_EXAMPLES_FILE,
    INTENTS_FILE,
    Library,
    read_yaml,
    yaml_round_trip,
)
from scripts_library.schema import Variable


class EntryNotFound(KeyError):
    """No script or FAQ entry (or intent, or emotion) has this id."""


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def dump_yaml(data: Any) -> str:
    stream = io.StringIO()
    yaml_round_trip().dump(data, stream)
    return stream.getvalue()


@dataclass
class EntryNode:
    """One editable YAML node (a script, an FAQ entry, an intent, an emotion or an escalation example) inside its
    file's document."""

    path: Path
    document: Any
    node: CommentedMap

    def yaml(self) -> str:
        return dump_yaml(CommentedSeq([self.node]))

    def save(self, model: type[BaseModel]) -> None:
        """Validate the node as ``model`` (never write an entry that would not load), then write the file."""
        model.model_validate(self.node)
        atomic_write(self.path, dump_yaml(self.document))


def entry_node(library: Library, entry_id: str) -> EntryNode:
    if entry_id not in library.locations:
        raise EntryNotFound(f"no script or FAQ entry with id {entry_id!r}; find ids in the studio or `coverage`")
    relative, _ = library.locations[entry_id]
    path = library.root.parent / relative
    document = read_yaml(path, relative)
    for key in ("scripts", "faq"):
        for node in document.get(key) or []:
            if node.get("id") == entry_id:
                return EntryNode(path, document, node)
    raise EntryNotFound(f"{relative} changed on disk while it was being edited; reload and try again")


CATALOGUE_FILES = {"intent": (INTENTS_FILE, "intents"), "emotion": (EMOTIONS_FILE, "emotions")}


def catalogue_node(library: Library, kind: str, label: str) -> EntryNode:
    """The node of one intent (intents.yaml) or emotion (emotions.yaml), e.g. to add a training example."""
    name, key = CATALOGUE_FILES[kind]
    path = library.root / name
    document = read_yaml(path, name)
    for node in document.get(key) or []:
        if node.get("id") == label:
            return EntryNode(path, document, node)
    raise EntryNotFound(f"no {kind} {label!r} in {name}")


def appended_escalation_example(library: Library, text: str, team: str | None, source: str) -> EntryNode:
    """A new labelled turn at the end of escalation_examples.yaml (written on ``save``), in the file's own style:
    one flow mapping a line, text and team double-quoted. The file is started when the library has none."""
    path = library.root / ESCALATION_EXAMPLES_FILE
    if path.is_file():
        document = read_yaml(path, ESCALATION_EXAMPLES_FILE)
    else:
        document = CommentedMap(schema_version=1, examples=CommentedSeq())
    node = CommentedMap(
        text=DoubleQuotedScalarString(text),
        team=DoubleQuotedScalarString(team) if team else None,
        source=source,
    )
    node.fa.set_flow_style()
    if document.get("examples") is None:  # `examples:` with no items yet
        document["examples"] = CommentedSeq()
    document["examples"].append(node)
    return EntryNode(path, document, node)


def append_item(seq: CommentedSeq, item: str) -> None:
    """Append a string to a list in the style of its last item (quoted lists stay quoted)."""
    seq.append(_same_style(seq[-1], item) if len(seq) else item)


def _same_style(old: Any, new: str) -> Any:
    """Keep a block scalar (``>-`` / ``|``) a block scalar when its text is replaced."""
    return type(old)(new) if isinstance(old, ScalarString) else new


def _replace_items(seq: Any, items: Sequence[str]) -> CommentedSeq:
    """Replace a list's items in place, so its flow/block style and comments survive."""
    if not isinstance(seq, CommentedSeq):
        fresh = CommentedSeq(items)
        if len(items) <= 5 and all(len(item) <= 12 for item in items):  # ids and tags: [a, b]
            fresh.fa.set_flow_style()
        return fresh
    seq[:] = list(items)
    return seq


def _replace_variables(mapping: Any, variables: Mapping[str, Variable]) -> CommentedMap:
    target = mapping if isinstance(mapping, CommentedMap) else CommentedMap()
    for name in [n for n in target if n not in variables]:
        del target[name]
    for name, variable in variables.items():
        entry = target.get(name)
        if not isinstance(entry, CommentedMap):
            entry = CommentedMap()
            entry.fa.set_flow_style()
            target[name] = entry
        entry["label"] = variable.label
        entry["default"] = variable.default
    return target


def write_content(node: CommentedMap, content: BaseModel) -> None:
    """Write a content model's fields (template, examples, answer, …) into a node, keeping its styles."""
    for name, value in content:
        old = node.get(name)
        if isinstance(value, str):
            node[name] = _same_style(old, value)
        elif isinstance(value, tuple):
            node[name] = _replace_items(old, list(value))
        elif isinstance(value, dict):
            node[name] = _replace_variables(old, value)
        else:
            node[name] = value
