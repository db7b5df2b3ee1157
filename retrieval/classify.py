"""Classification step of the pipeline: one message vector in, intent, emotion and escalation out.

Intent = the intent model on the message, blended with the recent customer turns when the message alone
is unsure, times the entry classifier's per-intent opinion. Emotion = the emotion model, shifted from the
balanced training mix to the traffic mix. Escalation = the policy over the message and recent turns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.classifier import Prediction, dense_features
from retrieval.serving import ServingIndex
from retrieval.settings import ClassifierSettings
from retrieval.types import Classification, EmotionResult, IntentResult, MessageInput, Turn
from scripts_library.text import NormalizedMessage, normalize

Embed = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class Classified:
    """A classification plus what the retrieval step reuses: the search vector and the entry model's view."""

    classification: Classification
    search_vector: np.ndarray
    entry_log_p: np.ndarray | None


@dataclass(frozen=True)
class TopicEstimate:
    """Intent probabilities and the retrieval vector, both blended with the conversation's recent turns."""

    probabilities: np.ndarray
    search_vector: np.ndarray


def history_weight(confidence: float) -> float:
    """How much the conversation's topic counts: more when the message alone is unsure (那怎么办, 是的)."""
    return float(np.clip(1.1 - confidence, 0.0, 0.8))


def recent_customer_turns(history: Sequence[Turn], turns: int) -> list[str]:
    return [t.text for t in history if t.role == "customer"][-turns:] if turns else []


def intent_probabilities(index: ServingIndex, message: NormalizedMessage, vector: np.ndarray) -> np.ndarray:
    features = dense_features(vector.reshape(1, -1), [message], index.intent_model.use_cues)
    return index.intent_model.predict_proba([message.text], features)[0]


def blend_history(
    index: ServingIndex, p_message: np.ndarray, vector: np.ndarray, recent: Sequence[str], embed: Embed
) -> TopicEstimate:
    """The message's intent probabilities and vector, moved toward the recent customer turns' topic."""
    if not recent:
        return TopicEstimate(p_message, vector)
    context = normalize(" ".join(recent))
    context_vector = embed(context.text)
    p_history = intent_probabilities(index, context, context_vector)
    labels = index.intent_model.labels
    if "greeting_thanks" in labels:  # a greeting in the history says nothing about the topic
        p_history = p_history.copy()
        p_history[labels.index("greeting_thanks")] = 0.0
        p_history /= max(p_history.sum(), 1e-9)
    weight = history_weight(float(p_message.max()))
    blended = (1 - weight) * vector + weight * context_vector
    blended = blended / max(float(np.linalg.norm(blended)), 1e-9)
    return TopicEstimate((1 - weight) * p_message + weight * p_history, blended.astype(np.float32))


def with_entry_evidence(
    index: ServingIndex, probabilities: np.ndarray, entry_log_p: np.ndarray | None, weight: float
) -> np.ndarray:
    """Intent probabilities times the entry classifier's per-intent probabilities to a small power.

    The entry classifier separates scripts by all their examples; summed per intent it is a second,
    differently trained opinion on the topic that corrects some of the intent model's errors. A product
    of experts (rather than an average, which flattens whenever they disagree) keeps confidences calibrated.
    """
    if entry_log_p is None or not weight:
        return probabilities
    evidence = np.exp(entry_log_p) @ index.entry_intents
    combined = np.exp(np.log(probabilities + 1e-9) + weight * np.log(evidence + 1e-9))
    return combined / combined.sum()


def intent_result(index: ServingIndex, probabilities: np.ndarray, thresholds: ClassifierSettings) -> IntentResult:
    labels = index.intent_model.labels
    order = np.argsort(-probabilities)
    top, confidence = labels[order[0]], float(probabilities[order[0]])
    ranked = [(labels[i], float(probabilities[i])) for i in order]
    if confidence < thresholds.other_below and top != "other":
        ranked = [("other", confidence), *ranked]
        top = "other"
    alternatives = tuple(
        (label, round(p, 4)) for label, p in ranked[1:4] if p >= thresholds.alternative_min and label != top
    )
    return IntentResult(top, index.intent_names.get(top, top), round(confidence, 4), alternatives)


def shift_to_traffic(prediction: Prediction, thresholds: ClassifierSettings) -> Prediction:
    """Correct for label shift: training emotions are balanced, live traffic is mostly neutral."""
    share = thresholds.emotion_traffic_share
    weighted = {k: p * share.get(k, 0.2) ** thresholds.prior_strength for k, p in prediction.probabilities.items()}
    total = sum(weighted.values()) or 1.0
    probabilities = {k: v / total for k, v in weighted.items()}
    best = max(probabilities, key=probabilities.get)
    return Prediction(best, probabilities[best], probabilities)


def emotion_intensity(emotion: Prediction, message: NormalizedMessage) -> float:
    if emotion.label == "neutral":
        return round(0.3 * (1 - emotion.probabilities.get("neutral", 1.0)), 3)
    punctuation = 0.1 * min(message.exclamations, 3) + 0.05 * min(message.questions, 2)
    return round(float(np.clip(emotion.confidence * 0.8 + punctuation + 0.1 * message.repeated_segments, 0, 1)), 3)


def emotion_result(
    index: ServingIndex, message: NormalizedMessage, vector: np.ndarray, thresholds: ClassifierSettings
) -> EmotionResult:
    features = dense_features(vector.reshape(1, -1), [message], index.emotion_model.use_cues)
    prediction = shift_to_traffic(index.emotion_model.predict(message.text, features[0]), thresholds)
    angry = prediction.probabilities.get("angry", 0.0)
    if prediction.label != "angry" and angry >= thresholds.angry_at:
        prediction = Prediction("angry", angry, prediction.probabilities)
    return EmotionResult(prediction.label, round(prediction.confidence, 4), emotion_intensity(prediction, message))


def classify(index: ServingIndex, thresholds: ClassifierSettings, embed: Embed, request: MessageInput) -> Classified:
    """The classification of one customer turn, the retrieval vector and the entry classifier's log-probabilities."""
    message = normalize(request.message)
    text = message.text or request.message.strip()
    vector = embed(text)
    recent = recent_customer_turns(request.history, thresholds.history_turns)
    topic = blend_history(index, intent_probabilities(index, message, vector), vector, recent, embed)
    entry_log_p = index.entry_log_probabilities(topic.search_vector)
    probabilities = with_entry_evidence(index, topic.probabilities, entry_log_p, thresholds.entry_intent_weight)
    intent = intent_result(index, probabilities, thresholds)
    emotion = emotion_result(index, message, vector, thresholds)
    likely = [intent.id, *(label for label, p in intent.alternatives if p >= 0.3)]
    escalation = index.escalation.decide(" ".join([*recent, text]), likely)
    labels = index.intent_model.labels
    classification = Classification(
        intent,
        emotion,
        escalation,
        message,
        dict(zip(labels, probabilities.tolist(), strict=True)),
        dict(zip(labels, topic.probabilities.tolist(), strict=True)),
    )
    return Classified(classification, topic.search_vector, entry_log_p)
