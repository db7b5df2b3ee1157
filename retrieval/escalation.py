"""Escalation decisions from the policy in ``escalation.yaml``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scripts_library.schema import EscalationFile, EscalationRule
from scripts_library.text import compact


@dataclass(frozen=True)
class Escalation:
    required: bool
    team: str | None = None
    reason: str | None = None
    respond_within_minutes: int | None = None
    rule_id: str | None = None


NO_ESCALATION = Escalation(required=False)


class EscalationPolicy:
    """First matching rule wins; rules are ordered by urgency in the policy file."""

    def __init__(self, policy: EscalationFile) -> None:
        self._rules = [(rule, tuple(compact(p) for p in rule.patterns)) for rule in policy.rules]

    @staticmethod
    def _matches(rule: EscalationRule, patterns: tuple[str, ...], intents: Sequence[str], text: str) -> bool:
        intent_hit = bool(rule.intents) and any(i in rule.intents for i in intents)
        pattern_hit = bool(patterns) and any(p in text for p in patterns)
        if rule.require_both:
            return intent_hit and pattern_hit
        return intent_hit or pattern_hit

    def decide(self, message: str, intents: Sequence[str]) -> Escalation:
        """``intents``: the predicted intent first, then any alternative likely enough to act on."""
        text = compact(message)
        for rule, patterns in self._rules:
            if self._matches(rule, patterns, intents, text):
                return Escalation(True, rule.team, rule.reason, rule.respond_within_minutes, rule.id)
        return NO_ESCALATION
