"""Trainer studio (/studio) and agent console (/console): browser clients of the same library API, keys and
roles, request pipeline and feedback store as the JSON API, in Chinese."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.errors import add_presenter
from app.settings import Settings
from app.studio import calls, console, routes
from app.studio.library_view import LibraryCache
from app.studio.pages import error_json, error_page
from app.studio.session import LoginRequired


def install_studio(app: FastAPI, settings: Settings) -> None:
    """Add the studio's pages, fetch calls, static files, login redirect and Chinese error answers."""
    app.state.studio_library = LibraryCache(settings.library_dir)
    app.mount("/studio/static", StaticFiles(directory=Path(__file__).parent / "static"), name="studio-static")
    for module in (routes, calls, console):
        app.include_router(module.router)
    add_presenter(app, "/studio", error_page)
    add_presenter(app, "/console", error_page)
    add_presenter(app, "/studio/api", error_json)

    @app.exception_handler(LoginRequired)
    async def _to_login(_: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/studio/login?next={quote(exc.next_path)}", 303)
