"""The editor's and the approvers' fetch calls: thin adapters over the workflow (which audits every step), the
linter and the renderer. Refusals keep the workflow's English code and carry a Chinese message."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from app.auth import Principal
from app.errors import ApiError
from app.studio.common import APPROVER_CALL, TRAINER_CALL, actor, find_entry, library_root, loaded, store
from app.studio.messages import message_for, name_of, problem_text, schema_error_text
from app.studio.models import (
    BulkIn,
    BulkOut,
    BulkResult,
    ChangeOut,
    CheckResponse,
    Draft,
    EntryOut,
    FaqDraft,
    ImpactOut,
    PreviewOut,
    ProblemOut,
    RestoreIn,
    ReviewIn,
    ScriptDraft,
    VariableIn,
)
from app.studio.session import has_role, too_low
from app.studio.views import pending_problems, problem_out, retire_impact
from scripts_library import workflow
from scripts_library.lint import lint_entry
from scripts_library.loader import Library, LibraryError
from scripts_library.render import TemplateRejected, render
from scripts_library.schema import Entry, Script
from scripts_library.workflow import Change, EditRefused

router = APIRouter(include_in_schema=False)
API = "/studio/api/scripts/{entry_id}"  # scripts and FAQ entries alike


# -- refusals and results in the studio's words ---------------------------------------------------------------------
def refused(library: Library, exc: EditRefused, entry_id: str) -> ApiError:
    """A workflow refusal as a 409 with its stable code and the particulars its Chinese message names."""
    params = {"id": entry_id}
    if entry_id in library.entries:
        entry = library.entry(entry_id)
        params |= {"state": name_of("status", entry.state), "author": entry.pending_author}
        if exc.code == "lint_errors":
            errors = [p for p in pending_problems(library, entry) if p.severity == "error"]
            params["problems"] = "；".join(p.message for p in errors)
    return ApiError(409, exc.code, str(exc), params=params)


def invalid(exc: ValidationError | LibraryError) -> ApiError:
    """Content that would not load: nothing was written."""
    if isinstance(exc, ValidationError):
        detail = "；".join(schema_error_text(e) for e in exc.errors())
    else:
        detail = "；".join(problem_text(p)[0] for p in exc.problems)
    return ApiError(
        422, "invalid_script", f"the entry would not load, nothing was saved: {exc}", params={"detail": detail}
    )


def said(change: Change) -> str:
    """What a workflow step did, as the editor reports it."""
    entry, to = change.entry, change.to_status
    if change.audit_id is None:
        return "内容没有变化，未重复保存。"
    live_note = f"线上 v{entry.version} 仍在推荐，审核通过后替换。" if entry.proposal is not None else ""
    if to == "draft":
        return "已保存草稿。" + live_note
    if to == "submitted":
        return "已提交审核，等待审核人处理。" + live_note
    if to == "rejected":
        return "已驳回，作者会看到您的意见。"
    if to == "retired":
        return "已下线，不再推荐。审核人可以撤销下线。"
    if change.from_status == "retired":
        return "已撤销下线，重新推荐。"
    return f"已审核通过，v{entry.version} 已上线。"


def apply(request: Request, entry_id: str, step: Callable[[], Change]) -> ChangeOut:
    """Run one workflow step (it writes its own audit row) and describe it."""
    try:
        change = step()
    except EditRefused as exc:
        raise refused(loaded(request).library, exc, entry_id) from exc
    except (ValidationError, LibraryError) as exc:
        raise invalid(exc) from exc
    return ChangeOut(
        script_id=change.entry.id,
        from_status=change.from_status,
        to_status=change.to_status,
        version=change.entry.version,
        audit_id=change.audit_id,
        message=said(change),
    )


def publish(request: Request, result: ChangeOut, started: float) -> ChangeOut:
    """Re-index incrementally and hot-swap, so /v1/suggest serves the change when the call returns."""
    version = request.app.state.service.publish_library()
    return result.model_copy(
        update={"index_version": version, "publish_seconds": round(time.perf_counter() - started, 3)}
    )


# -- the editor: load, lint + preview while typing, save -------------------------------------------------------------
def _draft_of(entry: Entry) -> Draft:
    pending = entry.pending()
    stamp = (entry.proposal or entry).updated_at
    base = stamp.isoformat() if stamp else None
    if isinstance(pending, Script):
        variables = [VariableIn(name=n, label=v.label, default=v.default) for n, v in pending.variables.items()]
        return ScriptDraft(
            template=pending.template,
            variables=variables,
            examples=list(pending.examples),
            emotions=list(pending.emotions),
            platforms=list(pending.platforms),
            base_updated_at=base,
        )
    return FaqDraft(
        answer=pending.answer,
        questions=list(pending.questions),
        tags=list(pending.tags),
        platforms=list(pending.platforms),
        base_updated_at=base,
    )


def _same_kind(entry: Entry, draft: Draft) -> None:
    if isinstance(draft, ScriptDraft) != isinstance(entry, Script):
        params = {"id": entry.id, "kind": name_of("kind", entry.KIND)}
        raise ApiError(422, "wrong_kind", f"{entry.id} is a {entry.KIND}", params=params)


@router.get(API, response_model=EntryOut)
def load_entry(request: Request, entry_id: str, viewer: Principal = TRAINER_CALL) -> EntryOut:
    """The entry's pending version as saved now: the conflict view shows it beside the trainer's."""
    entry = find_entry(request, entry_id)
    draft = _draft_of(entry)
    return EntryOut(
        id=entry.id,
        kind=entry.KIND,
        state=entry.state,
        author=entry.pending_author,
        updated_at=draft.base_updated_at,
        draft=draft,
    )


def _schema_problems(exc: ValidationError) -> list[ProblemOut]:
    return [
        ProblemOut(severity="error", code="schema", message=schema_error_text(e), hint="", start=0, end=0)
        for e in exc.errors()
    ]


def _rendered(candidate: Script, draft: ScriptDraft) -> tuple[str, PreviewOut | None]:
    """The template with defaults (what the linter reads) and with the preview's sample values."""
    try:
        lint_text = render(candidate.template, candidate.variables, {}).text
        samples = {v.name: v.sample for v in draft.variables if v.sample}
        rendered = render(candidate.template, candidate.variables, samples)
    except TemplateRejected:
        return "", None
    return lint_text, PreviewOut(text=rendered.text, missing_variables=list(rendered.missing_variables))


@router.post(f"{API}/check", response_model=CheckResponse)
def check(request: Request, entry_id: str, draft: Draft, viewer: Principal = TRAINER_CALL) -> CheckResponse:
    """Lint the editor's unsaved text exactly as the linter would, and render the preview with sample values."""
    library = loaded(request).library
    entry = find_entry(request, entry_id)
    _same_kind(entry, draft)
    try:
        content = draft.content()
    except ValidationError as exc:
        return CheckResponse(problems=_schema_problems(exc), lint_text="", preview=None, can_submit=False)
    candidate = entry.model_copy(update=dict(content))
    problems = [problem_out(p) for p in lint_entry(candidate, library)]
    if isinstance(candidate, Script) and isinstance(draft, ScriptDraft):
        lint_text, preview = _rendered(candidate, draft)
    else:
        lint_text, preview = candidate.answer, PreviewOut(text=candidate.answer, missing_variables=[])
    return CheckResponse(
        problems=problems,
        lint_text=lint_text,
        preview=preview,
        can_submit=not any(p.severity == "error" for p in problems),
    )


@router.post(f"{API}/save", response_model=ChangeOut)
def save(request: Request, entry_id: str, draft: Draft, viewer: Principal = TRAINER_CALL) -> ChangeOut:
    """Save a draft: an approved entry gets a revision beside its live text, which keeps being suggested."""
    _same_kind(find_entry(request, entry_id), draft)

    def step() -> Change:
        content = draft.content()
        return workflow.save(
            library_root(request), entry_id, content, actor(viewer), store(request), draft.base_updated_at
        )

    return apply(request, entry_id, step)


@router.post(f"{API}/restore", response_model=ChangeOut)
def restore(request: Request, entry_id: str, body: RestoreIn, viewer: Principal = TRAINER_CALL) -> ChangeOut:
    """ "Restore this version": the live content an audit row recorded becomes a revision to approve."""
    entry = find_entry(request, entry_id)
    row = store(request).audit_entry(body.audit_id)
    if row is None or row.entry_id != entry_id or not row.snapshot:
        raise ApiError(404, "unknown_audit", f"no audit row {body.audit_id} of {entry_id}", params={"id": entry_id})

    def step() -> Change:
        version = type(entry).model_validate_json(row.snapshot).version
        content = workflow.snapshot_content(entry, row.snapshot)
        comment = f"恢复 v{version}（审计记录 #{row.id}）"
        return workflow.save(library_root(request), entry_id, content, actor(viewer), store(request), comment=comment)

    return apply(request, entry_id, step)


# -- review steps ---------------------------------------------------------------------------------------------------
@router.post(f"{API}/submit", response_model=ChangeOut)
def submit(request: Request, entry_id: str, review: ReviewIn, viewer: Principal = TRAINER_CALL) -> ChangeOut:
    root, who, sink = library_root(request), actor(viewer), store(request)
    return apply(request, entry_id, lambda: workflow.submit(root, entry_id, who, sink, review.comment))


@router.post(f"{API}/reject", response_model=ChangeOut)
def reject(request: Request, entry_id: str, review: ReviewIn, viewer: Principal = APPROVER_CALL) -> ChangeOut:
    root, who, sink = library_root(request), actor(viewer), store(request)
    return apply(request, entry_id, lambda: workflow.reject(root, entry_id, who, sink, review.comment))


@router.post(f"{API}/approve", response_model=ChangeOut)
def approve(request: Request, entry_id: str, review: ReviewIn, viewer: Principal = APPROVER_CALL) -> ChangeOut:
    """Approve (four-eyes): the revision replaces the live text in one file write, then it is served."""
    started = time.perf_counter()
    root, who, sink = library_root(request), actor(viewer), store(request)
    result = apply(request, entry_id, lambda: workflow.approve(root, entry_id, who, sink, review.comment))
    return publish(request, result, started)


@router.post(f"{API}/retire", response_model=ChangeOut)
def retire(request: Request, entry_id: str, review: ReviewIn, viewer: Principal = APPROVER_CALL) -> ChangeOut:
    started = time.perf_counter()
    root, who, sink = library_root(request), actor(viewer), store(request)
    result = apply(request, entry_id, lambda: workflow.retire(root, entry_id, who, sink, review.comment))
    return publish(request, result, started)


@router.post(f"{API}/unretire", response_model=ChangeOut)
def unretire(request: Request, entry_id: str, review: ReviewIn, viewer: Principal = APPROVER_CALL) -> ChangeOut:
    """Undo a retirement: the entry is suggested again as it was."""
    started = time.perf_counter()
    root, who, sink = library_root(request), actor(viewer), store(request)
    result = apply(request, entry_id, lambda: workflow.unretire(root, entry_id, who, sink, review.comment))
    return publish(request, result, started)


@router.get("/studio/api/retire-impact", response_model=ImpactOut)
def impact(
    request: Request, ids: Annotated[list[str], Query(max_length=200)], viewer: Principal = TRAINER_CALL
) -> ImpactOut:
    """What retiring these entries stops suggesting, for the confirmation dialog."""
    return retire_impact(loaded(request).library, ids, request.app.state.service.priors)


@router.post("/studio/api/bulk", response_model=BulkOut)
def bulk(request: Request, body: BulkIn, viewer: Principal = TRAINER_CALL) -> BulkOut:
    """Submit or retire several entries; each is its own audited step, and retirements are published once."""
    if body.action == "retire" and not has_role(viewer, "approver"):
        raise too_low(viewer, "approver", "action")
    if body.action == "retire" and not body.comment.strip():
        raise ApiError(422, "needs_reason", "say why they are retired")
    root, who, sink = library_root(request), actor(viewer), store(request)
    step = workflow.submit if body.action == "submit" else workflow.retire
    results = []
    for entry_id in dict.fromkeys(body.ids):
        try:
            result = apply(request, entry_id, lambda i=entry_id: step(root, i, who, sink, body.comment))
            results.append(BulkResult(id=entry_id, ok=True, message=result.message))
        except ApiError as exc:
            results.append(BulkResult(id=entry_id, ok=False, message=message_for(exc.code, exc.params)))
    published = body.action == "retire" and any(r.ok for r in results)
    version = request.app.state.service.publish_library() if published else None
    return BulkOut(results=results, index_version=version)
