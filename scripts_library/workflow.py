"""The trainers' workflow — one implementation, used by the studio and the command line.

New entries: draft → submitted → approved or rejected (→ edited → submitted …); approved → retired →
(undo) approved. Editing an *approved* entry writes a **proposal** beside its live content: the live
text keeps being suggested while the revision is drafted, submitted and reviewed, and approving it swaps
the new content in (version + 1) in one atomic file write. Restoring an old version is a proposal too.

Every step checks the four-eyes rule (whoever wrote the pending content may not approve or reject it;
names compare case- and width-insensitively), needs the approver role where it publishes or withdraws,
refuses content with lint errors at submit and approval, and is written to the audit trail through an
``AuditSink`` with a diff of the entry and a snapshot of it afterwards (every revision is kept).

Agents' corrections become training examples the same way: ``add_example`` appends an accepted message to
intents.yaml, emotions.yaml or escalation_examples.yaml (approver role, four-eyes against the proposing agent, no
duplicates, audited).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from scripts_library.files import (
    EntryNode,
    append_item,
    appended_escalation_example,
    catalogue_node,
    entry_node,
    write_content,
)
from scripts_library.lint import lint_entry, lint_library
from scripts_library.loader import FAQ_DIR, SCRIPTS_DIR, Library, load_library, read_yaml
from scripts_library.schema import NO_TEAM, Emotion, Entry, EscalationExample, FaqEntry, Intent, Script
from scripts_library.text import compact, redact

CHINA_TZ = timezone(timedelta(hours=8))
NEW_TEMPLATE = "您好，请在这里写回复内容。"
NEW_EXAMPLE = "顾客会怎么问（至少写一条）"


class EditRefused(ValueError):
    """The requested change would break a rule; the message says which and how to fix it, ``code`` which rule
    (stable, for a client's own wording): unknown_entry, unknown_intent, unknown_emotion, exists, stale_edit,
    retired, wrong_state, lint_errors, four_eyes, needs_approver, needs_reason, empty_example,
    duplicate_example, unknown_team."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Actor:
    """Who acts: the name the audit trail records and whether their role may approve and retire."""

    name: str
    can_approve: bool = False


@dataclass(frozen=True)
class AuditRecord:
    """One workflow step: who, from/to review state, comment, diff of the entry and its snapshot afterwards."""

    entry_id: str
    actor: str
    from_status: str | None
    to_status: str
    comment: str | None = None
    diff: str | None = None
    snapshot: str | None = None  # the entry as JSON after the step


class AuditSink(Protocol):
    """Where audit records go (the service's store); ``record_audit`` returns the record's id."""

    def record_audit(self, record: AuditRecord) -> int: ...


@dataclass(frozen=True)
class Change:
    """What one step did: the entry afterwards, its review-state transition, the diff and the audit row."""

    entry: Entry
    from_status: str
    to_status: str
    diff: str
    audit_id: int | None  # None when the step changed nothing (e.g. a repeated save)


def same_person(a: str, b: str) -> bool:
    """Names as people type them: "Alice", " alice " and "ａｌｉｃｅ" are one person."""

    def key(name: str) -> str:
        return unicodedata.normalize("NFKC", name).strip().casefold()

    return key(a) == key(b)


def now() -> datetime:
    return datetime.now(CHINA_TZ).replace(microsecond=0)


def next_stamp(entry: Entry) -> datetime:
    """Now, but always later than the entry's last change. Stamps are whole seconds (readable in the YAML), and an
    open editor detects a concurrent save by its stamp: a second save within the same second must change it too."""
    stamps = [entry.updated_at, entry.proposal.updated_at if entry.proposal else None]
    last = max((t if t.tzinfo else t.replace(tzinfo=CHINA_TZ) for t in stamps if t), default=None)
    stamp = now()
    return stamp if last is None or stamp > last else last + timedelta(seconds=1)


def _diff(entry_id: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"{entry_id} (before)", entry_id
    )
    return "".join(lines)


def _entry(library: Library, entry_id: str) -> Entry:
    try:
        return library.entry(entry_id)
    except KeyError as exc:
        raise EditRefused(f"no script or FAQ entry with id {entry_id!r}", "unknown_entry") from exc


Mutation = Callable[[Library, Entry, EntryNode], None]


def _step(root: Path, entry_id: str, actor: Actor, audit: AuditSink, comment: str, mutate: Mutation) -> Change:
    """Load the entry, let ``mutate`` change its YAML node, validate, write, and audit the step."""
    library = load_library(root)
    entry = _entry(library, entry_id)
    located = entry_node(library, entry_id)
    before = located.yaml()
    mutate(library, entry, located)
    after = located.yaml()
    if after == before:
        return Change(entry, entry.state, entry.state, "", None)
    located.save(type(entry))
    changed = load_library(root).entry(entry_id)
    diff = _diff(entry_id, before, after)
    record = AuditRecord(
        entry_id, actor.name, entry.state, changed.state, comment or None, diff, changed.model_dump_json()
    )
    return Change(changed, entry.state, changed.state, diff, audit.record_audit(record))


def _lint_errors(library: Library, entry: Entry) -> list[str]:
    return [p.format() for p in lint_entry(entry, library) if p.severity == "error"]


def _require_approver(actor: Actor, what: str) -> None:
    if not actor.can_approve:
        raise EditRefused(f"{what} needs the approver role; ask an approver", "needs_approver")


def _require_other_person(actor: Actor, entry: Entry, what: str) -> None:
    if same_person(actor.name, entry.pending_author):
        raise EditRefused(
            f"{entry.pending_author} wrote this version of {entry.id}; a different person must {what} it (four-eyes)",
            "four_eyes",
        )


# -- steps ---------------------------------------------------------------------------------------------------------
def _new_entry(
    root: Path, folder: str, key: str, intent: str, entry_id: str, node: CommentedMap, actor: Actor, audit: AuditSink
) -> Change:
    """Append a new draft entry's node to ``<folder>/<intent>.yaml`` (the file is created when missing)."""
    path = root / folder / f"{intent}.yaml"
    document = read_yaml(path, str(path)) if path.exists() else CommentedMap(schema_version=1, **{key: CommentedSeq()})
    node.update(status="draft", version=1, author=actor.name, updated_at=now())
    document.setdefault(key, CommentedSeq()).append(node)
    model, comment = (Script, "新建话术") if key == "scripts" else (FaqEntry, "新建常见问题")
    EntryNode(path, document, node).save(model)
    entry = load_library(root).entry(entry_id)
    record = AuditRecord(entry_id, actor.name, None, "draft", comment, None, entry.model_dump_json())
    return Change(entry, "new", "draft", "", audit.record_audit(record))


def _flow(items: Sequence[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _check_new_id(library: Library, intent: str, entry_id: str) -> None:
    if intent not in library.intent_ids:
        raise EditRefused(
            f"unknown intent {intent!r}; choose one of: {', '.join(library.intent_ids)}", "unknown_intent"
        )
    if entry_id in library.locations:
        raise EditRefused(f"{entry_id} already exists; choose another slug", "exists")


def create_script(
    root: Path,
    intent: str,
    slug: str,
    actor: Actor,
    audit: AuditSink,
    emotions: Sequence[str] = ("neutral",),
    platforms: Sequence[str] = ("all",),
) -> Change:
    """Append a draft script scaffold to ``scripts/<intent>.yaml`` for the trainer to fill in (for the given
    moods and platforms: the studio's coverage map asks for a script of a missing cell)."""
    library = load_library(root)
    script_id = f"{intent}.{slug}"
    _check_new_id(library, intent, script_id)
    stage = next(i.stage for i in library.intents if i.id == intent)
    node = CommentedMap(
        id=script_id,
        intents=_flow([intent]),
        emotions=_flow(emotions),
        stage=stage if stage in ("售前", "售中", "售后") else "其他",
        platforms=_flow(platforms),
        template=NEW_TEMPLATE,
        variables=CommentedMap(),
        examples=CommentedSeq([NEW_EXAMPLE]),
    )
    return _new_entry(library.root, SCRIPTS_DIR, "scripts", intent, script_id, node, actor, audit)


def create_faq(root: Path, intent: str, slug: str, actor: Actor, audit: AuditSink) -> Change:
    """Append a draft FAQ entry scaffold to ``faq/<intent>.yaml``: FAQ entries follow the scripts' workflow."""
    library = load_library(root)
    faq_id = f"faq.{intent}.{slug}"
    _check_new_id(library, intent, faq_id)
    node = CommentedMap(
        id=faq_id,
        intent=intent,
        questions=CommentedSeq([NEW_EXAMPLE]),
        answer=NEW_TEMPLATE,
        platforms=_flow(["all"]),
        tags=_flow([]),
    )
    return _new_entry(library.root, FAQ_DIR, "faq", intent, faq_id, node, actor, audit)


def save(
    root: Path,
    entry_id: str,
    content: BaseModel,
    actor: Actor,
    audit: AuditSink,
    base_updated_at: str | None = None,
    comment: str = "",
) -> Change:
    """Save a trainer's content (a ``ScriptContent`` or ``FaqContent``) as a draft by ``actor``.

    An approved entry gets (or updates) its proposal and stays live; a draft, submitted or rejected new
    entry is edited in place and becomes a draft. ``base_updated_at`` is what the editor loaded: the save
    is refused when someone saved since. Saving unchanged content writes nothing.
    """

    def mutate(_: Library, entry: Entry, located: EntryNode) -> None:
        if entry.status == "retired":
            raise EditRefused(f"{entry_id} is retired; ask an approver to undo the retirement first", "retired")
        current = entry.proposal or entry
        loaded = current.updated_at.isoformat() if current.updated_at else None
        if base_updated_at is not None and base_updated_at != loaded:
            raise EditRefused(f"{entry_id} was changed by someone else since you opened it", "stale_edit")
        validated = entry.CONTENT.model_validate(content.model_dump())
        pending = entry.pending()
        if validated == pending.content() and entry.state == "draft":
            return
        if entry.status == "approved":
            _write_proposal(located.node, entry, validated, actor)
        else:
            write_content(located.node, validated)
            located.node.update(status="draft", author=actor.name, updated_at=next_stamp(entry))

    return _step(root, entry_id, actor, audit, comment, mutate)


def _write_proposal(node: CommentedMap, entry: Entry, content: BaseModel, actor: Actor) -> None:
    proposal = node.get("proposal")
    if not isinstance(proposal, CommentedMap):
        proposal = CommentedMap()
        node["proposal"] = proposal
    proposal.update(status="draft", author=actor.name, updated_at=next_stamp(entry), based_on=entry.version)
    proposal.pop("comment", None)
    write_content(proposal, content)


def _review_node(node: CommentedMap, entry: Entry) -> CommentedMap:
    """The node whose status review changes: the proposal when one is pending, else the entry."""
    return node["proposal"] if entry.proposal is not None else node


def submit(root: Path, entry_id: str, actor: Actor, audit: AuditSink, comment: str = "") -> Change:
    """Send a draft (or rejected) version for approval; refused while it has lint errors."""

    def mutate(library: Library, entry: Entry, located: EntryNode) -> None:
        if entry.state not in ("draft", "rejected"):
            raise EditRefused(
                f"{entry_id} is {entry.state}; only drafts and rejected versions can be submitted", "wrong_state"
            )
        blocking = _lint_errors(library, entry.pending())
        if blocking:
            raise EditRefused("fix the lint errors before submitting:\n" + "\n".join(blocking), "lint_errors")
        _review_node(located.node, entry).update(status="submitted", updated_at=next_stamp(entry))

    return _step(root, entry_id, actor, audit, comment, mutate)


def reject(root: Path, entry_id: str, actor: Actor, audit: AuditSink, comment: str) -> Change:
    """Send a submitted version back to its author with a comment saying what to change."""
    if not comment.strip():
        raise EditRefused("say why it is rejected: the author needs to know what to change", "needs_reason")

    def mutate(_: Library, entry: Entry, located: EntryNode) -> None:
        _require_approver(actor, "rejecting")
        if entry.state != "submitted":
            raise EditRefused(f"{entry_id} is {entry.state}; only submitted versions can be rejected", "wrong_state")
        _require_other_person(actor, entry, "review")
        target = _review_node(located.node, entry)
        target.update(status="rejected", updated_at=next_stamp(entry))
        if entry.proposal is not None:
            target["comment"] = comment.strip()

    return _step(root, entry_id, actor, audit, comment, mutate)


def approve(root: Path, entry_id: str, actor: Actor, audit: AuditSink, comment: str = "") -> Change:
    """Publish a submitted version: refused for its author, without the approver role, or with lint errors.

    A proposal's content replaces the live content and the version goes up by one; a new entry goes live.
    """

    def mutate(library: Library, entry: Entry, located: EntryNode) -> None:
        _require_approver(actor, "approval")
        if entry.state != "submitted":
            raise EditRefused(f"{entry_id} is {entry.state}; only submitted versions can be approved", "wrong_state")
        _require_other_person(actor, entry, "approve")
        blocking = _lint_errors(library, entry.pending())
        if blocking:
            raise EditRefused("lint errors block approval:\n" + "\n".join(blocking), "lint_errors")
        node, stamp = located.node, next_stamp(entry)
        if entry.proposal is not None:
            write_content(node, entry.pending().content())
            node.update(author=entry.proposal.author, version=entry.version + 1)
            del node["proposal"]
        node.update(status="approved", approver=actor.name, approved_at=stamp, updated_at=stamp)

    return _step(root, entry_id, actor, audit, comment, mutate)


def retire(root: Path, entry_id: str, actor: Actor, audit: AuditSink, reason: str) -> Change:
    """Stop suggesting an entry (it stays in its file for history); needs a reason and the approver role."""
    if not reason.strip():
        raise EditRefused("say why it is retired: the team needs to know why the reply is gone", "needs_reason")

    def mutate(_: Library, entry: Entry, located: EntryNode) -> None:
        _require_approver(actor, "retiring")
        if entry.status == "retired":
            raise EditRefused(f"{entry_id} is already retired", "wrong_state")
        located.node.update(status="retired", retired_reason=reason.strip(), updated_at=next_stamp(entry))

    return _step(root, entry_id, actor, audit, reason, mutate)


def unretire(root: Path, entry_id: str, actor: Actor, audit: AuditSink, comment: str = "") -> Change:
    """Undo a retirement: the entry is suggested again as it was (approver role, lint-clean)."""

    def mutate(library: Library, entry: Entry, located: EntryNode) -> None:
        _require_approver(actor, "undoing a retirement")
        if entry.status != "retired":
            raise EditRefused(f"{entry_id} is {entry.status}, not retired", "wrong_state")
        if not entry.approved_at:
            raise EditRefused(f"{entry_id} was never approved; submit it for approval instead", "wrong_state")
        blocking = _lint_errors(library, entry)
        if blocking:
            raise EditRefused("lint errors block putting it back:\n" + "\n".join(blocking), "lint_errors")
        located.node.update(status="approved", updated_at=next_stamp(entry))
        located.node.pop("retired_reason", None)

    return _step(root, entry_id, actor, audit, comment, mutate)


def snapshot_content(entry: Entry, snapshot_json: str) -> BaseModel:
    """The live content recorded in an audit snapshot of ``entry``: what "restore this version" saves."""
    old = type(entry).model_validate_json(snapshot_json)
    if old.id != entry.id:
        raise EditRefused(f"that audit record belongs to {old.id}, not {entry.id}", "unknown_entry")
    return old.content()


# -- training examples from agents' corrections --------------------------------------------------------------------
ExampleKind = Literal["intent", "emotion", "escalation"]
CORRECTIONS_SOURCE = "corrections"  # the source of accepted escalation examples (eval backstop leaves it out as one)


@dataclass(frozen=True)
class ExampleAdded:
    """A training example appended to intents.yaml, emotions.yaml or escalation_examples.yaml, and its audit row."""

    kind: ExampleKind
    label: str
    text: str
    audit_id: int


def example_labels(library: Library, kind: ExampleKind) -> tuple[str, ...]:
    """What an example of ``kind`` may be labelled: the intents, the emotions, or the teams and NO_TEAM."""
    if kind == "intent":
        return library.intent_ids
    if kind == "emotion":
        return tuple(e.id for e in library.emotions)
    return (*library.escalation.teams(), NO_TEAM)


def _claims(library: Library, kind: ExampleKind) -> dict[str, str]:
    """Compacted example text → the label that already has it (intents: catalogue, scripts and FAQ)."""
    if kind == "escalation":
        return {compact(e.text): e.label for e in library.escalation_examples}
    if kind == "emotion":
        return {compact(e): emotion.id for emotion in library.emotions for e in emotion.examples}
    claims = {compact(e): intent.id for intent in library.intents for e in intent.examples}
    claims |= {compact(e): s.primary_intent for s in library.scripts for e in s.examples}
    return claims | {compact(q): f.intent for f in library.faqs for q in f.questions}


def _with_example(library: Library, kind: ExampleKind, label: str, text: str) -> Library:
    """The library as it would be with ``text`` added under ``label`` (for the linter, before writing)."""
    if kind == "intent":
        intents = tuple(
            i.model_copy(update={"examples": (*i.examples, text)}) if i.id == label else i for i in library.intents
        )
        return replace(library, intents=intents)
    emotions = tuple(
        e.model_copy(update={"examples": (*e.examples, text)}) if e.id == label else e for e in library.emotions
    )
    return replace(library, emotions=emotions)


def example_owner(library: Library, kind: ExampleKind, text: str) -> str | None:
    """The label (intent, emotion, or team / NO_TEAM) that already has ``text`` as an example, spaces and
    punctuation aside."""
    return _claims(library, kind).get(compact(redact(text)))


def check_example(library: Library, kind: ExampleKind, label: str, text: str) -> None:
    """Refuse (``EditRefused``) what ``add_example`` would refuse about the text itself, writing nothing: an
    unknown label, nothing left once redacted, or an example some label of this kind already has."""
    text = redact(text).strip()
    labels = example_labels(library, kind)
    if label not in labels:
        code = "unknown_team" if kind == "escalation" else f"unknown_{kind}"
        raise EditRefused(f"unknown {kind} {label!r}; choose one of: {', '.join(labels)}", code)
    if not compact(text):
        raise EditRefused("the example has no words left once personal data is removed", "empty_example")
    owner = example_owner(library, kind, text)
    if owner == label:
        raise EditRefused(f"“{text}” is already an example of {label}", "exists")
    if owner is not None:
        raise EditRefused(
            f"“{text}” is already an example of {owner}; an example belongs to one {kind}", "duplicate_example"
        )
    if kind == "escalation":  # the linter's duplicate rule reads the intent and emotion catalogues only
        return
    conflicts = [
        p.message
        for p in lint_library(_with_example(library, kind, label, text))
        if p.code == "duplicate.example" and f"“{compact(text)}”" in p.message
    ]
    if conflicts:
        raise EditRefused("; ".join(conflicts), "duplicate_example")


def _appended(library: Library, kind: ExampleKind, label: str, example: str) -> tuple[str, str]:
    """Write ``example`` under ``label`` into its file; the YAML of the changed node before and after."""
    if kind == "escalation":
        team = None if label == NO_TEAM else label
        located = appended_escalation_example(library, example, team, CORRECTIONS_SOURCE)
        located.save(EscalationExample)
        return "", located.yaml()
    located = catalogue_node(library, kind, label)
    before = located.yaml()
    append_item(located.node["examples"], example)
    located.save(Intent if kind == "intent" else Emotion)
    return before, located.yaml()


def add_example(
    root: Path, kind: ExampleKind, label: str, text: str, actor: Actor, audit: AuditSink, proposed_by: str
) -> ExampleAdded:
    """Accept an agent's correction: append the (redacted) customer message as a training example of an intent,
    an emotion or an escalation team (NO_TEAM: the turn needs none), so the classifiers and the escalation
    backstop learn from live traffic on their next training.

    Needs the approver role and a second person (the approver is not the agent who proposed it); refused when
    the text is already an example, of this label or of another one (the linter's duplicate.example rule).
    """
    _require_approver(actor, "adding a training example")
    if same_person(actor.name, proposed_by):
        raise EditRefused(
            f"{proposed_by} proposed this example; a different person must accept it (four-eyes)", "four_eyes"
        )
    example = redact(text).strip()
    library = load_library(root)
    check_example(library, kind, label, example)
    before, after = _appended(library, kind, label, example)
    comment = f"采纳 {proposed_by} 的纠正：{example}"
    diff = _diff(label, before, after)
    record = AuditRecord(f"{kind}:{label}", actor.name, "submitted", "approved", comment, diff, None)
    return ExampleAdded(kind, label, example, audit.record_audit(record))
