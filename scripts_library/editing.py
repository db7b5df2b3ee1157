"""Changes to the library's files: approve, retire and scaffold scripts.

Every change goes through ruamel.yaml's round-trip mode (comments and key order kept) and an atomic
write (temp file, fsync, rename), so a crash never leaves a half-written file behind.
"""

from __future__ import annotations

import io
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

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


def approve(root: Path, script_id: str, approver: str) -> Script:
    """Approve a script: refused while it has lint errors or when the approver is its author."""
    library = load_library(root)
    script = library.script(script_id)
    if approver.strip() == script.author:
        raise EditRefused(f"{approver} wrote {script_id}; a different person must approve it (four-eyes rule)")
    blocking = [p for p in lint_library(library) if p.entry_id == script_id and p.severity == "error"]
    if blocking:
        raise EditRefused("lint errors block approval:\n" + "\n".join(p.format() for p in blocking))
    path, data, node = _script_node(library, script_id)
    stamp = _now()
    was_approved = node.get("status") == "approved"
    node["status"] = "approved"
    node["approver"] = approver.strip()
    node["approved_at"] = stamp
    node["updated_at"] = stamp
    if not was_approved:
        node["version"] = int(node.get("version", 1)) + (1 if node.get("approved_at") else 0)
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
