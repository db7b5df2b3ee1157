"""Studio pages and their fetch calls: thin adapters over the library API, the store and the service."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from app import api
from app.auth import Principal
from app.errors import ApiError
from app.reports import most_edited, scripts_to_write
from app.schemas import FeedbackRequest, FeedbackResponse, SuggestRequest, SuggestResponse
from app.studio.library_view import LibraryCache, ScriptFilter, filter_scripts
from app.studio.models import ChangeOut, CheckResponse, PreviewOut, ProblemOut, ReviewIn, ScriptDraft
from app.studio.session import (
    api_caller,
    check_csrf,
    check_login_csrf,
    clear_session,
    csrf_token,
    has_role,
    local_mode,
    new_login_csrf,
    page_viewer,
    safe_next,
    session_principal,
    session_value,
    set_login_csrf,
    set_session,
)
from scripts_library import workflow
from scripts_library.coverage import coverage_grid
from scripts_library.lint import lint_entry
from scripts_library.loader import LibraryError
from scripts_library.render import TemplateRejected, render
from scripts_library.schema import Script
from scripts_library.vocabulary import EMOTIONS, PLATFORMS, STATUSES
from scripts_library.workflow import Actor, Change, EditRefused

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)
TRAINER_PAGE = Depends(page_viewer("trainer"))
AGENT_PAGE = Depends(page_viewer("agent"))
TRAINER_CALL = Depends(api_caller("trainer"))
APPROVER_CALL = Depends(api_caller("approver"))
AGENT_CALL = Depends(api_caller("agent"))


def _library(request: Request) -> LibraryCache:
    return request.app.state.studio_library


def _root(request: Request) -> Path:
    return request.app.state.settings.library_dir


def _actor(viewer: Principal) -> Actor:
    return Actor(viewer.name, can_approve=has_role(viewer, "approver"))


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a page with the session's CSRF token and a CSP that admits only our own scripts and styles."""
    viewer = session_principal(request)
    base = {"viewer": viewer, "csrf": csrf_token(request) if viewer else "", "local_mode": local_mode(request)}
    response = TEMPLATES.TemplateResponse(request, name, base | context, status_code=status_code)
    response.headers["content-security-policy"] = PAGE_CSP
    return response


# -- login ---------------------------------------------------------------------------------------------------------
@router.get("/studio/login")
def login_form(request: Request, next: str = "/studio", error: str = "") -> HTMLResponse:
    """The sign-in form; its CSRF token travels in a cookie and a hidden field (double submit)."""
    token = new_login_csrf()
    response = page(request, "login.html", {"next": safe_next(next), "error": error, "login_csrf": token})
    set_login_csrf(response, request, token)
    return response


@router.post("/studio/login")
def login(
    request: Request, secret: str = Form(""), next: str = Form("/studio"), login_csrf: str = Form("")
) -> RedirectResponse:
    check_login_csrf(request, login_csrf)
    value = session_value(request, secret)
    if value is None:
        wrong = "请输入您的姓名" if local_mode(request) else "API 密钥无效"
        return RedirectResponse(f"/studio/login?next={quote(safe_next(next))}&error={quote(wrong)}", 303)
    response = RedirectResponse(safe_next(next), 303)
    set_session(response, request, value)
    return response


@router.post("/studio/logout")
def logout(request: Request, csrf_token: str = Form("")) -> RedirectResponse:
    check_csrf(request, csrf_token)
    response = RedirectResponse("/studio/login", 303)
    clear_session(response)
    return response


# -- pages ---------------------------------------------------------------------------------------------------------
@router.get("/studio")
def library_list(
    request: Request,
    q: str = "",
    intent: str = "",
    emotion: str = "",
    platform: str = "",
    status: str = "",
    page_no: int = 1,
    viewer: Principal = TRAINER_PAGE,
) -> HTMLResponse:
    loaded = _library(request).get()
    wanted = ScriptFilter(q, intent, emotion, platform, status, page_no)
    result = filter_scripts(loaded, wanted, request.app.state.service.priors)
    return page(
        request,
        "list.html",
        {
            "result": result,
            "filter": wanted,
            "intents": loaded.library.intents,
            "emotions": EMOTIONS,
            "platforms": PLATFORMS,
            "statuses": STATUSES,
        },
    )


@router.get("/studio/scripts/{script_id}")
def editor(request: Request, script_id: str, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    library = _library(request).get().library
    try:
        script = library.script(script_id)
    except KeyError as exc:
        raise ApiError(404, "unknown_script", f"no script {script_id}; find it in the list at /studio") from exc
    return page(
        request,
        "editor.html",
        {
            "script": script,
            "pending": script.pending(),
            "emotions": EMOTIONS,
            "platforms": (*PLATFORMS, "all"),
            "audit": request.app.state.service.store.audit_trail(script_id, limit=50),
            "can_approve": has_role(viewer, "approver")
            and not workflow.same_person(viewer.name, script.pending_author),
            "location": library.locations[script_id],
        },
    )


@router.post("/studio/new")
def create_script(
    request: Request,
    intent: str = Form(...),
    slug: str = Form(...),
    csrf_token: str = Form(""),
    viewer: Principal = TRAINER_PAGE,
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    store = request.app.state.service.store
    try:
        change = workflow.create_script(_root(request), intent, slug.strip(), _actor(viewer), store)
    except (EditRefused, ValidationError) as exc:
        raise ApiError(409, "edit_refused", str(exc)) from exc
    return RedirectResponse(f"/studio/scripts/{change.entry.id}", 303)


@router.get("/studio/coverage")
def coverage(request: Request, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    library = _library(request).get().library
    store = request.app.state.service.store
    return page(
        request,
        "coverage.html",
        {
            "grid": coverage_grid(library),
            "edited": most_edited(store.edited_texts(), library),
            "to_write": scripts_to_write(store.none_fit_messages()),
            "intent_names": {i.id: i.name for i in library.intents},
        },
    )


@router.get("/studio/audit")
def audit(request: Request, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    return page(request, "audit.html", {"audit": request.app.state.service.store.audit_trail(limit=200)})


@router.get("/studio/try")
def try_it(request: Request, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    return page(request, "try.html", {"platforms": PLATFORMS})


@router.get("/console")
def console(request: Request, viewer: Principal = AGENT_PAGE) -> HTMLResponse:
    return page(request, "console.html", {"platforms": PLATFORMS})


# -- fetch calls: lint + preview while typing ----------------------------------------------------------------------
def _schema_problems(exc: ValidationError) -> list[ProblemOut]:
    return [
        ProblemOut(
            severity="error",
            code="schema",
            message=f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}",
            hint="",
            start=0,
            end=0,
        )
        for e in exc.errors()
    ]


@router.post("/studio/api/scripts/{script_id}/check", response_model=CheckResponse)
def check(request: Request, script_id: str, draft: ScriptDraft, viewer: Principal = TRAINER_CALL) -> CheckResponse:
    """Lint the editor's unsaved text exactly as the linter would, and render the preview with sample values."""
    library = _library(request).get().library
    try:
        script = library.script(script_id)
        content = draft.content()
    except KeyError as exc:
        raise ApiError(404, "unknown_script", f"no script {script_id}") from exc
    except ValidationError as exc:
        return CheckResponse(problems=_schema_problems(exc), lint_text="", preview=None, can_submit=False)
    candidate: Script = script.model_copy(update=dict(content))
    problems = lint_entry(candidate, library)
    try:
        lint_text = render(candidate.template, candidate.variables, {}).text
        samples = {v.name: v.sample for v in draft.variables if v.sample}
        rendered = render(candidate.template, candidate.variables, samples)
        preview = PreviewOut(text=rendered.text, missing_variables=list(rendered.missing_variables))
    except TemplateRejected:
        lint_text, preview = "", None
    return CheckResponse(
        problems=[ProblemOut(**{k: getattr(p, k) for k in ProblemOut.model_fields}) for p in problems],
        lint_text=lint_text,
        preview=preview,
        can_submit=not any(p.severity == "error" for p in problems),
    )


# -- fetch calls: the workflow -------------------------------------------------------------------------------------
def _apply(request: Request, step: Callable[[], Change]) -> ChangeOut:
    """Run one workflow step (it writes its own audit row) and describe it."""
    try:
        change = step()
    except EditRefused as exc:
        raise ApiError(409, "edit_refused", str(exc)) from exc
    except (ValidationError, LibraryError) as exc:
        raise ApiError(422, "invalid_script", f"the script would not load, nothing was saved: {exc}") from exc
    return ChangeOut(
        script_id=change.entry.id,
        from_status=change.from_status,
        to_status=change.to_status,
        version=change.entry.version,
        audit_id=change.audit_id,
    )


@router.post("/studio/api/scripts/{script_id}/save", response_model=ChangeOut)
def save(request: Request, script_id: str, draft: ScriptDraft, viewer: Principal = TRAINER_CALL) -> ChangeOut:
    store = request.app.state.service.store

    def step() -> Change:
        return workflow.save(_root(request), script_id, draft.content(), _actor(viewer), store, draft.base_updated_at)

    return _apply(request, step)


@router.post("/studio/api/scripts/{script_id}/submit", response_model=ChangeOut)
def submit_for_approval(
    request: Request, script_id: str, review: ReviewIn, viewer: Principal = TRAINER_CALL
) -> ChangeOut:
    store = request.app.state.service.store
    return _apply(request, lambda: workflow.submit(_root(request), script_id, _actor(viewer), store, review.comment))


@router.post("/studio/api/scripts/{script_id}/reject", response_model=ChangeOut)
def reject_submission(
    request: Request, script_id: str, review: ReviewIn, viewer: Principal = APPROVER_CALL
) -> ChangeOut:
    store = request.app.state.service.store
    return _apply(request, lambda: workflow.reject(_root(request), script_id, _actor(viewer), store, review.comment))


@router.post("/studio/api/scripts/{script_id}/approve", response_model=ChangeOut)
def approve_submission(
    request: Request, script_id: str, review: ReviewIn, viewer: Principal = APPROVER_CALL
) -> ChangeOut:
    """Approve (four-eyes), then re-index incrementally and hot-swap, so /v1/suggest serves it at once."""
    started = time.perf_counter()
    store = request.app.state.service.store
    result = _apply(request, lambda: workflow.approve(_root(request), script_id, _actor(viewer), store, review.comment))
    index_version = request.app.state.service.publish_library()
    return result.model_copy(
        update={"index_version": index_version, "publish_seconds": round(time.perf_counter() - started, 3)}
    )


@router.post("/studio/api/scripts/{script_id}/retire", response_model=ChangeOut)
def retire_script(request: Request, script_id: str, review: ReviewIn, viewer: Principal = APPROVER_CALL) -> ChangeOut:
    store = request.app.state.service.store
    result = _apply(request, lambda: workflow.retire(_root(request), script_id, _actor(viewer), store, review.comment))
    return result.model_copy(update={"index_version": request.app.state.service.publish_library()})


# -- fetch calls: try-it and the console call the very functions behind /v1/suggest and /v1/feedback -------------
@router.post("/studio/api/suggest", response_model=SuggestResponse)
def suggest(body: SuggestRequest, request: Request, response: Response, viewer: Principal = AGENT_CALL):
    return api.suggest(body, request, response)


@router.post("/studio/api/feedback", response_model=FeedbackResponse, status_code=201)
def feedback(body: FeedbackRequest, request: Request, response: Response, viewer: Principal = AGENT_CALL):
    return api.feedback(body.model_copy(update={"agent_id": body.agent_id or viewer.name}), request, response)
