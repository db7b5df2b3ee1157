"""Trainer studio (/studio) and agent console demo (/console): browser clients of the same library API,
keys and roles, request pipeline and feedback store as the JSON API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.settings import Settings
from app.studio.library_view import LibraryCache
from app.studio.routes import router
from app.studio.session import LoginRequired


def install_studio(app: FastAPI, settings: Settings) -> None:
    """Add the studio's pages, static files and login redirect to the app."""
    app.state.studio_library = LibraryCache(settings.library_dir)
    app.mount("/studio/static", StaticFiles(directory=Path(__file__).parent / "static"), name="studio-static")
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _to_login(_: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/studio/login?next={quote(exc.next_path)}", 303)
