"""What the studio's library list shows: filtered, sorted rows of scripts and FAQ entries over the library API.

The loaded library is cached per process and re-read only when a file under the library directory changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from retrieval.ranking import FeedbackCounts, Priors
from scripts_library.loader import Library, load_library
from scripts_library.schema import Entry, Script
from scripts_library.text import compact
from scripts_library.vocabulary import EMOTION_NAMES, PLATFORM_NAMES, STATUS_NAMES

PAGE_SIZE = 100
SORTS = ("library", "id", "intent", "status", "version", "author", "updated", "rate")


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted(root.rglob("*.yaml"))
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def entry_text(entry: Entry) -> str:
    """The reply an entry sends: a script's template or an FAQ entry's answer."""
    return entry.template if isinstance(entry, Script) else entry.answer


def entry_intents(entry: Entry) -> tuple[str, ...]:
    return entry.intents if isinstance(entry, Script) else (entry.intent,)


def entry_emotions(entry: Entry) -> tuple[str, ...]:
    """The moods a script suits; an FAQ entry answers a question whatever the mood."""
    return entry.emotions if isinstance(entry, Script) else ()


def _search_key(entry: Entry, intent_names: dict[str, str]) -> str:
    """Everything a trainer might type to find an entry, compacted (繁体, full width and case do not matter)."""
    pending = entry.pending()
    words = [entry.id, entry.author, entry.pending_author, entry_text(entry), entry_text(pending)]
    words += [intent_names.get(i, i) for i in entry_intents(entry)]
    words += [EMOTION_NAMES[e] for e in entry_emotions(pending)]
    words += [PLATFORM_NAMES.get(p, p) for p in pending.platforms]
    words += [STATUS_NAMES[entry.status], STATUS_NAMES.get(entry.state, "")]
    words += list(pending.examples if isinstance(pending, Script) else (*pending.questions, *pending.tags))
    return compact(" ".join(words))


@dataclass(frozen=True)
class LoadedLibrary:
    library: Library
    intent_names: dict[str, str]
    search_keys: dict[str, str]  # entry id → compacted id, texts, examples, names and author, for search

    @property
    def entries(self) -> tuple[Entry, ...]:
        return (*self.library.scripts, *self.library.faqs)


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
                names = {i.id: i.name for i in library.intents}
                keys = {e.id: _search_key(e, names) for e in (*library.scripts, *library.faqs)}
                self._loaded, self._signature = LoadedLibrary(library, names, keys), signature
            return self._loaded


@dataclass(frozen=True)
class EntryFilter:
    """The library browser's filters and order; empty fields do not filter. ``query`` is tokens in any order."""

    query: str = ""
    intent: str = ""
    emotion: str = ""
    platform: str = ""
    status: str = ""
    kind: str = ""
    sort: str = "library"
    descending: bool = False
    page: int = 1

    def admits(self, entry: Entry, search_key: str) -> bool:
        tokens = [compact(t) for t in self.query.split()]
        platforms = entry.pending().platforms
        return (
            all(t in search_key for t in tokens)
            and (not self.kind or self.kind == entry.KIND)
            and (not self.intent or self.intent in entry_intents(entry))
            and (not self.emotion or self.emotion in entry_emotions(entry.pending()))
            and (not self.platform or self.platform in platforms or "all" in platforms)
            and (not self.status or self.status in (entry.status, entry.state))
        )

    def query_string(self, **changes: Any) -> str:
        """This filter as the list's query string, with ``changes`` (for sort links and pages)."""
        values = {
            "q": self.query,
            "intent": self.intent,
            "emotion": self.emotion,
            "platform": self.platform,
            "status": self.status,
            "kind": self.kind,
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
            "page_no": self.page,
        } | changes
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


@dataclass(frozen=True)
class Uptake:
    """Agents' use of an entry: the ranking's smoothed pick rate and the counts behind it."""

    rate: float
    counts: FeedbackCounts


def uptake(priors: Priors, entry_id: str) -> Uptake | None:
    """The entry's pick rate with its counts, or None when agents have not used it yet."""
    if not priors.rated(entry_id):
        return None
    return Uptake(priors.rate(entry_id), priors.by_script[entry_id])


@dataclass(frozen=True)
class EntryRow:
    entry: Entry
    uptake: Uptake | None


@dataclass(frozen=True)
class EntryPage:
    rows: list[EntryRow]
    total: int
    page: int
    pages: int


def changed_at(entry: Entry) -> float:
    """When the entry's pending version was last written (seconds since the epoch; 0 when unknown)."""
    stamp = (entry.proposal or entry).updated_at
    return stamp.timestamp() if stamp else 0.0


def _sort_key(sort: str, names: dict[str, str], priors: Priors) -> Callable[[Entry], Any]:
    keys: dict[str, Callable[[Entry], Any]] = {
        "id": lambda e: e.id,
        "intent": lambda e: names.get(entry_intents(e)[0], ""),
        "status": lambda e: (e.status, e.state),
        "version": lambda e: e.version,
        "author": lambda e: e.pending_author,
        "updated": changed_at,
        "rate": lambda e: priors.rate(e.id) if priors.rated(e.id) else -1.0,
    }
    return keys[sort]


def filter_entries(loaded: LoadedLibrary, wanted: EntryFilter, priors: Priors) -> EntryPage:
    """One page of the entries that pass the filter, in the wanted order, with agents' pick rates."""
    matches = [e for e in loaded.entries if wanted.admits(e, loaded.search_keys[e.id])]
    if wanted.sort in SORTS and wanted.sort != "library":
        matches.sort(key=_sort_key(wanted.sort, loaded.intent_names, priors), reverse=wanted.descending)
    elif wanted.descending:
        matches.reverse()
    pages = max(1, -(-len(matches) // PAGE_SIZE))
    page = min(max(1, wanted.page), pages)
    chosen = matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return EntryPage([EntryRow(e, uptake(priors, e.id)) for e in chosen], len(matches), page, pages)


def pending_review(loaded: LoadedLibrary) -> list[Entry]:
    """Entries (new or revisions) waiting for an approver, oldest submission first."""
    waiting = [e for e in loaded.entries if e.state == "submitted"]
    return sorted(waiting, key=changed_at)
