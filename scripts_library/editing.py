"""Changes to the library's files: edit, submit, reject, approve, retire and scaffold scripts.

Every change goes through ruamel.yaml's round-trip mode (comments and key order kept) and an atomic
write (temp file, fsync, rename), so a crash never leaves a half-written file behind. The workflow
functions used by the studio (``save_edits``, ``submit``, ``reject``, ``approve_submitted``,
``retire_change``) return a ``Change`` with a unified diff of the entry, for the audit trail.
"""

from __future__ import annotations

import difflib
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import ScalarString

from scripts_library.lint import lint_library
from scripts_library.loader import SCRIPTS_DIR, Library, load_library, read_yaml, yaml_round_trip
from scripts_library.schema import Script

CHINA_TZ = timezone(timedelta(hours=8))


class EditRefused(ValueError):
    """The requested change would break a rule; the message says which and how to fix it."""


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


def _dump(data: Any) -> str:
    stream = io.StringIO()
    yaml_round_trip().dump(data, stream)
    return stream.getvalue()


def _script_node(library: Library, script_id: str) -> tuple[Path, Any, CommentedMap]:
    if script_id not in library.locations or not any(s.id == script_id for s in library.scripts):
        raise EditRefused(f"no script with id {script_id!r}; list them with `python -m scripts_library coverage`")
    relative, _ = library.locations[script_id]
    path = library.root.parent / relative
    data = read_yaml(path, relative)
    for node in data["scripts"]:
        if node.get("id") == script_id:
            return path, data, node
    raise EditRefused(f"{relative} changed on disk; reload and try again")


def _now() -> datetime:
    return datetime.now(CHINA_TZ).replace(microsecond=0)


def _save_validated(path: Path, data: Any, node: CommentedMap) -> None:
    Script.model_validate(node)  # never write an entry that would not load
    atomic_write(path, _dump(data))


def _lint_errors(library: Library, script_id: str) -> list[str]:
    return [p.format() for p in lint_library(library) if p.entry_id == script_id and p.severity == "error"]


def approve(root: Path, script_id: str, approver: str) -> Script:
    """Approve a script: refused while it has lint errors or when the approver is its author."""
    library = load_library(root)
    script = library.script(script_id)
    if approver.strip() == script.author:
        raise EditRefused(f"{approver} wrote {script_id}; a different person must approve it (four-eyes rule)")
    blocking = _lint_errors(library, script_id)
    if blocking:
        raise EditRefused("lint errors block approval:\n" + "\n".join(blocking))
    path, data, node = _script_node(library, script_id)
    stamp = _now()
    was_approved = node.get("status") == "approved"
    approved_before = bool(node.get("approved_at"))
    node["status"] = "approved"
    node["approver"] = approver.strip()
    node["approved_at"] = stamp
    node["updated_at"] = stamp
    if not was_approved:
        node["version"] = int(node.get("version", 1)) + (1 if approved_before else 0)
    _save_validated(path, data, node)
    return load_library(root).script(script_id)


def retire(root: Path, script_id: str) -> Script:
    """Retire a script: it stays in the file for history but is never suggested again."""
    library = load_library(root)
    path, data, node = _script_node(library, script_id)
    node["status"] = "retired"
    node["updated_at"] = _now()
    _save_validated(path, data, node)
    return load_library(root).script(script_id)


def new_script(root: Path, intent: str, slug: str, author: str) -> Script:
    """Append a draft script scaffold to ``scripts/<intent>.yaml`` for the trainer to fill in."""
    library = load_library(root)
    if intent not in library.intent_ids:
        raise EditRefused(f"unknown intent {intent!r}; choose one of: {', '.join(library.intent_ids)}")
    script_id = f"{intent}.{slug}"
    if script_id in library.locations:
        raise EditRefused(f"{script_id} already exists; choose another slug")
    path = library.root / SCRIPTS_DIR / f"{intent}.yaml"
    data = read_yaml(path, str(path)) if path.exists() else CommentedMap(schema_version=1, scripts=CommentedSeq())
    stage = next(i.stage for i in library.intents if i.id == intent)
    node = CommentedMap(
        id=script_id,
        intents=CommentedSeq([intent]),
        emotions=CommentedSeq(["neutral"]),
        stage=stage if stage in ("售前", "售中", "售后") else "其他",
        platforms=CommentedSeq(["all"]),
        template="您好，请在这里写回复内容。",
        variables=CommentedMap(),
        examples=CommentedSeq(["顾客会怎么问（至少写一条）"]),
        status="draft",
        version=1,
        author=author,
        updated_at=_now(),
    )
    data.setdefault("scripts", CommentedSeq()).append(node)
    _save_validated(path, data, node)
    return load_library(root).script(script_id)


# -- studio workflow: draft → submitted → approved / rejected → retired ------------------------------------------

EDITABLE_FROM = frozenset({"draft", "rejected", "submitted", "approved"})
SUBMITTABLE_FROM = frozenset({"draft", "rejected"})


@dataclass(frozen=True)
class VariableEdit:
    """One template variable as the editor sends it."""

    name: str
    label: str
    default: str | None = None


@dataclass(frozen=True)
class ScriptEdits:
    """The parts of a script a trainer may change in the editor.

    ``base_updated_at`` is the ``updated_at`` the editor loaded: the save is refused when the entry
    changed since (someone else saved), so one trainer never silently overwrites another.
    """

    template: str
    variables: Sequence[VariableEdit]
    examples: Sequence[str]
    emotions: Sequence[str]
    platforms: Sequence[str]
    base_updated_at: str | None = None


@dataclass(frozen=True)
class Change:
    """What one workflow step did: the script afterwards, the status transition and the entry's diff."""

    script: Script
    from_status: str
    to_status: str
    diff: str


def _entry_yaml(node: CommentedMap) -> str:
    return _dump(CommentedSeq([node]))


def _entry_diff(script_id: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"{script_id} (before)", f"{script_id}"
    )
    return "".join(lines)


def _tracked(root: Path, script_id: str, mutate: Callable[[Library, Script, CommentedMap], None]) -> Change:
    """Load the entry, let ``mutate`` change its node in place, validate, write, and describe the change."""
    library = load_library(root)
    path, data, node = _script_node(library, script_id)
    before_status = str(node.get("status", "draft"))
    before = _entry_yaml(node)
    mutate(library, library.script(script_id), node)
    _save_validated(path, data, node)
    script = load_library(root).script(script_id)
    return Change(script, before_status, script.status, _entry_diff(script_id, before, _entry_yaml(node)))


def _same_style(old: Any, new: str) -> Any:
    """Keep a block scalar (``>-`` / ``|``) a block scalar when its text is replaced."""
    return type(old)(new) if isinstance(old, ScalarString) else new


def _replace_items(seq: Any, items: Sequence[str]) -> CommentedSeq:
    """Replace a list's items in place, so its flow/block style and comments survive."""
    if not isinstance(seq, CommentedSeq):
        return CommentedSeq(items)
    seq[:] = list(items)
    return seq


def _replace_variables(mapping: Any, variables: Sequence[VariableEdit]) -> CommentedMap:
    target = mapping if isinstance(mapping, CommentedMap) else CommentedMap()
    wanted = {v.name: v for v in variables}
    for name in [n for n in target if n not in wanted]:
        del target[name]
    for name, variable in wanted.items():
        entry = target.get(name)
        if not isinstance(entry, CommentedMap):
            entry = CommentedMap()
            entry.fa.set_flow_style()
            target[name] = entry
        entry["label"] = variable.label.strip()
        entry["default"] = variable.default if variable.default not in (None, "") else None
    return target


def _clean(items: Sequence[str]) -> list[str]:
    return [item.strip() for item in items if item.strip()]


def save_edits(root: Path, script_id: str, edits: ScriptEdits, editor: str) -> Change:
    """Save a trainer's edits of template, variables, examples, emotions and platforms.

    The entry becomes a draft written by ``editor`` (the four-eyes rule applies to whoever changed the
    text); a retired script must be revived with a new script instead. Schema errors refuse the save.
    """

    def mutate(_: Library, script: Script, node: CommentedMap) -> None:
        if script.status not in EDITABLE_FROM:
            raise EditRefused(f"{script_id} is {script.status}; write a new script instead of editing it")
        current = script.updated_at.isoformat() if script.updated_at else None
        if edits.base_updated_at is not None and edits.base_updated_at != current:
            raise EditRefused(f"{script_id} was changed by someone else since you opened it; reload and redo")
        node["template"] = _same_style(node.get("template"), edits.template.strip())
        node["variables"] = _replace_variables(node.get("variables"), edits.variables)
        node["examples"] = _replace_items(node.get("examples"), _clean(edits.examples))
        node["emotions"] = _replace_items(node.get("emotions"), _clean(edits.emotions))
        node["platforms"] = _replace_items(node.get("platforms"), _clean(edits.platforms))
        node["status"] = "draft"
        node["author"] = editor.strip()
        node["updated_at"] = _now()

    return _tracked(root, script_id, mutate)


def submit(root: Path, script_id: str, actor: str) -> Change:
    """Send a draft (or a rejected script) for approval; refused while it has lint errors."""

    def mutate(library: Library, script: Script, node: CommentedMap) -> None:
        if script.status not in SUBMITTABLE_FROM:
            raise EditRefused(f"{script_id} is {script.status}; only drafts and rejected scripts can be submitted")
        blocking = _lint_errors(library, script_id)
        if blocking:
            raise EditRefused("fix the lint errors before submitting:\n" + "\n".join(blocking))
        node["status"] = "submitted"
        node["updated_at"] = _now()

    return _tracked(root, script_id, mutate)


def reject(root: Path, script_id: str, reviewer: str, comment: str) -> Change:
    """Send a submitted script back to its author with a comment saying what to change."""
    if not comment.strip():
        raise EditRefused("say why the script is rejected: the author needs to know what to change")

    def mutate(_: Library, script: Script, node: CommentedMap) -> None:
        if script.status != "submitted":
            raise EditRefused(f"{script_id} is {script.status}; only submitted scripts can be rejected")
        if reviewer.strip() == script.author:
            raise EditRefused(f"{reviewer} wrote {script_id}; a different person must review it (four-eyes rule)")
        node["status"] = "rejected"
        node["updated_at"] = _now()

    return _tracked(root, script_id, mutate)


def _entry_node(root: Path, script_id: str) -> tuple[Script, CommentedMap]:
    library = load_library(root)
    _, _, node = _script_node(library, script_id)
    return library.script(script_id), node


def _around(root: Path, script_id: str, action: Callable[[], Script]) -> Change:
    """Run an existing library action and describe what it changed in the entry."""
    before, node = _entry_node(root, script_id)
    before_yaml = _entry_yaml(node)
    script = action()
    _, after = _entry_node(root, script_id)
    return Change(script, before.status, script.status, _entry_diff(script_id, before_yaml, _entry_yaml(after)))


def approve_submitted(root: Path, script_id: str, approver: str) -> Change:
    """Studio approval: only a submitted script, by someone other than its author, without lint errors."""
    status = _entry_node(root, script_id)[0].status
    if status != "submitted":
        raise EditRefused(f"{script_id} is {status}; only submitted scripts can be approved")
    return _around(root, script_id, lambda: approve(root, script_id, approver))


def retire_change(root: Path, script_id: str) -> Change:
    """Retire a script (see ``retire``) and describe the change for the audit trail."""
    if _entry_node(root, script_id)[0].status == "retired":
        raise EditRefused(f"{script_id} is already retired")
    return _around(root, script_id, lambda: retire(root, script_id))
