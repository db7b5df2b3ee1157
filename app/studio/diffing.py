"""Live versus proposed, as approvers read it: a word-level diff of texts and item diffs of lists and sets.

Chinese has no spaces, so a "word" is one Han character, a run of Latin letters or digits, a ``{{ variable }}``
or one punctuation mark; an unchanged single character between two changes is folded into them, so a
rewritten phrase reads as one deletion and one insertion instead of confetti.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from scripts_library.schema import Variable

Op = Literal["same", "added", "removed"]
_WORD = re.compile(r"\{\{.*?\}\}|[A-Za-z]+|\d+(?:\.\d+)?|\s+|.", re.S)


@dataclass(frozen=True)
class Segment:
    op: Op
    text: str


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for segment in segments:
        if merged and merged[-1].op == segment.op:
            merged[-1] = Segment(segment.op, merged[-1].text + segment.text)
        elif segment.text:
            merged.append(segment)
    return merged


def _fold_slivers(segments: list[Segment]) -> list[Segment]:
    """Turn a one-word unchanged sliver between two changes into part of both."""
    folded: list[Segment] = []
    for i, segment in enumerate(segments):
        between = 0 < i < len(segments) - 1 and segments[i - 1].op != "same" and segments[i + 1].op != "same"
        if segment.op == "same" and between and len(words(segment.text)) == 1:
            folded += [Segment("removed", segment.text), Segment("added", segment.text)]
        else:
            folded.append(segment)
    removed = [s for s in folded if s.op == "removed"]
    return _regroup(folded) if removed else folded


def _regroup(segments: list[Segment]) -> list[Segment]:
    """Within each run of changes, all removals first, then all additions."""
    grouped: list[Segment] = []
    run: list[Segment] = []
    for segment in [*segments, Segment("same", "")]:
        if segment.op == "same":
            grouped += [s for s in run if s.op == "removed"] + [s for s in run if s.op == "added"]
            grouped.append(segment)
            run = []
        else:
            run.append(segment)
    return _merge(grouped)


def word_diff(before: str, after: str) -> list[Segment]:
    """``after`` against ``before``, word by word."""
    a, b = words(before), words(after)
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
        else:
            segments += [Segment("removed", "".join(a[i1:i2])), Segment("added", "".join(b[j1:j2]))]
    return _fold_slivers(_merge(segments))


def item_diff(before: Sequence[str], after: Sequence[str]) -> list[Segment]:
    """Items kept and added (in the new order), then the removed ones."""
    old, new = set(before), set(after)
    kept = [Segment("same" if item in old else "added", item) for item in after]
    return kept + [Segment("removed", item) for item in before if item not in new]


@dataclass(frozen=True)
class VariableChange:
    name: str
    op: Op | Literal["changed"]
    before: str
    after: str


def _describe(variable: Variable | None) -> str:
    if variable is None:
        return ""
    return f"{variable.label}（默认：{variable.default}）" if variable.default else f"{variable.label}（无默认值）"


def variable_diff(before: Mapping[str, Variable], after: Mapping[str, Variable]) -> list[VariableChange]:
    """Each variable of either version: added, removed, changed (label or default) or the same."""
    changes = []
    for name in [*after, *(n for n in before if n not in after)]:
        old, new = before.get(name), after.get(name)
        op = "added" if old is None else "removed" if new is None else "same" if old == new else "changed"
        changes.append(VariableChange(name, op, _describe(old), _describe(new)))
    return changes
