"""One published artifact as the request pipeline reads it: candidates, models, rules. Never mutated."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import faiss
import numpy as np

from retrieval.artifact import LoadedArtifact
from retrieval.classifier import EntryClassifier, HybridClassifier
from retrieval.escalation import EscalationPolicy
from scripts_library.compliance import ComplianceChecker
from scripts_library.loader import rewriter
from scripts_library.render import Rendered, render
from scripts_library.schema import ComplianceFile, EscalationFile, FaqEntry, NormalizationFile, Script
from scripts_library.text import Rewriter, canonical, compact, normalize
from scripts_library.vocabulary import EMOTIONS, PLATFORMS

_PROMISE_MARKERS = ("不是说", "不是", "说好的", "说好")  # 不是说包安装吗: a promise recalled after buying


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


def _candidate_from_script(script: Script, rewrite: Rewriter) -> Candidate:
    examples = tuple(normalize(e, rewrite).text for e in script.examples)
    return Candidate(
        script.id, "script", script.version, script.intents, script.emotions, script.platforms, examples, script=script
    )


def _candidate_from_faq(entry: FaqEntry, rewrite: Rewriter) -> Candidate:
    examples = tuple(normalize(q, rewrite).text for q in entry.questions)
    return Candidate(
        entry.id, "faq", entry.version, (entry.intent,), ("neutral",), entry.platforms, examples, faq=entry
    )


class CandidateTable:
    """The candidates as arrays, built once per index: ranking a request is then a few numpy operations.

    Row ``i`` describes ``candidates[i]``: which intents it serves, which moods and platforms it suits, where
    the entry classifier scores it, and which of the index's vectors (FAISS rows) belong to it.
    """

    def __init__(
        self,
        candidates: Sequence[Candidate],
        intent_labels: Sequence[str],
        rows: Sequence[str],
        classified_entries: Sequence[str],
    ) -> None:
        self.candidates = list(candidates)
        self.position = {c.id: i for i, c in enumerate(self.candidates)}
        self.labels = {label: k for k, label in enumerate(intent_labels)}
        n = len(self.candidates)
        self.serves = np.zeros((n, len(intent_labels)), bool)
        self.primary = np.full(n, -1)
        self.suits = np.zeros((n, len(EMOTIONS)), bool)
        self.on_platform = np.zeros((n, len(PLATFORMS)), bool)
        self.specific = np.zeros((n, len(PLATFORMS)), bool)
        for i, c in enumerate(self.candidates):
            self.serves[i, [self.labels[intent] for intent in c.intents if intent in self.labels]] = True
            self.primary[i] = self.labels.get(c.intents[0], -1)
            self.suits[i] = [emotion in c.emotions for emotion in EMOTIONS]
            self.specific[i] = [p in c.platforms for p in PLATFORMS]
            self.on_platform[i] = self.specific[i] | ("all" in c.platforms)
        self.neutral = self.suits[:, EMOTIONS.index("neutral")]
        self.row_owner = np.array([self.position.get(owner, -1) for owner in rows], dtype=np.int64)
        entry_column = {entry: k for k, entry in enumerate(classified_entries)}
        self.entry_column = np.array([entry_column.get(c.id, -1) for c in self.candidates], dtype=np.int64)
        self.by_intent = {label: np.flatnonzero(self.serves[:, k]) for label, k in self.labels.items()}

    def __len__(self) -> int:
        return len(self.candidates)


class ServingIndex:
    """One loaded artifact plus what the ranker derives from it; never mutated after construction."""

    def __init__(self, artifact: LoadedArtifact) -> None:
        self.manifest = artifact.manifest
        self.version = artifact.manifest.version
        self.faiss = artifact.index
        # Exact search over a few thousand vectors is one matrix-vector product: numpy does it without FAISS's
        # per-query overhead. Large (HNSW) indexes keep FAISS.
        exact = isinstance(self.faiss, faiss.IndexFlat) and self.faiss.ntotal
        self._vectors = self.faiss.reconstruct_n(0, self.faiss.ntotal) if exact else None
        self.rows = artifact.rows
        entries = artifact.entries
        normalization = NormalizationFile.model_validate(entries.get("normalization", {"schema_version": 1}))
        self.rewrite = rewriter(normalization)
        self.follow_ups = frozenset(compact(f) for f in normalization.follow_ups)
        self._before_buying = tuple(compact(p) for p in normalization.before_buying)
        self._complaint_denials = tuple(compact(p) for p in normalization.complaint_denials)
        self._disclaimers = tuple(compact(p) for p in normalization.disclaimers) + self._complaint_denials
        self._merchant_side = tuple(compact(p) for p in normalization.merchant_side)
        self._anything_else = tuple(compact(p) for p in normalization.anything_else)
        closings = sorted((compact(p) for p in normalization.closings), key=len, reverse=True)
        self._closing = re.compile(f"(?:{'|'.join(map(re.escape, closings))})+" if closings else "(?!)")
        neutral = sorted((canonical(p) for p in normalization.topic_neutral), key=len, reverse=True)
        self._topic_neutral = re.compile("|".join(map(re.escape, neutral)) or "(?!)")
        scripts = [Script.model_validate(s) for s in entries["scripts"]]
        faqs = [FaqEntry.model_validate(f) for f in entries["faqs"]]
        self.candidates: dict[str, Candidate] = {s.id: _candidate_from_script(s, self.rewrite) for s in scripts}
        self.candidates |= {f.id: _candidate_from_faq(f, self.rewrite) for f in faqs}
        self.checker = ComplianceChecker(ComplianceFile.model_validate(entries["compliance"]))
        # Rendered replies repeat (same script, same order details): their wording check is remembered.
        self.breaks_wording_rules = lru_cache(maxsize=16_384)(self._breaks_wording_rules)
        self.escalation = EscalationPolicy(EscalationFile.model_validate(entries["escalation"]))
        self.intent_names = {i["id"]: i["name"] for i in entries["intents"]}
        self.intent_model: HybridClassifier = artifact.classifiers["intent"]
        self.emotion_model: HybridClassifier = artifact.classifiers["emotion"]
        # Artifacts published before the entry classifier existed lack it; they classify and rank without it.
        self.entry_model: EntryClassifier | None = artifact.classifiers.get("entry")
        # a library without escalation_examples.yaml (or an older artifact) has no learned backstop
        self.escalation_model: HybridClassifier | None = artifact.classifiers.get("escalation")
        self.entry_intents = self._entry_intent_matrix()
        classified = self.entry_model.entries if self.entry_model is not None else []
        self.table = CandidateTable(list(self.candidates.values()), self.intent_model.labels, self.rows, classified)

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

    def _breaks_wording_rules(self, text: str) -> bool:
        return bool(self.checker.check(text, forbidden_only=True))

    def nearest(self, vector: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Inner products and rows of the ``depth`` searchable texts nearest to ``vector``, best first."""
        depth = min(depth, self.faiss.ntotal)
        if depth == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if self._vectors is None:
            scores, rows = self.faiss.search(vector.reshape(1, -1).astype(np.float32), depth)
            return scores[0][rows[0] >= 0], rows[0][rows[0] >= 0]
        products = self._vectors @ vector.astype(np.float32)
        rows = np.argpartition(-products, depth - 1)[:depth]
        rows = rows[np.argsort(-products[rows], kind="stable")]
        return products[rows], rows

    def said_before_buying(self, text: str) -> bool:
        """The customer says they have not bought yet (还没买, 准备下单): normalization.yaml ``before_buying``. A
        promise recalled (师傅要收打孔费 不是说包安装吗) is said after buying."""
        said = compact(text)
        return any(phrase in said and not _recalled(said, phrase) for phrase in self._before_buying)

    def said_by_merchant(self, text: str) -> bool:
        """The writer is a merchant or a courier, not a buyer (我是商家, 我是快递员): normalization.yaml
        ``merchant_side``."""
        return _says(text, self._merchant_side)

    def asks_anything_else(self, agent_turn: str) -> bool:
        """The agent asks whether the customer needs anything else (还有其他可以帮您的吗): normalization.yaml
        ``anything_else``."""
        return _says(agent_turn, self._anything_else)

    def is_closing(self, text: str) -> bool:
        """The turn only says there is nothing else (没了, 没了没了, 不用了 谢谢): normalization.yaml ``closings``."""
        return self._closing.fullmatch(compact(text)) is not None

    def disclaims(self, text: str) -> bool:
        """The customer takes the heat out of their own words (开玩笑的, 我就问问, 不是投诉你们): normalization.yaml
        ``disclaimers`` and ``complaint_denials``."""
        return _says(text, self._disclaimers)

    def denies_complaint(self, text: str) -> bool:
        """The customer says the turn is no complaint about the shop (不是投诉你们, 我不会投诉的): normalization.yaml
        ``complaint_denials``."""
        return _says(text, self._complaint_denials)

    def without_topic_neutral(self, text: str) -> str:
        """``text`` without threats that say nothing about the topic (normalization.yaml ``topic_neutral``)."""
        return self._topic_neutral.sub("", text)

    def entry_log_probabilities(self, vector: np.ndarray) -> np.ndarray | None:
        """The entry classifier's log-probabilities for a message vector (None without the classifier)."""
        return self.entry_model.log_probabilities(vector) if self.entry_model is not None else None


def _recalled(text: str, phrase: str) -> bool:
    """Whether every mention of ``phrase`` recalls a promise (不是说包安装吗, 说好的包安装呢)."""
    starts = [m.start() for m in re.finditer(re.escape(phrase), text)]
    return all(text[:start].endswith(_PROMISE_MARKERS) for start in starts)


def _says(text: str, phrases: tuple[str, ...]) -> bool:
    said = compact(text)
    return any(phrase in said for phrase in phrases)
