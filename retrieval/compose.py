"""Composition step: render the ranked candidates with the order's variables, drop any whose rendered text
breaks a wording rule, skip near-repeats, and keep the best ``top_k``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz

from retrieval.ranking import Scored
from retrieval.types import Suggestion
from scripts_library.lint import promised_reply_minutes
from scripts_library.render import TemplateRejected

log = logging.getLogger(__name__)

DIVERSITY_MAX_SIMILARITY = 85.0


@dataclass(frozen=True)
class Composed:
    suggestions: tuple[Suggestion, ...]
    dropped: tuple[str, ...]  # entries refused at render time (unsafe template or forbidden wording)


def compose(
    ranked: Iterable[Scored],
    context: Mapping[str, object],
    breaks_wording_rules: Callable[[str], bool],
    top_k: int,
    explain: Callable[[Scored], tuple[str, ...]],
    deadline_minutes: int | None = None,
) -> Composed:
    """``deadline_minutes``: the escalation's response time; a reply promising another one is never shown."""
    chosen: list[Suggestion] = []
    dropped: list[str] = []
    for item in ranked:
        if len(chosen) >= top_k:
            break
        candidate = item.candidate
        try:
            rendered = candidate.render(context)
        except TemplateRejected:
            dropped.append(candidate.id)
            continue
        if breaks_wording_rules(rendered.text):
            log.warning("suggestion %s dropped: rendered text breaks a compliance rule", candidate.id)
            dropped.append(candidate.id)
            continue
        if deadline_minutes and any(m != deadline_minutes for m in promised_reply_minutes(rendered.text)):
            continue  # beside a 30-minute escalation, "2小时内给您回复" would tell the customer two deadlines
        if any(fuzz.ratio(rendered.text, s.text) >= DIVERSITY_MAX_SIMILARITY for s in chosen):
            continue
        chosen.append(
            Suggestion(
                candidate.id,
                candidate.version,
                candidate.kind,
                rendered.text,
                round(item.score, 4),
                candidate.intents[0],
                item.features.emotion,
                explain(item),
                rendered.missing_variables,
            )
        )
    return Composed(tuple(chosen), tuple(dropped))
