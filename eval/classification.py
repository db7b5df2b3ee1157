"""Classification metrics on labelled JSONL: intent, emotion, escalation (with calibration)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from retrieval.pipeline import Assistant
from retrieval.types import Classification, MessageInput, Turn
from scripts_library.vocabulary import EMOTIONS


@dataclass
class Labelled:
    id: str
    message: str
    intent: str
    emotion: str
    escalate: bool
    history: tuple[Turn, ...] = ()
    platform: str | None = None
    team: str | None = None  # the escalation team, when ``escalate``
    intents: tuple[str, ...] = ()  # primary and secondary intent of a message with two requests
    needs_history: bool | None = None  # whether the turn is classifiable only with the turns before it
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict) -> Labelled:
        history = tuple(Turn(t["role"], t["text"]) for t in row.get("history") or [])
        known = {"id", "message", "intent", "emotion", "escalate", "escalation_team", "history", "platform"}
        known |= {"intents", "needs_history"}
        return cls(
            row["id"],
            row["message"],
            row["intent"],
            row["emotion"],
            bool(row["escalate"]),
            history,
            row.get("platform"),
            row.get("escalation_team"),
            tuple(row.get("intents") or ()),
            row.get("needs_history"),
            {k: v for k, v in row.items() if k not in known},
        )

    def as_input(self, top_k: int = 5) -> MessageInput:
        return MessageInput(self.message, self.history, self.platform, {}, top_k)


@dataclass
class Predicted:
    item: Labelled
    result: Classification
    millis: float


def predict_all(assistant: Assistant, items: Iterable[Labelled]) -> list[Predicted]:
    out = []
    for item in items:
        started = time.perf_counter()
        result = assistant.classify(item.as_input())
        out.append(Predicted(item, result, (time.perf_counter() - started) * 1000))
    return out


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        mask = (confidences > low) & (confidences <= high)
        if mask.any():
            total += mask.mean() * abs(confidences[mask].mean() - correct[mask].mean())
    return float(total)


def label_metrics(gold: list[str], pred: list[str], labels: list[str]) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    return {
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "labels": labels,
        "confusion": confusion_matrix(gold, pred, labels=labels).tolist(),
    }


def _share(numerator: int | float, denominator: int | float) -> float:
    return float(numerator) / denominator if denominator else 0.0


def emotion_errors(predictions: list[Predicted]) -> dict:
    """The errors an agent notices: calm customers shown as angry, and how often "angry" is right."""
    gold = [p.item.emotion for p in predictions]
    pred = [p.result.emotion.id for p in predictions]
    neutral = [q for g, q in zip(gold, pred, strict=True) if g == "neutral"]
    calm = [q for g, q in zip(gold, pred, strict=True) if g in ("neutral", "positive")]
    said_angry = [g for g, q in zip(gold, pred, strict=True) if q == "angry"]
    return {
        "neutral_as_angry": _share(neutral.count("angry"), len(neutral)),
        "calm_as_angry": _share(calm.count("angry"), len(calm)),
        "angry_precision": _share(said_angry.count("angry"), len(said_angry)),
    }


def escalation_metrics(predictions: list[Predicted]) -> dict:
    gold = np.array([p.item.escalate for p in predictions], dtype=bool)
    pred = np.array([p.result.escalation.required for p in predictions], dtype=bool)
    both = [p for p in predictions if p.item.escalate and p.result.escalation.required]
    teamed = [p for p in both if p.item.team]
    return {
        "recall": _share((gold & pred).sum(), gold.sum()),
        "precision": _share((gold & pred).sum(), pred.sum()),
        "right_team": _share(sum(p.result.escalation.team == p.item.team for p in teamed), len(teamed)),
        "escalated_share": _share(pred.sum(), len(pred)),
        "false_escalations": int((pred & ~gold).sum()),
        "support": int(gold.sum()),
    }


def intent_subsets(predictions: list[Predicted]) -> dict:
    """Intent accuracy on the turns that are clear alone and on those that need their history (when labelled)."""
    subsets: dict[str, dict] = {}
    for name, wanted in (("clear_turns", False), ("turns_needing_history", True)):
        chosen = [p for p in predictions if p.item.needs_history is wanted]
        if chosen:
            right = sum(p.result.intent.id == p.item.intent for p in chosen)
            subsets[name] = {"accuracy": _share(right, len(chosen)), "n": len(chosen)}
    two = [p for p in predictions if len(p.item.intents) > 1]
    if two:
        found = sum(p.item.intents[1] in [i.id for i in p.result.intents[1:]] for p in two)
        subsets["secondary_intent_recall"] = {"recall": _share(found, len(two)), "n": len(two)}
    return subsets


def classification_metrics(predictions: list[Predicted]) -> dict:
    gold_intent = [p.item.intent for p in predictions]
    pred_intent = [p.result.intent.id for p in predictions]
    gold_emotion = [p.item.emotion for p in predictions]
    pred_emotion = [p.result.emotion.id for p in predictions]
    intents = sorted(set(gold_intent) | set(pred_intent))
    confidence = np.array([p.result.intent.confidence for p in predictions])
    correct = np.array([g == q for g, q in zip(gold_intent, pred_intent, strict=True)], dtype=float)
    millis = np.array([p.millis for p in predictions])
    return {
        "n": len(predictions),
        "intent": label_metrics(gold_intent, pred_intent, intents)
        | {"ece": expected_calibration_error(confidence, correct)}
        | intent_subsets(predictions),
        "emotion": label_metrics(gold_emotion, pred_emotion, list(EMOTIONS)) | emotion_errors(predictions),
        "escalation": escalation_metrics(predictions),
        "latency_ms": {"p50": float(np.percentile(millis, 50)), "p99": float(np.percentile(millis, 99))},
    }


def worst_errors(predictions: list[Predicted], n: int = 20) -> list[Predicted]:
    """Intent errors the classifier was most confident about."""
    wrong = [p for p in predictions if p.result.intent.id != p.item.intent]
    return sorted(wrong, key=lambda p: p.result.intent.confidence, reverse=True)[:n]
