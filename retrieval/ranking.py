"""Retrieval and ranking step: FAISS neighbours and the classified intents give candidates; a transparent
weighted sum of features in [0, 1] orders them; the customer's mood may move its own variant first."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from retrieval.serving import Candidate, CandidateTable, ServingIndex
from retrieval.settings import RankingWeights
from retrieval.types import Classification
from scripts_library.vocabulary import EMOTION_NAMES, EMOTIONS, LEAD_EMOTIONS, PLATFORM_NAMES, PLATFORMS

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


FEATURES = ("semantic", "lexical", "intent", "emotion", "platform", "prior", "entry")


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


def semantic_scores(index: ServingIndex, vector: np.ndarray) -> np.ndarray:
    """Per candidate, its best inner product among the ``SEARCH_DEPTH`` nearest searchable texts (-inf: none)."""
    best = np.full(len(index.table), -np.inf)
    scores, rows = index.nearest(vector, SEARCH_DEPTH)
    owners = index.table.row_owner[rows]
    np.maximum.at(best, owners[owners >= 0], scores[owners >= 0])
    return best


def candidate_positions(table: CandidateTable, semantic: np.ndarray, c: Classification) -> np.ndarray:
    """The nearest entries, then every entry of the turn's requests and alternative intents, without repeats."""
    seen = np.flatnonzero(np.isfinite(semantic))
    nearest = seen[np.argsort(-semantic[seen], kind="stable")][:SEMANTIC_CANDIDATES]
    intents = [*(i.id for i in c.intents), *(label for label, _ in c.intent.alternatives)]
    parts = [nearest, *(table.by_intent[i] for i in intents if i in table.by_intent)]
    ordered = np.concatenate(parts) if parts else nearest
    _, first = np.unique(ordered, return_index=True)
    return ordered[np.sort(first)]


def feature_matrix(
    table: CandidateTable,
    chosen: np.ndarray,
    semantic: np.ndarray,
    entry_fit: np.ndarray | None,
    priors: Priors,
    c: Classification,
    platform: str | None,
) -> np.ndarray:
    """The scorer's inputs, one row per chosen candidate, columns in ``FEATURES`` order, each in [0, 1]."""
    found = semantic[np.isfinite(semantic)]
    near = semantic[chosen]
    near = np.where(np.isfinite(near), near, found.min() if found.size else 0.0)
    topic = np.array([c.topic_probabilities.get(label, 0.0) for label in table.labels])
    intent = (table.serves[chosen] * topic).max(axis=1)
    own = table.primary[chosen] == table.labels.get(c.intent.id, -2)
    intent = np.where(own, np.maximum(intent, c.intent.confidence), intent)
    text = c.normalized.text
    lexical = np.array(
        [
            process.extractOne(text, table.candidates[i].examples, scorer=fuzz.ratio)[1] / 100
            if text and table.candidates[i].examples
            else 0.0
            for i in chosen
        ]
    )
    if c.emotion.id in EMOTIONS:
        suited = table.suits[chosen, EMOTIONS.index(c.emotion.id)]
        otherwise = 0.0 if c.emotion.id in LEAD_EMOTIONS else np.where(table.neutral[chosen], 0.6, 0.2)
        emotion = np.where(suited, 1.0, otherwise)
    else:
        emotion = np.zeros(len(chosen))
    specific = table.specific[chosen, PLATFORMS.index(platform)] if platform in PLATFORMS else np.zeros(len(chosen))
    prior = np.array([priors.rate(table.candidates[i].id, c.intent.id) for i in chosen])
    columns = table.entry_column[chosen]
    entry = np.full(len(chosen), UNSEEN_ENTRY_FIT)
    if entry_fit is not None:
        entry = np.where(columns >= 0, entry_fit[np.maximum(columns, 0)], UNSEEN_ENTRY_FIT)
    return np.column_stack(
        [np.maximum(near, 0.0), lexical, intent, emotion, np.where(specific, 1.0, 0.5), prior, entry]
    )


def mood_first(order: np.ndarray, suits: np.ndarray, emotion: str) -> np.ndarray:
    """Angry customers get an apology-first reply first, anxious ones a concrete-time reply first: the best
    candidate suited to that mood moves to the front (``suits``: per candidate, whether it suits ``emotion``)."""
    if emotion not in LEAD_EMOTIONS:
        return order
    suited = np.flatnonzero(suits[order])
    if not suited.size:
        return order
    first = suited[0]
    return np.concatenate([order[first : first + 1], order[:first], order[first + 1 :]])


class Ranking:
    """The candidates of one request, best first; ``Scored`` items are made only as they are read."""

    def __init__(self, table: CandidateTable, chosen: np.ndarray, matrix: np.ndarray, scores: np.ndarray, order):
        self._table, self._chosen, self._matrix, self._scores, self._order = table, chosen, matrix, scores, order

    def _item(self, k: int) -> Scored:
        candidate = self._table.candidates[self._chosen[k]]
        return Scored(candidate, RankingFeatures(*map(float, self._matrix[k])), float(self._scores[k]))

    def __iter__(self) -> Iterator[Scored]:
        return (self._item(k) for k in self._order)

    def __len__(self) -> int:
        return len(self._order)

    def serving(self, intent: str) -> Iterator[Scored]:
        """The candidates whose first intent is ``intent``, best first (the suggestions for a further request)."""
        wanted = self._table.labels.get(intent, -2)
        return (self._item(k) for k in self._order if self._table.primary[self._chosen[k]] == wanted)


def rank(
    index: ServingIndex,
    c: Classification,
    search_vector: np.ndarray,
    entry_log_p: np.ndarray | None,
    platform: str | None,
    weights: RankingWeights,
    priors: Priors,
) -> Ranking:
    """Every candidate that suits the platform, best first."""
    table = index.table
    semantic = semantic_scores(index, search_vector)
    chosen = candidate_positions(table, semantic, c)
    if platform in PLATFORMS:
        chosen = chosen[table.on_platform[chosen, PLATFORMS.index(platform)]]
    entry_fit = index.entry_model.fit_scores(entry_log_p) if index.entry_model and entry_log_p is not None else None
    matrix = feature_matrix(table, chosen, semantic, entry_fit, priors, c, platform)
    scores = matrix @ np.array([getattr(weights, name) for name in FEATURES])
    order = np.argsort(-scores, kind="stable")
    suits = table.suits[chosen, EMOTIONS.index(c.emotion.id)] if c.emotion.id in EMOTIONS else np.zeros(len(chosen))
    return Ranking(table, chosen, matrix, scores, mood_first(order, suits, c.emotion.id))


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
