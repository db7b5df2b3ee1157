"""Browser sessions for the studio and the console: the same API keys and roles, kept in a cookie.

The login form stores the presented API key in an HttpOnly, SameSite=Strict cookie, so page scripts can
never read it and other sites cannot send it; every request re-checks it against the configured hashes,
so removing a key ends its sessions at once. With no keys configured the service is loopback-only and
the login form asks for a name instead: that person acts with the admin role (the four-eyes rule still
compares names). Every state-changing request must carry a CSRF token derived from the session cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import Response

from app.auth import ROLE_RANK, Principal, Role, principal_for_key
from app.errors import ApiError
from scripts_library.vocabulary import ROLE_NAMES

SESSION_COOKIE = "huashu_session"
LOGIN_CSRF_COOKIE = "huashu_login_csrf"
CSRF_HEADER = "x-csrf-token"
LOCAL_PREFIX = "local:"
SESSION_MAX_AGE = 12 * 3600


class LoginRequired(Exception):
    """A page was requested without a valid session: the browser is sent to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _keys(request: Request) -> list:
    return request.app.state.settings.api_keys


def local_mode(request: Request) -> bool:
    """No keys configured: the service only listens on loopback and trusts its callers."""
    return not _keys(request)


def session_value(request: Request, secret: str) -> str | None:
    """The cookie value for a login attempt, or None when the key (or the name, in local mode) is not valid."""
    secret = secret.strip()
    if not secret or len(secret) > 256:
        return None
    if local_mode(request):
        return LOCAL_PREFIX + quote(secret[:64])
    return secret if principal_for_key(secret, _keys(request)) else None


def session_principal(request: Request) -> Principal | None:
    """Who the session cookie belongs to, re-checked against the configured keys on every request."""
    return principal_of(request, request.cookies.get(SESSION_COOKIE))


def principal_of(request: Request, raw: str | None) -> Principal | None:
    """Who a session value (a key, or a local name) belongs to."""
    if not raw:
        return None
    if local_mode(request):
        name = unquote(raw.removeprefix(LOCAL_PREFIX)) if raw.startswith(LOCAL_PREFIX) else ""
        return Principal(name=name, role="admin") if name.strip() else None
    return principal_for_key(raw, _keys(request))


def has_role(principal: Principal, minimum: Role) -> bool:
    return principal.role == "local" or ROLE_RANK[principal.role] >= ROLE_RANK[minimum]


def csrf_token(request: Request) -> str:
    """A token only a page served to this session can know: an HMAC keyed by the session secret."""
    raw = request.cookies.get(SESSION_COOKIE, "")
    return hmac.new(hashlib.sha256(raw.encode()).digest(), b"huashu-csrf", hashlib.sha256).hexdigest()


def check_csrf(request: Request, presented: str | None) -> None:
    if not presented or not hmac.compare_digest(presented, csrf_token(request)):
        raise ApiError(403, "csrf_failed", "the form is stale or did not come from the studio; reload the page")


def set_session(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def new_login_csrf() -> str:
    """Double-submit token for the login form itself (there is no session yet to derive one from)."""
    return secrets.token_urlsafe(24)


def set_login_csrf(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )


def login_csrf_ok(request: Request, presented: str) -> bool:
    """The login form carries the token of its own cookie (an expired or forged form does not)."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(presented, expected)


def safe_next(path: str | None) -> str:
    """Only redirect back into the studio or the console after login, never to another site."""
    if path and path.startswith(("/studio", "/console")) and "//" not in path and "\\" not in path:
        return path
    return "/studio"


def landing(principal: Principal, path: str | None) -> str:
    """Where a sign-in lands: where it was going, except that agents, who have only the console, land there."""
    target = safe_next(path)
    return target if has_role(principal, "trainer") or target.startswith("/console") else "/console"


def too_low(principal: Principal, minimum: Role, what: str) -> ApiError:
    """The refusal of a role below ``minimum``, naming both roles in Chinese for the page or call."""
    return ApiError(
        403,
        "forbidden",
        f"this {what} needs the {minimum} role, not {principal.role}",
        params={"role": ROLE_NAMES.get(principal.role, principal.role), "needed": ROLE_NAMES[minimum]},
    )


def page_viewer(minimum: Role):
    """Dependency for HTML pages: no session → redirect to login; a too-low role → 403."""

    def dependency(request: Request) -> Principal:
        principal = session_principal(request)
        if principal is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        if not has_role(principal, minimum):
            raise too_low(principal, minimum, "page")
        return principal

    return dependency


def api_caller(minimum: Role):
    """Dependency for the pages' fetch calls: a session with the role, and the CSRF header."""

    def dependency(request: Request) -> Principal:
        principal = session_principal(request)
        if principal is None:
            raise ApiError(401, "unauthorized", "your session has ended; sign in again at /studio/login")
        if not has_role(principal, minimum):
            raise too_low(principal, minimum, "action")
        check_csrf(request, request.headers.get(CSRF_HEADER))
        if not local_mode(request):
            request.app.state.rate_limiter.check(principal.name)
        request.state.principal = principal
        return principal

    return dependency
