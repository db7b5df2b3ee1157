"""The request pipeline: normalise → embed once → classify → retrieve → rank → render.

Plain classes and functions, no HTTP: the API, the evaluation suites and the studio all call
``Assistant.classify`` / ``Assistant.suggest``. ``ServingIndex`` is an immutable view of one
published artifact; ``Assistant.swap`` replaces it atomically (hot reload), and every request
works on the one it picked up when it started.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from app.settings import ClassifierSettings, RankingWeights, Settings
from retrieval.artifact import LoadedArtifact, load_artifact
from retrieval.classifier import EntryClassifier, HybridClassifier, Prediction, dense_features
from retrieval.encoder import Encoder, load_encoder
from retrieval.escalation import Escalation, EscalationPolicy
from retrieval.normalize import NormalizedMessage, normalize
from scripts_library.compliance import ComplianceChecker
from scripts_library.render import Rendered, TemplateRejected, render
from scripts_library.schema import ComplianceFile, EscalationFile, FaqEntry, Script

log = logging.getLogger(__name__)

SEARCH_DEPTH = 64
SEMANTIC_CANDIDATES = 30
DIVERSITY_MAX_SIMILARITY = 85.0
UNSEEN_ENTRY_FIT = 0.5  # entries newer than the entry classifier (classifiers reused by a quick build)
PLATFORM_NAMES = {"tmall": "天猫", "taobao": "淘宝", "jd": "京东", "pdd": "拼多多"}
EMOTION_NAMES = {"angry": "愤怒", "anxious": "焦急", "dissatisfied": "不满", "neutral": "平静", "positive": "满意"}


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
class SuggestResult:
    classification: Classification
    suggestions: tuple[Suggestion, ...]
    index_version: str
    dropped: tuple[str, ...] = ()


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
class Candidate:
    """A script or FAQ entry as the ranker sees it."""

    id: str
    kind: str
    version: int
    intents: tuple[str, ...]
    emotions: tuple[str, ...]
    platforms: tuple[str, ...]
    examples: tuple[str, ...]
    script: Script | None = None
    faq: FaqEntry | None = None

    def suits_platform(self, platform: str | None) -> bool:
        return platform is None or "all" in self.platforms or platform in self.platforms

    def render(self, context: Mapping[str, object]) -> Rendered:
        if self.script is not None:
            return render(self.script.template, self.script.variables, context)
        return Rendered(self.faq.answer if self.faq else "", ())


def _candidate_from_script(script: Script) -> Candidate:
    examples = tuple(normalize(e).text for e in script.examples)
    return Candidate(
        script.id, "script", script.version, script.intents, script.emotions, script.platforms, examples, script=script
    )


def _candidate_from_faq(entry: FaqEntry) -> Candidate:
    examples = tuple(normalize(q).text for q in entry.questions)
    return Candidate(
        entry.id, "faq", entry.version, (entry.intent,), ("neutral",), entry.platforms, examples, faq=entry
    )


class ServingIndex:
    """One loaded artifact plus what the ranker derives from it; never mutated after construction."""

    def __init__(self, artifact: LoadedArtifact) -> None:
        self.manifest = artifact.manifest
        self.version = artifact.manifest.version
        self.faiss = artifact.index
        self.rows = artifact.rows
        entries = artifact.entries
        scripts = [Script.model_validate(s) for s in entries["scripts"]]
        faqs = [FaqEntry.model_validate(f) for f in entries["faqs"]]
        self.candidates: dict[str, Candidate] = {s.id: _candidate_from_script(s) for s in scripts}
        self.candidates |= {f.id: _candidate_from_faq(f) for f in faqs}
        self.by_intent: dict[str, list[str]] = {}
        for candidate in self.candidates.values():
            for intent in candidate.intents:
                self.by_intent.setdefault(intent, []).append(candidate.id)
        self.checker = ComplianceChecker(ComplianceFile.model_validate(entries["compliance"]))
        self.escalation = EscalationPolicy(EscalationFile.model_validate(entries["escalation"]))
        self.intent_names = {i["id"]: i["name"] for i in entries["intents"]}
        self.intent_model: HybridClassifier = artifact.classifiers["intent"]
        self.emotion_model: HybridClassifier = artifact.classifiers["emotion"]
        # Artifacts published before the entry classifier existed lack it; they classify and rank without it.
        self.entry_model: EntryClassifier | None = artifact.classifiers.get("entry")
        self.entry_intents = self._entry_intent_matrix()

    def _entry_intent_matrix(self) -> np.ndarray:
        """0/1 matrix, entry classifier's entries × intent labels: the intent each entry serves first."""
        labels = self.intent_model.labels
        entries = self.entry_model.entries if self.entry_model is not None else []
        matrix = np.zeros((len(entries), len(labels)), np.float32)
        for row, entry in enumerate(entries):
            candidate = self.candidates.get(entry)  # None for an entry retired since the model was trained
            if candidate is not None and candidate.intents[0] in labels:
                matrix[row, labels.index(candidate.intents[0])] = 1.0
        return matrix

    def entry_log_probabilities(self, vector: np.ndarray) -> np.ndarray | None:
        """The entry classifier's log-probabilities for a message vector (None without the classifier)."""
        return self.entry_model.log_probabilities(vector) if self.entry_model is not None else None

    def entry_fit(self, entry_log_p: np.ndarray | None) -> dict[str, float]:
        """Per entry, how strongly the entry classifier assigns the message to it, in [0, 1]."""
        return self.entry_model.fit_scores(entry_log_p) if self.entry_model and entry_log_p is not None else {}


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


def history_weight(confidence: float) -> float:
    """How much the conversation's topic counts: more when the message alone is unsure (那怎么办, 是的)."""
    return float(np.clip(1.1 - confidence, 0.0, 0.8))


def _intensity(emotion: Prediction, message: NormalizedMessage) -> float:
    if emotion.label == "neutral":
        return round(0.3 * (1 - emotion.probabilities.get("neutral", 1.0)), 3)
    punctuation = 0.1 * min(message.exclamations, 3) + 0.05 * min(message.questions, 2)
    return round(float(np.clip(emotion.confidence * 0.8 + punctuation + 0.1 * message.repeated_segments, 0, 1)), 3)


def emotion_fit(customer_emotion: str, suited: Sequence[str]) -> float:
    """How well a reply suits the customer's mood: angry/anxious customers need their variants."""
    if customer_emotion in suited:
        return 1.0
    if customer_emotion in ("angry", "anxious"):
        return 0.0
    return 0.6 if "neutral" in suited else 0.2


LEAD_EMOTIONS = ("angry", "anxious")


def lead_with_mood_variant(ranked: list, c: Classification) -> list:
    """Angry customers get an apology-first reply first, anxious ones a concrete-time reply first."""
    if c.emotion.id not in LEAD_EMOTIONS:
        return ranked
    for position, item in enumerate(ranked):
        if c.emotion.id in item[2].emotions:
            return [item, *ranked[:position], *ranked[position + 1 :]]
    return ranked


class Assistant:
    """Classifies customer messages and ranks compliant reply suggestions for them."""

    def __init__(
        self,
        encoder: Encoder,
        index: ServingIndex,
        weights: RankingWeights,
        thresholds: ClassifierSettings,
        cache_size: int = 4096,
        priors: Mapping[str, float] | None = None,
    ) -> None:
        self.encoder = encoder
        self.index = index
        self.weights = weights
        self.thresholds = thresholds
        self.priors: Mapping[str, float] = priors or {}
        self._embed = EmbeddingLRU(encoder, cache_size)

    def clear_embedding_cache(self) -> None:
        """Forget recent message embeddings (benchmarks use it to time real work)."""
        self._embed.clear()

    def swap(self, index: ServingIndex) -> None:
        """Serve ``index`` from the next request on; requests in flight finish on the old one."""
        self.index = index

    # -- classify ---------------------------------------------------------------------------
    def _intent_probabilities(self, index: ServingIndex, message: NormalizedMessage, vector: np.ndarray) -> np.ndarray:
        features = dense_features(vector.reshape(1, -1), [message], index.intent_model.use_cues)
        return index.intent_model.predict_proba([message.text], features)[0]

    def _with_history(
        self, index: ServingIndex, p_message: np.ndarray, vector: np.ndarray, history: Sequence[Turn]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Intent probabilities and retrieval vector, both blended with the recent customer turns."""
        customer = [t.text for t in history if t.role == "customer"][-self.thresholds.history_turns :]
        if not customer or not self.thresholds.history_turns:
            return p_message, vector
        context = normalize(" ".join(customer))
        context_vector = self._embed(context.text)
        p_history = self._intent_probabilities(index, context, context_vector)
        labels = index.intent_model.labels
        if "greeting_thanks" in labels:  # a greeting in the history says nothing about the topic
            p_history = p_history.copy()
            p_history[labels.index("greeting_thanks")] = 0.0
            p_history /= max(p_history.sum(), 1e-9)
        weight = history_weight(float(p_message.max()))
        blended = (1 - weight) * vector + weight * context_vector
        blended = blended / max(float(np.linalg.norm(blended)), 1e-9)
        return (1 - weight) * p_message + weight * p_history, blended.astype(np.float32)

    def _with_entry_evidence(
        self, index: ServingIndex, probabilities: np.ndarray, entry_log_p: np.ndarray | None
    ) -> np.ndarray:
        """Intent probabilities times the entry classifier's per-intent probabilities to a small power.

        The entry classifier separates scripts by all their examples; summed per intent it is a second,
        differently trained opinion on the topic that corrects some of the intent model's errors. A product
        of experts (rather than an average, which flattens whenever they disagree) keeps confidences calibrated.
        """
        weight = self.thresholds.entry_intent_weight
        if entry_log_p is None or not weight:
            return probabilities
        evidence = np.exp(entry_log_p) @ index.entry_intents
        combined = np.exp(np.log(probabilities + 1e-9) + weight * np.log(evidence + 1e-9))
        return combined / combined.sum()

    def _intent(self, index: ServingIndex, probabilities: np.ndarray) -> IntentResult:
        labels = index.intent_model.labels
        order = np.argsort(-probabilities)
        top, confidence = labels[order[0]], float(probabilities[order[0]])
        ranked = [(labels[i], float(probabilities[i])) for i in order]
        if confidence < self.thresholds.other_below and top != "other":
            ranked = [("other", confidence), *ranked]
            top = "other"
        alternatives = tuple(
            (label, round(p, 4)) for label, p in ranked[1:4] if p >= self.thresholds.alternative_min and label != top
        )
        return IntentResult(top, index.intent_names.get(top, top), round(confidence, 4), alternatives)

    def _shift_to_traffic(self, prediction: Prediction) -> Prediction:
        """Correct for label shift: training emotions are balanced, live traffic is mostly neutral."""
        share = self.thresholds.emotion_traffic_share
        strength = self.thresholds.prior_strength
        weighted = {k: p * share.get(k, 0.2) ** strength for k, p in prediction.probabilities.items()}
        total = sum(weighted.values()) or 1.0
        probabilities = {k: v / total for k, v in weighted.items()}
        best = max(probabilities, key=probabilities.get)
        return Prediction(best, probabilities[best], probabilities)

    def _emotion(self, index: ServingIndex, message: NormalizedMessage, vector: np.ndarray) -> EmotionResult:
        features = dense_features(vector.reshape(1, -1), [message], index.emotion_model.use_cues)
        prediction = self._shift_to_traffic(index.emotion_model.predict(message.text, features[0]))
        angry = prediction.probabilities.get("angry", 0.0)
        if prediction.label != "angry" and angry >= self.thresholds.angry_at:
            prediction = Prediction("angry", angry, prediction.probabilities)
        return EmotionResult(prediction.label, round(prediction.confidence, 4), _intensity(prediction, message))

    def _classify(
        self, index: ServingIndex, request: MessageInput
    ) -> tuple[Classification, np.ndarray, np.ndarray | None]:
        """The classification, the retrieval vector and the entry classifier's log-probabilities."""
        message = normalize(request.message)
        text = message.text or request.message.strip()
        vector = self._embed(text)
        p_message = self._intent_probabilities(index, message, vector)
        topic, search_vector = self._with_history(index, p_message, vector, request.history)
        entry_log_p = index.entry_log_probabilities(search_vector)
        probabilities = self._with_entry_evidence(index, topic, entry_log_p)
        intent = self._intent(index, probabilities)
        emotion = self._emotion(index, message, vector)
        likely = [intent.id, *(label for label, p in intent.alternatives if p >= 0.3)]
        recent = [t.text for t in request.history if t.role == "customer"][-self.thresholds.history_turns :]
        escalation = index.escalation.decide(" ".join([*recent, text]), likely)
        labels = index.intent_model.labels
        distribution = dict(zip(labels, probabilities.tolist(), strict=True))
        topic_distribution = dict(zip(labels, topic.tolist(), strict=True))
        classification = Classification(intent, emotion, escalation, message, distribution, topic_distribution)
        return classification, search_vector, entry_log_p

    def classify(self, request: MessageInput) -> Classification:
        return self._classify(self.index, request)[0]

    # -- suggest ----------------------------------------------------------------------------
    def _semantic(self, index: ServingIndex, vector: np.ndarray) -> dict[str, float]:
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

    def _candidates(self, index: ServingIndex, semantic: dict[str, float], c: Classification) -> list[str]:
        ids = sorted(semantic, key=semantic.get, reverse=True)[:SEMANTIC_CANDIDATES]
        for intent in [c.intent.id, *(label for label, _ in c.intent.alternatives)]:
            ids += index.by_intent.get(intent, [])
        return list(dict.fromkeys(ids))

    def features(
        self,
        index: ServingIndex,
        candidate: Candidate,
        semantic: float,
        entry_fit: float,
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
            prior=self.priors.get(candidate.id, 0.5),
            entry=entry_fit,
        )

    def _reasons(
        self, index: ServingIndex, candidate: Candidate, f: RankingFeatures, c: Classification, platform: str | None
    ) -> list[str]:
        intent_name = index.intent_names.get(candidate.intents[0], candidate.intents[0])
        reasons = [f"语义相似度 {f.semantic:.2f}", f"意图匹配「{intent_name}」{f.intent:.2f}"]
        if f.emotion == 1.0 and c.emotion.id != "neutral":
            reasons.append(f"适合{EMOTION_NAMES[c.emotion.id]}情绪的话术")
        if f.lexical >= 0.6:
            reasons.append(f"与示例字面相近 {f.lexical:.2f}")
        if f.platform == 1.0 and platform:
            reasons.append(f"{PLATFORM_NAMES.get(platform, platform)}平台专用")
        if candidate.id in self.priors:
            reasons.append(f"坐席采纳率 {f.prior:.2f}")
        return reasons

    def suggest(self, request: MessageInput) -> SuggestResult:
        index = self.index
        classification, vector, entry_log_p = self._classify(index, request)
        semantic = self._semantic(index, vector)
        floor = min(semantic.values(), default=0.0)
        entry_fit = index.entry_fit(entry_log_p)
        scored = []
        for candidate_id in self._candidates(index, semantic, classification):
            candidate = index.candidates[candidate_id]
            if candidate.suits_platform(request.platform):
                f = self.features(
                    index,
                    candidate,
                    semantic.get(candidate_id, floor),
                    entry_fit.get(candidate_id, UNSEEN_ENTRY_FIT),
                    classification,
                    request.platform,
                )
                scored.append((f.score(self.weights), f, candidate))
        scored = lead_with_mood_variant(sorted(scored, key=lambda item: item[0], reverse=True), classification)
        chosen: list[Suggestion] = []
        dropped: list[str] = []
        for score, f, candidate in scored:
            if len(chosen) >= request.top_k:
                break
            try:
                rendered = candidate.render(request.context)
            except TemplateRejected:
                dropped.append(candidate.id)
                continue
            if index.checker.check(rendered.text, forbidden_only=True):
                log.warning("suggestion %s dropped: rendered text breaks a compliance rule", candidate.id)
                dropped.append(candidate.id)
                continue
            if any(fuzz.ratio(rendered.text, s.text) >= DIVERSITY_MAX_SIMILARITY for s in chosen):
                continue
            chosen.append(
                Suggestion(
                    candidate.id,
                    candidate.version,
                    candidate.kind,
                    rendered.text,
                    round(score, 4),
                    candidate.intents[0],
                    f.emotion,
                    tuple(self._reasons(index, candidate, f, classification, request.platform)),
                    rendered.missing_variables,
                )
            )
        return SuggestResult(classification, tuple(chosen), index.version, tuple(dropped))


def configured_encoder(settings: Settings, backend: str | None = None) -> Encoder:
    """The encoder the settings describe (``backend`` overrides the configured one)."""
    return load_encoder(
        settings.model_dir,
        backend or settings.encoder_backend,
        settings.query_prefix,
        settings.max_seq_length,
        settings.encoder_threads,
    )


def load_assistant(settings: Settings, encoder: Encoder | None = None) -> Assistant:
    """The configured encoder and the published index, ready to serve."""
    encoder = encoder or configured_encoder(settings)
    artifact = load_artifact(settings.index_dir, encoder.fingerprint, encoder.dimension)
    return Assistant(
        encoder, ServingIndex(artifact), settings.ranking, settings.classifier, settings.message_cache_size
    )
