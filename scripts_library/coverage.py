"""Coverage of the library: approved, lint-clean scripts per intent × emotion × platform.

Used by the CLI (`python -m scripts_library coverage`) and the studio's heat map.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from scripts_library.lint import lint_library, servable_ids
from scripts_library.loader import Library
from scripts_library.vocabulary import EMOTIONS, PLATFORMS

# Every intent needs a script for these moods on every platform; an empty cell is a gap.
REQUIRED_EMOTIONS = ("angry", "anxious", "neutral")


def coverage_counts(library: Library) -> Counter[tuple[str, str, str]]:
    """Servable scripts per (primary intent, emotion, platform); a script for `all` counts on each."""
    ok = servable_ids(library, lint_library(library))
    counts: Counter[tuple[str, str, str]] = Counter()
    for script in library.scripts:
        if script.id not in ok:
            continue
        platforms = PLATFORMS if "all" in script.platforms else script.platforms
        for emotion in script.emotions:
            for platform in platforms:
                counts[(script.primary_intent, emotion, platform)] += 1
    return counts


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
