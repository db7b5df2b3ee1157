"""Retrieval and ranking step: FAISS neighbours and the classified intents give candidates; a transparent
weighted sum of features in [0, 1] orders them; the customer's mood may move its own variant first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from retrieval.serving import Candidate, ServingIndex
from retrieval.settings import RankingWeights
from retrieval.types import Classification
from scripts_library.vocabulary import EMOTION_NAMES, LEAD_EMOTIONS, PLATFORM_NAMES

SEARCH_DEPTH = 64
SEMANTIC_CANDIDATES = 30
UNSEEN_ENTRY_FIT = 0.5  # entries newer than the entry classifier (classifiers reused by a quick build)


@dataclass(frozen=True)
class FeedbackCounts:
    """What agents did with a suggestion: picks count 1, edits (sent after rewording) ½, rejections 0."""

    picked: int = 0
    edited: int = 0
    rejected: int = 0

    @property
    def total(self) -> int:
        return self.picked + self.edited + self.rejected

    @property
    def good(self) -> float:
        return self.picked + 0.5 * self.edited

    def __add__(self, other: FeedbackCounts) -> FeedbackCounts:
        return FeedbackCounts(self.picked + other.picked, self.edited + other.edited, self.rejected + other.rejected)

    def __sub__(self, other: FeedbackCounts) -> FeedbackCounts:
        return FeedbackCounts(self.picked - other.picked, self.edited - other.edited, self.rejected - other.rejected)


class Priors:
    """How often agents take a suggestion, per script and per script × intent: a Beta-Binomial estimate.

    A script's rate starts at ``base`` (no data: no change to the ranking) with the weight of ``strength``
    pseudo-events; its rate for one intent is shrunk the same way toward its rate on the other intents. So a
    few events move it a little and twenty consistent ones decide (20 rejections → 0.08, 20 picks → 0.92).
    """

    def __init__(
        self, counts: Mapping[tuple[str, str], FeedbackCounts] | None = None, base: float = 0.5, strength: float = 4.0
    ) -> None:
        self.base, self.strength = base, strength
        self.by_pair: dict[tuple[str, str], FeedbackCounts] = dict(counts or {})
        self.by_script: dict[str, FeedbackCounts] = {}
        for (script_id, _), c in self.by_pair.items():
            self.by_script[script_id] = self.by_script.get(script_id, FeedbackCounts()) + c

    def _shrunk(self, c: FeedbackCounts | None, toward: float) -> float:
        return toward if c is None else (c.good + self.strength * toward) / (c.total + self.strength)

    def rate(self, script_id: str, intent: str | None = None) -> float:
        """The script's pick rate, for ``intent`` when given."""
        overall = self.by_script.get(script_id)
        pair = self.by_pair.get((script_id, intent)) if intent is not None else None
        if pair is None:
            return self._shrunk(overall, self.base)
        elsewhere = overall - pair
        return self._shrunk(pair, self._shrunk(elsewhere if elsewhere.total else None, self.base))

    def rated(self, script_id: str) -> bool:
        return script_id in self.by_script


NO_FEEDBACK = Priors()


@dataclass(frozen=True)
class RankingFeatures:
    semantic: float
    lexical: float
    intent: float
    emotion: float
    platform: float
    prior: float
    entry: float

    def score(self, w: RankingWeights) -> float:
        return (
            w.semantic * self.semantic
            + w.lexical * self.lexical
            + w.intent * self.intent
            + w.emotion * self.emotion
            + w.platform * self.platform
            + w.prior * self.prior
            + w.entry * self.entry
        )


@dataclass(frozen=True)
class Scored:
    """One candidate with its features and score."""

    candidate: Candidate
    features: RankingFeatures
    score: float


def semantic_scores(index: ServingIndex, vector: np.ndarray) -> dict[str, float]:
    """Best inner product per entry among the ``SEARCH_DEPTH`` nearest searchable texts."""
    depth = min(SEARCH_DEPTH, index.faiss.ntotal)
    if depth == 0:
        return {}
    scores, rows = index.faiss.search(vector.reshape(1, -1).astype(np.float32), depth)
    best: dict[str, float] = {}
    for score, row in zip(scores[0], rows[0], strict=True):
        if row >= 0:
            owner = index.rows[row]
            best[owner] = max(best.get(owner, -1.0), float(score))
    return best


def candidate_ids(index: ServingIndex, semantic: Mapping[str, float], c: Classification) -> list[str]:
    """The nearest entries, then every entry of the turn's requests and alternative intents, without repeats."""
    ids = sorted(semantic, key=semantic.get, reverse=True)[:SEMANTIC_CANDIDATES]
    for intent in [*(i.id for i in c.intents), *(label for label, _ in c.intent.alternatives)]:
        ids += index.by_intent.get(intent, [])
    return list(dict.fromkeys(ids))


def emotion_fit(customer_emotion: str, suited: Sequence[str]) -> float:
    """How well a reply suits the customer's mood: angry/anxious customers need their variants."""
    if customer_emotion in suited:
        return 1.0
    if customer_emotion in LEAD_EMOTIONS:
        return 0.0
    return 0.6 if "neutral" in suited else 0.2


def features(
    candidate: Candidate,
    semantic: float,
    entry_fit: float,
    prior: float,
    c: Classification,
    platform: str | None,
) -> RankingFeatures:
    """The scorer's inputs for one candidate, each in [0, 1]."""
    intent_p = max(c.topic_probabilities.get(i, 0.0) for i in candidate.intents)
    if candidate.intents[0] == c.intent.id:
        intent_p = max(intent_p, c.intent.confidence)
    lexical = 0.0
    if candidate.examples and c.normalized.text:
        lexical = process.extractOne(c.normalized.text, candidate.examples, scorer=fuzz.ratio)[1] / 100
    specific = platform is not None and platform in candidate.platforms
    return RankingFeatures(
        semantic=max(semantic, 0.0),
        lexical=lexical,
        intent=intent_p,
        emotion=emotion_fit(c.emotion.id, candidate.emotions),
        platform=1.0 if specific else 0.5,
        prior=prior,
        entry=entry_fit,
    )


def lead_with_mood_variant(ranked: list[Scored], emotion: str) -> list[Scored]:
    """Angry customers get an apology-first reply first, anxious ones a concrete-time reply first."""
    if emotion not in LEAD_EMOTIONS:
        return ranked
    for position, item in enumerate(ranked):
        if emotion in item.candidate.emotions:
            return [item, *ranked[:position], *ranked[position + 1 :]]
    return ranked


def rank(
    index: ServingIndex,
    c: Classification,
    search_vector: np.ndarray,
    entry_log_p: np.ndarray | None,
    platform: str | None,
    weights: RankingWeights,
    priors: Priors,
) -> list[Scored]:
    """Every candidate that suits the platform, best first."""
    semantic = semantic_scores(index, search_vector)
    floor = min(semantic.values(), default=0.0)
    entry_fit = index.entry_fit(entry_log_p)
    scored = []
    for candidate_id in candidate_ids(index, semantic, c):
        candidate = index.candidates[candidate_id]
        if candidate.suits_platform(platform):
            f = features(
                candidate,
                semantic.get(candidate_id, floor),
                entry_fit.get(candidate_id, UNSEEN_ENTRY_FIT),
                priors.rate(candidate_id, c.intent.id),
                c,
                platform,
            )
            scored.append(Scored(candidate, f, f.score(weights)))
    return lead_with_mood_variant(sorted(scored, key=lambda item: item.score, reverse=True), c.emotion.id)


def reasons(index: ServingIndex, item: Scored, c: Classification, platform: str | None, rated: bool) -> tuple[str, ...]:
    """Why a suggestion ranks where it does, in the agent's words."""
    f, candidate = item.features, item.candidate
    intent_name = index.intent_names.get(candidate.intents[0], candidate.intents[0])
    said = [f"语义相似度 {f.semantic:.2f}", f"意图匹配「{intent_name}」{f.intent:.2f}"]
    if f.emotion == 1.0 and c.emotion.id != "neutral":
        said.append(f"适合{EMOTION_NAMES[c.emotion.id]}情绪的话术")
    if f.lexical >= 0.6:
        said.append(f"与示例字面相近 {f.lexical:.2f}")
    if f.platform == 1.0 and platform:
        said.append(f"{PLATFORM_NAMES.get(platform, platform)}平台专用")
    if rated:
        said.append(f"坐席采纳率 {f.prior:.2f}")
    return tuple(said)
