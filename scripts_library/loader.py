"""Load and validate the library's YAML files, with errors that name the file, line and field."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from scripts_library.schema import (
    ComplianceFile,
    Emotion,
    EmotionFile,
    Entry,
    EscalationExample,
    EscalationExampleFile,
    EscalationFile,
    FaqEntry,
    Intent,
    IntentFile,
    NormalizationFile,
    Script,
)
from scripts_library.text import Rewrite, Rewriter
from scripts_library.yaml_lines import YAMLError, line_of, load_with_lines

INTENTS_FILE = "intents.yaml"
EMOTIONS_FILE = "emotions.yaml"
COMPLIANCE_FILE = "compliance.yaml"
ESCALATION_FILE = "escalation.yaml"
NORMALIZATION_FILE = "normalization.yaml"
ESCALATION_EXAMPLES_FILE = "escalation_examples.yaml"  # optional: without it there is no learned backstop
SCRIPTS_DIR = "scripts"
FAQ_DIR = "faq"


@dataclass(frozen=True)
class Problem:
    """One finding about the library, pinned to a file and line."""

    file: str
    line: int
    severity: str
    code: str
    message: str
    hint: str = ""
    entry_id: str | None = None
    start: int = 0
    end: int = 0

    def format(self) -> str:
        where = f"{self.file}:{self.line}"
        entry = f" {self.entry_id}:" if self.entry_id else ""
        hint = f" — fix: {self.hint}" if self.hint else ""
        return f"{where}: {self.severity} [{self.code}]{entry} {self.message}{hint}"


class LibraryError(Exception):
    """The library does not load; ``problems`` lists every schema error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))


@dataclass(frozen=True)
class Library:
    """The whole scripts library as validated objects, with where each entry is written."""

    root: Path
    intents: tuple[Intent, ...]
    emotions: tuple[Emotion, ...]
    scripts: tuple[Script, ...]
    faqs: tuple[FaqEntry, ...]
    compliance: ComplianceFile
    escalation: EscalationFile
    normalization: NormalizationFile
    escalation_examples: tuple[EscalationExample, ...] = ()
    locations: dict[str, tuple[str, int]] = field(default_factory=dict)
    content_hash: str = ""

    @property
    def intent_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.intents)

    @cached_property
    def rewrite(self) -> Rewriter:
        """The library's shorthand table, ready to pass to ``normalize``."""
        return rewriter(self.normalization)

    def script(self, script_id: str) -> Script:
        entry = self.entry(script_id)
        if not isinstance(entry, Script):
            raise KeyError(f"{script_id!r} is an FAQ entry, not a script")
        return entry

    @cached_property
    def entries(self) -> dict[str, Entry]:
        """Scripts and FAQ entries by id."""
        return {entry.id: entry for entry in (*self.scripts, *self.faqs)}

    def entry(self, entry_id: str) -> Entry:
        """The script or FAQ entry with this id (``KeyError`` when there is none)."""
        try:
            return self.entries[entry_id]
        except KeyError:
            raise KeyError(f"no script or FAQ entry with id {entry_id!r} in {self.root}") from None


def yaml_round_trip() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


@contextmanager
def _reading(relative: str) -> Iterator[None]:
    """Turn a parser's complaint into a ``LibraryError`` naming the file and line."""
    try:
        yield
    except (MarkedYAMLError, YAMLError) as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        hint = "check indentation and quoting"
        raise LibraryError([Problem(relative, line, "error", "yaml", f"not valid YAML: {exc.problem}", hint)]) from exc
    except UnicodeDecodeError as exc:
        raise LibraryError([Problem(relative, 1, "error", "encoding", "file is not UTF-8", "save as UTF-8")]) from exc


def read_yaml(path: Path, relative: str) -> Any:
    """Read a file for editing: ruamel round-trip data that keeps comments and key order."""
    with _reading(relative):
        return yaml_round_trip().load(path.read_text(encoding="utf-8"))


def parse_yaml(path: Path, relative: str) -> Any:
    """Read a file for loading: fast, plain data that knows its line numbers."""
    with _reading(relative):
        return load_with_lines(path.read_text(encoding="utf-8"))


def _validation_problems(exc: ValidationError, relative: str, node: Any, base: tuple = ()) -> list[Problem]:
    entry_id = node.get("id") if isinstance(node, dict) else None
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        field_name = ".".join(str(p) for p in loc) or "(entry)"
        problems.append(
            Problem(
                relative,
                line_of(node, loc),
                "error",
                "schema",
                f"{field_name}: {error['msg']}",
                "see scripts_library/README.md for the format",
                str(entry_id) if entry_id else None,
            )
        )
    return problems


def _validate(model: type[BaseModel], data: Any, relative: str, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, relative, data))
        return None


def _load_entries(
    path: Path, root: Path, key: str, model: type[BaseModel], problems: list[Problem], locations: dict
) -> list[Any]:
    relative = str(path.relative_to(root.parent))
    try:
        data = parse_yaml(path, relative)
    except LibraryError as exc:
        problems.extend(exc.problems)
        return []
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        problems.append(Problem(relative, 1, "error", "schema", "schema_version: must be 1", "add `schema_version: 1`"))
        return []
    items = data.get(key) or []
    if not isinstance(items, list):
        problems.append(Problem(relative, line_of(data, (key,)), "error", "schema", f"{key}: must be a list"))
        return []
    entries = []
    for index, item in enumerate(items):
        line = line_of(data, (key, index))
        try:
            entries.append(model.model_validate(item))
            locations[str(item.get("id"))] = (relative, line)
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, relative, item))
    return entries


def _content_hash(files: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _load_single(path: Path, root: Path, model: type[BaseModel], problems: list[Problem]) -> Any:
    relative = str(path.relative_to(root.parent))
    if not path.is_file():
        problems.append(Problem(relative, 1, "error", "missing", f"{path.name} is missing", "restore it from git"))
        return None
    try:
        data = parse_yaml(path, relative)
    except LibraryError as exc:
        problems.extend(exc.problems)
        return None
    return _validate(model, data, relative, problems)


def _load_escalation_examples(
    path: Path, root: Path, escalation: EscalationFile | None, problems: list[Problem]
) -> tuple[EscalationExample, ...]:
    """The labelled turns of the learned backstop; each team must be one that escalation.yaml routes to."""
    if not path.is_file():
        return ()
    relative = str(path.relative_to(root.parent))
    try:
        data = parse_yaml(path, relative)
    except LibraryError as exc:
        problems.extend(exc.problems)
        return ()
    examples = _validate(EscalationExampleFile, data, relative, problems)
    if examples is None or escalation is None:
        return ()
    teams = escalation.teams()
    for index, example in enumerate(examples.examples):
        if example.team is not None and example.team not in teams:
            line = line_of(data, ("examples", index, "team"))
            message = f"examples.{index}.team: {example.team!r} is not a team of {ESCALATION_FILE}"
            problems.append(Problem(relative, line, "error", "schema", message, f"use one of {', '.join(teams)}"))
    return examples.examples


def load_library(root: Path) -> Library:
    """Load every file of the library; raise ``LibraryError`` listing all schema problems."""
    root = root.resolve()
    if not root.is_dir():
        raise LibraryError([Problem(str(root), 1, "error", "missing", "library directory not found")])
    problems: list[Problem] = []
    locations: dict[str, tuple[str, int]] = {}
    intents = _load_single(root / INTENTS_FILE, root, IntentFile, problems)
    emotions = _load_single(root / EMOTIONS_FILE, root, EmotionFile, problems)
    compliance = _load_single(root / COMPLIANCE_FILE, root, ComplianceFile, problems)
    escalation = _load_single(root / ESCALATION_FILE, root, EscalationFile, problems)
    normalization = _load_single(root / NORMALIZATION_FILE, root, NormalizationFile, problems)
    escalation_examples = _load_escalation_examples(root / ESCALATION_EXAMPLES_FILE, root, escalation, problems)
    script_files = sorted((root / SCRIPTS_DIR).glob("*.yaml"))
    faq_files = sorted((root / FAQ_DIR).glob("*.yaml"))
    scripts = [s for p in script_files for s in _load_entries(p, root, "scripts", Script, problems, locations)]
    faqs = [f for p in faq_files for f in _load_entries(p, root, "faq", FaqEntry, problems, locations)]
    if problems:
        raise LibraryError(problems)
    names = (INTENTS_FILE, EMOTIONS_FILE, COMPLIANCE_FILE, ESCALATION_FILE, NORMALIZATION_FILE)
    files = [root / name for name in (*names, ESCALATION_EXAMPLES_FILE) if (root / name).is_file()]
    return Library(
        root=root,
        intents=intents.intents,
        emotions=emotions.emotions,
        scripts=tuple(scripts),
        faqs=tuple(faqs),
        compliance=compliance,
        escalation=escalation,
        normalization=normalization,
        escalation_examples=escalation_examples,
        locations=locations,
        content_hash=_content_hash(files + script_files + faq_files, root),
    )


def rewriter(normalization: NormalizationFile) -> Rewriter:
    return Rewriter([Rewrite(r.text, r.means, r.latin, r.not_after) for r in normalization.rewrites])
