"""The request pipeline: normalise → embed once → classify → retrieve → rank → render.

Plain classes and functions, no HTTP: the API, the evaluation suites and the studio all call
``Assistant.classify`` / ``Assistant.suggest``. ``ServingIndex`` is an immutable view of one
published artifact; ``Assistant.swap`` replaces it atomically (hot reload), and every request
works on the one it picked up when it started. Agents' pick rates (priors) are passed in per call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from retrieval.artifact import load_artifact
from retrieval.classify import classify
from retrieval.compose import compose
from retrieval.encoder import Encoder, configured_encoder
from retrieval.ranking import NO_FEEDBACK, Priors, Scored, rank, reasons
from retrieval.serving import ServingIndex
from retrieval.settings import ClassifierSettings, RankingWeights, RetrievalSettings
from retrieval.types import Classification, MessageInput, SuggestionGroup, SuggestResult

SECONDARY_TOP_K = 3  # suggestions shown for each further request of a turn


class EmbeddingLRU:
    """Recent message embeddings; history turns are usually messages embedded a moment ago."""

    def __init__(self, encoder: Encoder, size: int) -> None:
        self._encoder = encoder
        self._size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __call__(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._items.get(text)
            if vector is not None:
                self._items.move_to_end(text)
                return vector
        vector = self._encoder.encode([text])[0]
        if self._size:
            with self._lock:
                self._items[text] = vector
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        return vector


class Assistant:
    """Classifies customer messages and ranks compliant reply suggestions for them."""

    def __init__(
        self,
        encoder: Encoder,
        index: ServingIndex,
        weights: RankingWeights,
        thresholds: ClassifierSettings,
        cache_size: int = 4096,
    ) -> None:
        self.encoder = encoder
        self.index = index
        self.weights = weights
        self.thresholds = thresholds
        self._embed = EmbeddingLRU(encoder, cache_size)

    def clear_embedding_cache(self) -> None:
        """Forget recent message embeddings (benchmarks use it to time real work)."""
        self._embed.clear()

    def swap(self, index: ServingIndex) -> None:
        """Serve ``index`` from the next request on; requests in flight finish on the old one."""
        self.index = index

    def classify(self, request: MessageInput) -> Classification:
        return classify(self.index, self.thresholds, self._embed, request).classification

    def suggest(self, request: MessageInput, priors: Priors = NO_FEEDBACK) -> SuggestResult:
        """Classify, rank every candidate, and compose the best ``top_k`` compliant replies."""
        index = self.index
        classified = classify(index, self.thresholds, self._embed, request)
        c = classified.classification
        ranked = rank(
            index, c, classified.search_vector, classified.entry_log_p, request.platform, self.weights, priors
        )

        def explain(item: Scored) -> tuple[str, ...]:
            return reasons(index, item, c, request.platform, priors.rated(item.candidate.id))

        deadline = c.escalation.respond_within_minutes if c.escalation.required else None
        composed = compose(ranked, request.context, index.breaks_wording_rules, request.top_k, explain, deadline)
        groups = [SuggestionGroup(c.intent, composed.suggestions)]
        dropped = list(composed.dropped)
        for intent in c.secondary_intents:
            own = ranked.serving(intent.id)
            extra = compose(
                own, request.context, index.breaks_wording_rules, min(request.top_k, SECONDARY_TOP_K), explain, deadline
            )
            groups.append(SuggestionGroup(intent, extra.suggestions))
            dropped += [d for d in extra.dropped if d not in dropped]
        return SuggestResult(c, composed.suggestions, index.version, tuple(dropped), tuple(groups))


def load_assistant(settings: RetrievalSettings, encoder: Encoder | None = None) -> Assistant:
    """The configured encoder and the published index, ready to serve."""
    encoder = encoder or configured_encoder(settings)
    artifact = load_artifact(settings.index_dir, encoder.fingerprint, encoder.dimension)
    return Assistant(
        encoder, ServingIndex(artifact), settings.ranking, settings.classifier, settings.message_cache_size
    )
