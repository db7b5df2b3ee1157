"""Reports for trainers from agents' feedback: the scripts agents rewrite most and the messages no
suggestion fitted. One implementation, shown by the studio's coverage page and printed by
``python -m eval feedback-report``."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from scripts_library.loader import Library


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
