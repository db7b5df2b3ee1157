"""What the studio shows about the library: filtered script rows, coverage grid and feedback panels.

Plain functions over the library API and the feedback store, so the pages stay thin. The loaded
library is cached per process and re-read only when a file under the library directory changes.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from retrieval.normalize import compact
from scripts_library.coverage import REQUIRED_EMOTIONS, coverage_counts
from scripts_library.loader import Library, load_library
from scripts_library.schema import EMOTIONS, PLATFORMS, Script

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


def filter_scripts(loaded: LoadedLibrary, wanted: ScriptFilter, pick_rates: dict[str, float]) -> ScriptPage:
    """One page of the scripts that pass the filter, in library order, with their pick rates."""
    matches = [s for s in loaded.library.scripts if wanted.admits(s, loaded.search_keys[s.id])]
    pages = max(1, -(-len(matches) // PAGE_SIZE))
    page = min(max(1, wanted.page), pages)
    chosen = matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return ScriptPage([ScriptRow(s, pick_rates.get(s.id)) for s in chosen], len(matches), page, pages)


@dataclass(frozen=True)
class CoverageCell:
    count: int
    required: bool  # an empty required cell is a gap the trainers must fill


@dataclass(frozen=True)
class CoverageGrid:
    """Approved, lint-clean scripts per intent × emotion, one table per platform."""

    intents: tuple[str, ...]
    emotions: tuple[str, ...]
    platforms: tuple[str, ...]
    cells: dict[str, dict[str, dict[str, CoverageCell]]]  # platform → intent → emotion → cell
    gaps: int


def coverage_grid(library: Library) -> CoverageGrid:
    counts = coverage_counts(library)
    cells = {
        platform: {
            intent: {
                emotion: CoverageCell(counts[(intent, emotion, platform)], emotion in REQUIRED_EMOTIONS)
                for emotion in EMOTIONS
            }
            for intent in library.intent_ids
        }
        for platform in PLATFORMS
    }
    gaps = sum(c.required and not c.count for p in cells.values() for row in p.values() for c in row.values())
    return CoverageGrid(library.intent_ids, EMOTIONS, PLATFORMS, cells, gaps)


@dataclass(frozen=True)
class EditedScript:
    script_id: str
    template: str
    edits: int
    texts: list[str]  # the agents' final texts, already PII-redacted by the API


def most_edited(edited: list[tuple[str, str]], library: Library, limit: int = 10) -> list[EditedScript]:
    """Scripts agents rewrite most often, with their rewrites: candidates for a better wording."""
    by_script: dict[str, list[str]] = defaultdict(list)
    for script_id, text in edited:
        by_script[script_id].append(text)
    templates = {s.id: s.template for s in library.scripts} | {f.id: f.answer for f in library.faqs}
    ranked = sorted(by_script.items(), key=lambda item: -len(item[1]))[:limit]
    return [EditedScript(i, templates.get(i, "（已不在库中）"), len(texts), texts[:5]) for i, texts in ranked]


@dataclass(frozen=True)
class MissingScripts:
    intent: str
    count: int
    messages: list[str]  # redacted customer messages no suggestion fitted


def scripts_to_write(none_fit: list[tuple[str, str]], limit_per_intent: int = 5) -> list[MissingScripts]:
    """``none_fit`` messages grouped by intent, largest group first: the scripts still to write."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for intent, message in none_fit:
        grouped[intent].append(message)
    counts = Counter({intent: len(messages) for intent, messages in grouped.items()})
    return [
        MissingScripts(intent, count, list(dict.fromkeys(grouped[intent]))[:limit_per_intent])
        for intent, count in counts.most_common()
    ]
