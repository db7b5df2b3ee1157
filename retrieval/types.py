"""The request pipeline's inputs and outputs: plain frozen dataclasses, no HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from retrieval.escalation import Escalation
from scripts_library.text import NormalizedMessage


@dataclass(frozen=True)
class Turn:
    role: str
    text: str


@dataclass(frozen=True)
class MessageInput:
    message: str
    history: tuple[Turn, ...] = ()
    platform: str | None = None
    context: Mapping[str, object] = field(default_factory=dict)
    top_k: int = 5


@dataclass(frozen=True)
class IntentResult:
    id: str
    name: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class EmotionResult:
    id: str
    confidence: float
    intensity: float


@dataclass(frozen=True)
class Classification:
    intent: IntentResult
    emotion: EmotionResult
    escalation: Escalation
    normalized: NormalizedMessage
    intent_probabilities: Mapping[str, float]
    # The intent model's own probabilities (history included, entry classifier not): what the ranker's intent
    # feature reads, since the entry classifier reaches the ranker through its own feature already.
    topic_probabilities: Mapping[str, float]
    # Further requests in the same turn ("到哪了 顺便问下能开发票吗"), each with its own confidence.
    secondary_intents: tuple[IntentResult, ...] = ()
    handoff_requested: bool = False  # the customer asks for a person (转人工): routing, not an escalation

    @property
    def intents(self) -> tuple[IntentResult, ...]:
        """Every request of the turn, the primary first."""
        return (self.intent, *self.secondary_intents)


@dataclass(frozen=True)
class Suggestion:
    script_id: str
    version: int
    kind: str
    text: str
    score: float
    intent: str
    emotion_fit: float
    reasons: tuple[str, ...]
    missing_variables: tuple[str, ...]


@dataclass(frozen=True)
class SuggestionGroup:
    """The suggestions for one request of the turn."""

    intent: IntentResult
    suggestions: tuple[Suggestion, ...]


@dataclass(frozen=True)
class SuggestResult:
    classification: Classification
    suggestions: tuple[Suggestion, ...]  # for the whole turn, best first (the primary request's group)
    index_version: str
    dropped: tuple[str, ...] = ()
    groups: tuple[SuggestionGroup, ...] = ()  # one per request, the primary first
