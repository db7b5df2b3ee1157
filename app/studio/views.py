"""What the editor, the approver queue, the corrections queue and the retire dialog show, built from the
library API, the audit trail and agents' feedback (no HTTP here)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pydantic import BaseModel, ValidationError

from app.store import AuditEntryView, CorrectionView
from app.studio.diffing import Segment, VariableChange, item_diff, variable_diff, word_diff
from app.studio.library_view import entry_intents, entry_text, uptake
from app.studio.messages import escalation_name, name_of, problem_text
from app.studio.models import ImpactEntry, ImpactOut, ProblemOut
from retrieval.escalation import LEARNED_RULE_ID
from retrieval.ranking import Priors
from scripts_library.coverage import coverage_grid
from scripts_library.lint import lint_entry
from scripts_library.loader import Library, Problem
from scripts_library.schema import Entry, Script
from scripts_library.vocabulary import EMOTIONS, PLATFORMS
from scripts_library.workflow import same_person


def problem_out(problem: Problem) -> ProblemOut:
    """A lint problem as the pages show it: in Chinese, with its span in the linted text."""
    message, hint = problem_text(problem)
    return ProblemOut(
        severity=problem.severity,
        code=problem.code,
        message=message,
        hint=hint,
        start=problem.start,
        end=problem.end,
    )


def pending_problems(library: Library, entry: Entry) -> list[ProblemOut]:
    """Lint findings of the version under review (the proposal, or the entry before its first approval)."""
    return [problem_out(p) for p in lint_entry(entry.pending(), library)]


def uptake_text(priors: Priors, entry_id: str) -> str:
    """采用率 with the counts behind it, or a dash before agents have used the entry."""
    seen = uptake(priors, entry_id)
    if seen is None:
        return "暂无坐席反馈"
    c = seen.counts
    return f"{seen.rate * 100:.0f}%（采用 {c.picked} · 改写 {c.edited} · 不合适 {c.rejected}）"


# -- the editor's history: every revision, restorable --------------------------------------------------------------
@dataclass(frozen=True)
class HistoryRow:
    """One audit row of an entry; ``restore_version`` is set on the newest row of each earlier live version."""

    audit: AuditEntryView
    restore_version: int | None


def _live_content(entry: Entry, snapshot: str | None) -> tuple[int, BaseModel] | None:
    if not snapshot:
        return None
    try:
        old = type(entry).model_validate_json(snapshot)
    except ValidationError:  # a snapshot from an older schema: shown, not restorable
        return None
    return old.version, old.content()


def history(entry: Entry, trail: list[AuditEntryView]) -> list[HistoryRow]:
    """The entry's audit rows, newest first, offering "restore" once per live version that differs from what is
    pending now."""
    offered: list[BaseModel] = [entry.pending().content(), entry.content()]
    rows = []
    for row in trail:
        found = _live_content(entry, row.snapshot)
        version = None
        if found is not None and found[1] not in offered:
            offered.append(found[1])
            version = found[0]
        rows.append(HistoryRow(row, version))
    return rows


# -- the approver queue: live vs proposed ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldDiff:
    label: str
    segments: list[Segment]
    style: str  # "text": one text, word by word; "items": one line per item; "chips": a set of names


@dataclass(frozen=True)
class ReviewItem:
    entry: Entry
    is_revision: bool  # an approved entry with a proposal (else a new entry before its first approval)
    author: str
    text: list[Segment]
    fields: list[FieldDiff]
    variables: list[VariableChange]
    problems: list[ProblemOut]
    own_work: bool  # the viewer wrote this version: four-eyes forbids them to decide on it
    uptake: str


def _chips(kind: str, before: tuple[str, ...], after: tuple[str, ...]) -> list[Segment]:
    return [Segment(s.op, name_of(kind, s.text)) for s in item_diff(before, after)]


def _field_diffs(live: Entry | None, proposed: Entry) -> list[FieldDiff]:
    def old(name: str) -> tuple[str, ...]:
        return getattr(live, name) if live is not None else ()

    platforms = FieldDiff("适用平台", _chips("platform", old("platforms"), proposed.platforms), "chips")
    if isinstance(proposed, Script):
        return [
            FieldDiff("顾客问法", item_diff(old("examples"), proposed.examples), "items"),
            FieldDiff("适用情绪", _chips("emotion", old("emotions"), proposed.emotions), "chips"),
            platforms,
        ]
    return [
        FieldDiff("顾客问法", item_diff(old("questions"), proposed.questions), "items"),
        FieldDiff("标签", item_diff(old("tags"), proposed.tags), "chips"),
        platforms,
    ]


def review_item(library: Library, entry: Entry, viewer_name: str, priors: Priors) -> ReviewItem:
    """One submitted version beside the live one (when there is one), with its lint result."""
    proposed = entry.pending()
    live = entry if entry.proposal is not None else None
    variables: list[VariableChange] = []
    if isinstance(proposed, Script):
        variables = variable_diff(live.variables if isinstance(live, Script) else {}, proposed.variables)
    return ReviewItem(
        entry=entry,
        is_revision=live is not None,
        author=entry.pending_author,
        text=word_diff(entry_text(live) if live is not None else "", entry_text(proposed)),
        fields=_field_diffs(live, proposed),
        variables=variables,
        problems=pending_problems(library, entry),
        own_work=same_person(viewer_name, entry.pending_author),
        uptake=uptake_text(priors, entry.id),
    )


# -- retiring: what stops being suggested ---------------------------------------------------------------------------
def _cell_names(library: Library, cells: set[tuple[str, str, str]]) -> list[str]:
    """Coverage cells grouped by intent × emotion, platforms listed: 物流查询 · 焦急（天猫、京东）."""
    names = {i.id: i.name for i in library.intents}
    grouped: dict[tuple[str, str], list[str]] = {}
    for platform, intent, emotion in sorted(cells, key=lambda c: (c[1], EMOTIONS.index(c[2]), PLATFORMS.index(c[0]))):
        grouped.setdefault((intent, emotion), []).append(name_of("platform", platform))
    return [
        f"{names.get(i, i)} · {name_of('emotion', e)}（{'、'.join(platforms)}）"
        for (i, e), platforms in grouped.items()
    ]


def retire_impact(library: Library, ids: list[str], priors: Priors) -> ImpactOut:
    """The entries that would stop being suggested, and the required coverage cells that would be left empty."""
    entries = [library.entry(i) for i in ids if i in library.entries]
    names = {i.id: i.name for i in library.intents}
    before = coverage_grid(library)
    gone = {e.id for e in entries}
    after = coverage_grid(replace(library, scripts=tuple(s for s in library.scripts if s.id not in gone)))
    emptied = {
        (platform, intent, emotion)
        for platform, rows in before.cells.items()
        for intent, row in rows.items()
        for emotion, cell in row.items()
        if cell.required and cell.count and not after.cells[platform][intent][emotion].count
    }
    return ImpactOut(
        entries=[
            ImpactEntry(
                id=e.id,
                kind=name_of("kind", e.KIND),
                text=entry_text(e),
                intents=[names.get(i, i) for i in entry_intents(e)],
                uptake=uptake_text(priors, e.id),
            )
            for e in entries
        ],
        gaps=_cell_names(library, emptied),
    )


# -- agents' corrections ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorrectionRow:
    correction: CorrectionView
    predicted_intent: str
    intent: str | None
    predicted_emotion: str
    emotion: str | None
    predicted_escalation: str
    escalation: str | None
    by_rule: str | None  # the rule behind an escalation the agent disputes: an example does not change a rule
    own_proposal: bool  # the viewer is the agent who proposed it: four-eyes forbids them to accept it


def correction_row(correction: CorrectionView, intent_names: dict[str, str], viewer_name: str) -> CorrectionRow:
    def intent(i: str | None) -> str | None:
        return intent_names.get(i, i) if i else None

    return CorrectionRow(
        correction=correction,
        predicted_intent=intent(correction.predicted_intent) or "—",
        intent=intent(correction.intent),
        predicted_emotion=name_of("emotion", correction.predicted_emotion),
        emotion=name_of("emotion", correction.emotion) if correction.emotion else None,
        predicted_escalation=escalation_name(correction.predicted_escalation),
        escalation=escalation_name(correction.escalation) if correction.escalation else None,
        by_rule=_rule_not_learned(correction),
        own_proposal=same_person(viewer_name, correction.agent_id),
    )


def _rule_not_learned(correction: CorrectionView) -> str | None:
    """The rule that escalated a turn the agent says needed another team or none: an example teaches the learned
    backstop, which speaks only where no rule fires, so that rule itself needs changing in escalation.yaml."""
    rule = correction.predicted_escalation_rule
    if correction.escalation is None or rule is None or rule == LEARNED_RULE_ID:
        return None
    return rule
