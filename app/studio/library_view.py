"""What the studio's library list shows: filtered script rows over the library API.

The loaded library is cached per process and re-read only when a file under the library directory changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from retrieval.ranking import Priors
from scripts_library.loader import Library, load_library
from scripts_library.schema import Script
from scripts_library.text import compact

PAGE_SIZE = 100


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted(root.rglob("*.yaml"))
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


@dataclass(frozen=True)
class LoadedLibrary:
    library: Library
    search_keys: dict[str, str]  # script id → compacted id, template, examples and author, for text search


class LibraryCache:
    """The library as last loaded; reloaded when any YAML file's mtime or size changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self._loaded: LoadedLibrary | None = None

    def get(self) -> LoadedLibrary:
        signature = _signature(self.root)
        with self._lock:
            if self._loaded is None or signature != self._signature:
                library = load_library(self.root)
                keys = {s.id: compact(" ".join((s.id, s.template, s.author, *s.examples))) for s in library.scripts}
                self._loaded, self._signature = LoadedLibrary(library, keys), signature
            return self._loaded


@dataclass(frozen=True)
class ScriptFilter:
    """The library browser's filters; empty fields do not filter."""

    query: str = ""
    intent: str = ""
    emotion: str = ""
    platform: str = ""
    status: str = ""
    page: int = 1

    def admits(self, script: Script, search_key: str) -> bool:
        needle = compact(self.query)
        return (
            (not needle or needle in search_key)
            and (not self.intent or self.intent in script.intents)
            and (not self.emotion or self.emotion in script.emotions)
            and (not self.platform or self.platform in script.platforms or "all" in script.platforms)
            and (not self.status or script.status == self.status)
        )


@dataclass(frozen=True)
class ScriptRow:
    script: Script
    pick_rate: float | None


@dataclass(frozen=True)
class ScriptPage:
    rows: list[ScriptRow]
    total: int
    page: int
    pages: int


def filter_scripts(loaded: LoadedLibrary, wanted: ScriptFilter, priors: Priors) -> ScriptPage:
    """One page of the scripts that pass the filter, in library order, with their pick rates."""
    matches = [s for s in loaded.library.scripts if wanted.admits(s, loaded.search_keys[s.id])]
    pages = max(1, -(-len(matches) // PAGE_SIZE))
    page = min(max(1, wanted.page), pages)
    chosen = matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    rows = [ScriptRow(s, priors.rate(s.id) if priors.rated(s.id) else None) for s in chosen]
    return ScriptPage(rows, len(matches), page, pages)
