"""Coverage of the library: approved, lint-clean scripts per intent × emotion × platform.

Used by the CLI (`python -m scripts_library coverage`) and the studio's heat map.
"""

from __future__ import annotations

from collections import Counter

from scripts_library.lint import lint_library, servable_ids
from scripts_library.loader import Library
from scripts_library.schema import PLATFORMS

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
