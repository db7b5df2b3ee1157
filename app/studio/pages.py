"""Rendering the studio's pages: templates with the session's CSRF token, a strict CSP, the Chinese names and
times the browser turns into its own zone; and errors, as an HTML page for browser routes and as JSON with a
Chinese message for the pages' fetch calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from app.auth import Principal
from app.errors import ErrorInfo, error_response
from app.studio.library_view import pending_review
from app.studio.messages import FIELD_NAMES, client_catalogue, escalation_name, message_for, name_of, status_title
from app.studio.session import csrf_token, has_role, local_mode, session_principal
from scripts_library.loader import LibraryError

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
CHINA = timezone(timedelta(hours=8))


def when(moment: datetime | None) -> Markup:
    """A ``<time>`` the pages' script shows in the browser's zone; without script it reads in Beijing time.

    The store writes UTC (SQLite hands it back without a zone); the library writes +08:00.
    """
    if moment is None:
        return Markup("—")
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return Markup('<time datetime="{}">{}（北京时间）</time>').format(aware.isoformat(), fallback)


def pct(rate: float) -> str:
    return f"{rate * 100:.0f}%"


TEMPLATES.env.filters["zh"] = lambda key, kind: name_of(kind, key)
TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["escalation"] = escalation_name
TEMPLATES.env.filters["pct"] = pct
TEMPLATES.env.globals["catalogue"] = client_catalogue()


def nav_counts(request: Request, viewer: Principal | None) -> dict[str, int] | None:
    """Work waiting for trainers and approvers, shown in the navigation on every studio page."""
    if viewer is None or not has_role(viewer, "trainer"):
        return None
    try:
        review = len(pending_review(request.app.state.studio_library.get()))
        corrections = len(request.app.state.service.store.corrections("pending", limit=1000))
    except (LibraryError, SQLAlchemyError):  # an error page must render even then
        return None
    return {"review": review, "corrections": corrections}


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a page with the session's CSRF token and a CSP that admits only our own scripts and styles."""
    viewer = session_principal(request)
    base = {
        "viewer": viewer,
        "csrf": csrf_token(request) if viewer else "",
        "local_mode": local_mode(request),
        "nav_counts": nav_counts(request, viewer),
        "path": request.url.path,
    }
    response = TEMPLATES.TemplateResponse(request, name, base | context, status_code=status_code)
    response.headers["content-security-policy"] = PAGE_CSP
    return response


def _fields(details: list) -> str:
    names = [FIELD_NAMES.get(str(d.get("field", "")).split(".")[-1], "") for d in details]
    listed = "、".join(dict.fromkeys(n for n in names if n))
    return f"（{listed}）" if listed else ""


def chinese_message(info: ErrorInfo) -> str:
    """The error's message from the catalogue, with its particulars."""
    params = info.params | ({"fields": _fields(info.details)} if info.code == "invalid_request" else {})
    return message_for(info.code, params)


def error_page(request: Request, info: ErrorInfo) -> HTMLResponse:
    """An error on a browser route: a page in Chinese that says what happened and where to go next."""
    response = page(
        request,
        "error.html",
        {"title": status_title(info.status), "message": chinese_message(info), "code": info.code},
        status_code=info.status,
    )
    for header, value in (info.headers or {}).items():
        response.headers[header] = value
    return response


def error_json(request: Request, info: ErrorInfo) -> JSONResponse:
    """An error of a page's fetch call: the API's JSON body, its English code, a Chinese message."""
    return error_response(info, chinese_message(info))
