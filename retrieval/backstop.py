"""The learned backstop of the escalation policy: which team a turn goes to, from labelled examples.

The rules (escalation.yaml) say exactly what they match, but each writer words a counterfeit claim or an
attitude complaint their own way, and on new writers' turns the rules miss about one escalation in eight.
A classifier trained on the library's labelled turns (escalation_examples.yaml) reads meaning as well as
words; where no rule fires and it is confident, the turn goes to the team it names — within the policy's
own conditions (``EscalationPolicy.learned``). The threshold is a setting, chosen with
``python -m eval backstop`` on the examples, each writer left out in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from retrieval.classifier import HybridClassifier, dense_features
from retrieval.escalation import NO_ESCALATION, Escalation, EscalationPolicy, Situation
from scripts_library.schema import NO_TEAM, EscalationExample
from scripts_library.text import NormalizedMessage, Rewriter, normalize


def escalation_backstop_model() -> HybridClassifier:
    """Unweighted classes: most turns need no team, and the model should only speak when it is sure."""
    return HybridClassifier(8.0, 8.0, class_weight=None, use_cues=False)


def fit_backstop(
    examples: Sequence[EscalationExample], embed: Callable[[list[str]], np.ndarray], rewrite: Rewriter
) -> tuple[HybridClassifier, dict] | None:
    """The backstop trained on ``examples`` (normalised as the pipeline normalises turns), with its CV metrics;
    ``None`` when they do not name both a team and no team."""
    labels = [example.label for example in examples]
    if len(set(labels)) < 2:
        return None
    messages = [normalize(example.text, rewrite) for example in examples]
    texts = [m.text for m in messages]
    model = escalation_backstop_model()
    metrics = model.fit(texts, dense_features(embed(texts), messages, model.use_cues), labels)
    return model, metrics


def team_probabilities(model: HybridClassifier, message: NormalizedMessage, vector: np.ndarray) -> dict[str, float]:
    """Each team's probability for this turn (``NO_TEAM`` left out)."""
    features = dense_features(vector.reshape(1, -1), [message], model.use_cues)
    probabilities = model.predict_proba([message.text], features)[0]
    return {label: float(p) for label, p in zip(model.labels, probabilities, strict=True) if label != NO_TEAM}


def learned_escalation(
    model: HybridClassifier | None,
    policy: EscalationPolicy,
    message: NormalizedMessage,
    vector: np.ndarray,
    situation: Situation,
    threshold: float,
) -> Escalation:
    """An escalation where the chance that the turn needs any team reaches ``threshold`` (1 turns it off)."""
    if model is None or threshold >= 1.0 or policy.rules_only(situation):
        return NO_ESCALATION
    teams = team_probabilities(model, message, vector)
    if sum(teams.values()) < threshold:
        return NO_ESCALATION
    return policy.learned(max(teams, key=teams.__getitem__), message.text, situation)
