"""Every error leaves the API as ``{"error": {"code", "message", "details", "params"}}`` with a 4xx/5xx status.

Other clients of the same app (the studio's pages and their fetch calls) register a *presenter* for their
path prefix: it receives the same code, message and parameters and answers in its own form (an HTML page
in Chinese, or the JSON body with a Chinese message). The code stays the stable English one everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """An error with a stable machine-readable code and a message that says what to do.

    ``params`` are the message's particulars (an id, a role) for presenters that word it themselves.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers
        self.params = params or {}


@dataclass(frozen=True)
class ErrorInfo:
    """One error as every presenter sees it."""

    status: int
    code: str
    message: str
    details: list = field(default_factory=list)
    headers: dict[str, str] | None = None
    params: dict[str, Any] = field(default_factory=dict)


Presenter = Callable[[Request, ErrorInfo], Response]


def error_response(info: ErrorInfo, message: str | None = None) -> JSONResponse:
    """The JSON body of an error; ``message`` words it for another reader (the studio's Chinese)."""
    body = {"code": info.code, "message": message or info.message, "details": info.details, "params": info.params}
    return JSONResponse({"error": body}, status_code=info.status, headers=info.headers)


def add_presenter(app: FastAPI, prefix: str, presenter: Presenter) -> None:
    """Answer errors of requests under ``prefix`` (a path, matched whole segments) with ``presenter``."""
    presenters = dict(getattr(app.state, "error_presenters", {}))
    presenters[prefix.rstrip("/")] = presenter
    app.state.error_presenters = presenters


def _presenter(request: Request) -> Presenter | None:
    """The presenter of the longest registered prefix that contains the request's path."""
    path = request.url.path
    presenters: dict[str, Presenter] = getattr(request.app.state, "error_presenters", {})
    matching = [p for p in presenters if path == p or path.startswith(p + "/")]
    return presenters[max(matching, key=len)] if matching else None


def present(request: Request, info: ErrorInfo) -> Response:
    """The error in the form the request's client reads: its presenter's, or the API's JSON body."""
    presenter = _presenter(request)
    if presenter is not None:
        return presenter(request, info)
    return error_response(info)


def _validation_details(exc: RequestValidationError) -> list[dict]:
    return [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return present(request, ErrorInfo(exc.status, exc.code, exc.message, [], exc.headers, exc.params))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        fields = ", ".join(d["field"] for d in details[:5])
        message = f"the request body is not valid ({fields}); see details"
        return present(request, ErrorInfo(422, "invalid_request", message, details))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = STATUS_CODES.get(exc.status_code, "error")
        headers = getattr(exc, "headers", None)
        return present(request, ErrorInfo(exc.status_code, code, str(exc.detail), [], headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return present(request, ErrorInfo(500, "internal_error", "an unexpected error occurred; it has been logged"))
