"""Studio pages and the console page: sign-in, the library list, the editor, the approver queue, agents'
corrections, coverage, try-it and the audit trail. Thin adapters over the library API, the store and the
service; the work itself happens in the pages' fetch calls (calls.py, console.py)."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from app.auth import Principal
from app.reports import most_edited, scripts_to_write
from app.studio.common import AGENT_PAGE, TRAINER_PAGE, actor, find_entry, library_root, loaded, store
from app.studio.diffing import word_diff
from app.studio.library_view import EntryFilter, entry_text, filter_entries, pending_review
from app.studio.messages import message_for
from app.studio.pages import page
from app.studio.session import (
    check_csrf,
    clear_session,
    has_role,
    landing,
    local_mode,
    login_csrf_ok,
    new_login_csrf,
    principal_of,
    safe_next,
    session_value,
    set_login_csrf,
    set_session,
)
from app.studio.views import correction_row, history, review_item, uptake_text
from scripts_library import workflow
from scripts_library.coverage import coverage_grid
from scripts_library.loader import LibraryError
from scripts_library.schema import NO_TEAM
from scripts_library.vocabulary import EMOTIONS, PLATFORMS, STATUSES
from scripts_library.workflow import EditRefused, same_person

router = APIRouter(include_in_schema=False)
SLUG = re.compile(r"^[a-z0-9_]+$")
ORDER_FIELDS = (  # the console's order details: remembered for the chat, sent as template variables
    ("order_id", "订单号"),
    ("courier", "快递公司"),
    ("tracking_no", "运单号"),
    ("order_amount", "订单金额"),
    ("refund_amount", "退款金额"),
    ("product_name", "商品名称"),
)


# -- sign-in ---------------------------------------------------------------------------------------------------------
def _to_login(next_path: str, error: str) -> RedirectResponse:
    return RedirectResponse(f"/studio/login?next={quote(safe_next(next_path))}&error={quote(error)}", 303)


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
    """Sign in; agents land on the console (the studio is for trainers), everyone else where they were going."""
    if not login_csrf_ok(request, login_csrf):
        return _to_login(next, message_for("login_expired"))
    value = session_value(request, secret)
    principal = principal_of(request, value)
    if value is None or principal is None:
        return _to_login(next, "请输入您的姓名" if local_mode(request) else "API 密钥无效")
    response = RedirectResponse(landing(principal, next), 303)
    set_session(response, request, value)
    return response


@router.post("/studio/logout")
def logout(request: Request, csrf_token: str = Form("")) -> RedirectResponse:
    check_csrf(request, csrf_token)
    response = RedirectResponse("/studio/login", 303)
    clear_session(response)
    return response


# -- the library ---------------------------------------------------------------------------------------------------
@router.get("/studio")
def library_list(
    request: Request,
    q: str = "",
    intent: str = "",
    emotion: str = "",
    platform: str = "",
    status: str = "",
    kind: str = "",
    sort: str = "library",
    order: str = "asc",
    page_no: int = 1,
    viewer: Principal = TRAINER_PAGE,
) -> HTMLResponse:
    library = loaded(request)
    wanted = EntryFilter(q, intent, emotion, platform, status, kind, sort, order == "desc", page_no)
    return page(
        request,
        "list.html",
        {
            "result": filter_entries(library, wanted, request.app.state.service.priors),
            "filter": wanted,
            "intents": library.library.intents,
            "intent_names": library.intent_names,
            "emotions": EMOTIONS,
            "platforms": PLATFORMS,
            "statuses": STATUSES,
            "waiting": len(pending_review(library)),
            "can_approve": has_role(viewer, "approver"),
        },
    )


@router.get("/studio/scripts/{entry_id}")
def editor(request: Request, entry_id: str, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    """The editor of a script or an FAQ entry: the pending version, the live one beside it, every revision."""
    library = loaded(request)
    entry = find_entry(request, entry_id)
    pending = entry.pending()
    trail = store(request).audit_trail(entry_id, limit=50)
    return page(
        request,
        "editor.html",
        {
            "entry": entry,
            "pending": pending,
            "live_diff": word_diff(entry_text(entry), entry_text(pending)) if entry.proposal else [],
            "emotions": EMOTIONS,
            "platforms": (*PLATFORMS, "all"),
            "history": history(entry, trail),
            "can_approve": has_role(viewer, "approver"),
            "own_work": same_person(viewer.name, entry.pending_author),
            "location": library.library.locations[entry_id],
            "intent_names": library.intent_names,
            "uptake_text": uptake_text(request.app.state.service.priors, entry_id),
        },
    )


def _new_form(request: Request, values: dict[str, str], error: str = "", status_code: int = 200) -> HTMLResponse:
    library = loaded(request)
    context = {"intents": library.library.intents, "values": values, "error": error}
    return page(request, "new.html", context | {"emotions": EMOTIONS, "platforms": PLATFORMS}, status_code)


@router.get("/studio/new")
def new_form(
    request: Request,
    kind: str = "script",
    intent: str = "",
    emotion: str = "",
    platform: str = "",
    viewer: Principal = TRAINER_PAGE,
) -> HTMLResponse:
    """A new script or FAQ entry; the coverage map links here with the empty cell's intent, mood and platform."""
    return _new_form(request, {"kind": kind, "intent": intent, "emotion": emotion, "platform": platform})


@router.post("/studio/new", response_model=None)
def create(
    request: Request,
    kind: str = Form("script"),
    intent: str = Form(...),
    slug: str = Form(...),
    emotion: str = Form(""),
    platform: str = Form(""),
    csrf_token: str = Form(""),
    viewer: Principal = TRAINER_PAGE,
) -> HTMLResponse | RedirectResponse:
    check_csrf(request, csrf_token)
    values = {"kind": kind, "intent": intent, "slug": slug.strip(), "emotion": emotion, "platform": platform}
    if not SLUG.match(values["slug"]):
        return _new_form(request, values, "英文标识只能用小写英文字母、数字和下划线，例如 delay_apology。", 422)
    root, who, sink = library_root(request), actor(viewer), store(request)
    try:
        if kind == "faq":
            change = workflow.create_faq(root, intent, values["slug"], who, sink)
        else:
            moods = [emotion] if emotion in EMOTIONS else ["neutral"]
            where = [platform] if platform in PLATFORMS else ["all"]
            change = workflow.create_script(root, intent, values["slug"], who, sink, moods, where)
    except EditRefused as exc:
        new_id = f"faq.{intent}.{values['slug']}" if kind == "faq" else f"{intent}.{values['slug']}"
        return _new_form(request, values, message_for(exc.code, {"id": new_id, "intent": intent}), 409)
    except (ValidationError, LibraryError):
        return _new_form(request, values, "话术库文件无法加载，未创建；请联系管理员。", 422)
    return RedirectResponse(f"/studio/scripts/{change.entry.id}", 303)


# -- work waiting for someone -----------------------------------------------------------------------------------------
@router.get("/studio/review")
def review_queue(request: Request, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    """Every submitted version, live beside proposed, with its lint result; approvers decide here."""
    library = loaded(request)
    priors = request.app.state.service.priors
    items = [review_item(library.library, e, viewer.name, priors) for e in pending_review(library)]
    context = {"items": items, "can_approve": has_role(viewer, "approver"), "intent_names": library.intent_names}
    return page(request, "review.html", context)


@router.get("/studio/corrections")
def corrections(request: Request, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    """Agents' corrections of intent and emotion: proposed training examples for an approver to accept."""
    names = loaded(request).intent_names
    rows = [correction_row(c, names, viewer.name) for c in store(request).corrections("pending")]
    return page(request, "corrections.html", {"rows": rows, "can_approve": has_role(viewer, "approver")})


# -- reports -------------------------------------------------------------------------------------------------------
@router.get("/studio/coverage")
def coverage(request: Request, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    library = loaded(request)
    priors = request.app.state.service.priors
    rated = sorted((i for i in priors.by_script if i in library.library.entries), key=priors.rate)
    return page(
        request,
        "coverage.html",
        {
            "grid": coverage_grid(library.library),
            "edited": most_edited(store(request).edited_texts(), library.library),
            "to_write": scripts_to_write(store(request).none_fit_messages()),
            "intent_names": library.intent_names,
            "uptake": [(library.library.entry(i), uptake_text(priors, i)) for i in rated[:20]],
        },
    )


@router.get("/studio/audit")
def audit(request: Request, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    library = loaded(request)
    context = {"audit": store(request).audit_trail(limit=200), "entries": library.library.entries}
    return page(request, "audit.html", context | {"intent_names": library.intent_names})


@router.get("/studio/try")
def try_it(request: Request, viewer: Principal = TRAINER_PAGE) -> HTMLResponse:
    return page(request, "try.html", {"platforms": PLATFORMS})


@router.get("/console")
def console(request: Request, viewer: Principal = AGENT_PAGE) -> HTMLResponse:
    """The agent's console: suggestions, order details, corrections of intent, emotion and escalation."""
    index = request.app.state.service.assistant.index
    intents = index.intent_names
    labels = {name: v.label for s in loaded(request).library.scripts for name, v in s.variables.items()}
    context = {
        "platforms": PLATFORMS,
        "order_fields": ORDER_FIELDS,
        "console_data": {
            "intents": intents,
            "labels": labels | dict(ORDER_FIELDS),
            "emotions": list(EMOTIONS),
            "teams": list(index.escalation.teams),
            "no_team": NO_TEAM,
        },
    }
    return page(request, "console.html", context)
