"""One published artifact as the request pipeline reads it: candidates, models, rules. Never mutated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from retrieval.artifact import LoadedArtifact
from retrieval.classifier import EntryClassifier, HybridClassifier
from retrieval.escalation import EscalationPolicy
from scripts_library.compliance import ComplianceChecker
from scripts_library.loader import rewriter
from scripts_library.render import Rendered, render
from scripts_library.schema import ComplianceFile, EscalationFile, FaqEntry, NormalizationFile, Script
from scripts_library.text import Rewriter, canonical, compact, normalize


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


class ServingIndex:
    """One loaded artifact plus what the ranker derives from it; never mutated after construction."""

    def __init__(self, artifact: LoadedArtifact) -> None:
        self.manifest = artifact.manifest
        self.version = artifact.manifest.version
        self.faiss = artifact.index
        self.rows = artifact.rows
        entries = artifact.entries
        normalization = NormalizationFile.model_validate(entries.get("normalization", {"schema_version": 1}))
        self.rewrite = rewriter(normalization)
        self.follow_ups = frozenset(compact(f) for f in normalization.follow_ups)
        neutral = sorted((canonical(p) for p in normalization.topic_neutral), key=len, reverse=True)
        self._topic_neutral = re.compile("|".join(map(re.escape, neutral)) or "(?!)")
        scripts = [Script.model_validate(s) for s in entries["scripts"]]
        faqs = [FaqEntry.model_validate(f) for f in entries["faqs"]]
        self.candidates: dict[str, Candidate] = {s.id: _candidate_from_script(s, self.rewrite) for s in scripts}
        self.candidates |= {f.id: _candidate_from_faq(f, self.rewrite) for f in faqs}
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

    def without_topic_neutral(self, text: str) -> str:
        """``text`` without threats that say nothing about the topic (normalization.yaml ``topic_neutral``)."""
        return self._topic_neutral.sub("", text)

    def entry_log_probabilities(self, vector: np.ndarray) -> np.ndarray | None:
        """The entry classifier's log-probabilities for a message vector (None without the classifier)."""
        return self.entry_model.log_probabilities(vector) if self.entry_model is not None else None

    def entry_fit(self, entry_log_p: np.ndarray | None) -> dict[str, float]:
        """Per entry, how strongly the entry classifier assigns the message to it, in [0, 1]."""
        return self.entry_model.fit_scores(entry_log_p) if self.entry_model and entry_log_p is not None else {}
