"""What every studio route needs: the cached library, the store, who acts, and the role dependencies."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, Request

from app.auth import Principal
from app.errors import ApiError
from app.store import Store
from app.studio.library_view import LibraryCache, LoadedLibrary
from app.studio.session import api_caller, has_role, page_viewer
from scripts_library.schema import Entry
from scripts_library.workflow import Actor

TRAINER_PAGE = Depends(page_viewer("trainer"))
AGENT_PAGE = Depends(page_viewer("agent"))
TRAINER_CALL = Depends(api_caller("trainer"))
APPROVER_CALL = Depends(api_caller("approver"))
AGENT_CALL = Depends(api_caller("agent"))


def loaded(request: Request) -> LoadedLibrary:
    """The library as last loaded (re-read when a file changed)."""
    cache: LibraryCache = request.app.state.studio_library
    return cache.get()


def library_root(request: Request) -> Path:
    return request.app.state.settings.library_dir


def store(request: Request) -> Store:
    return request.app.state.service.store


def actor(viewer: Principal) -> Actor:
    """The workflow's view of the signed-in person: their name and whether their role may approve."""
    return Actor(viewer.name, can_approve=has_role(viewer, "approver"))


def find_entry(request: Request, entry_id: str) -> Entry:
    """The script or FAQ entry, or a 404 that the page or call words in Chinese."""
    try:
        return loaded(request).library.entry(entry_id)
    except KeyError as exc:
        raise ApiError(404, "unknown_entry", f"no script or FAQ entry {entry_id}", params={"id": entry_id}) from exc
