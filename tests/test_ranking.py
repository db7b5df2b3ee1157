"""Ranking features and ordering, on hand-made candidates (no model, no index)."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.escalation import NO_ESCALATION
from retrieval.ranking import FEATURES, NO_FEEDBACK, RankingFeatures, feature_matrix, mood_first
from retrieval.serving import Candidate, CandidateTable
from retrieval.settings import RankingWeights
from retrieval.types import Classification, EmotionResult, IntentResult
from scripts_library.text import normalize

LABELS = ["invoice", "logistics_tracking", "shipping_urge"]


def _classification(message: str, intent: str = "logistics_tracking", emotion: str = "neutral") -> Classification:
    topic = {"logistics_tracking": 0.7, "shipping_urge": 0.2, "invoice": 0.1}
    return Classification(
        IntentResult(intent, intent, 0.8, ()),
        EmotionResult(emotion, 0.9, 0.5),
        NO_ESCALATION,
        normalize(message),
        topic,
        topic,
    )


def _candidate(
    entry_id: str, intents=("logistics_tracking",), emotions=("neutral",), platforms=("all",), examples=("快递到哪了",)
):
    return Candidate(entry_id, "script", 1, intents, emotions, platforms, examples)


CANDIDATES = [
    _candidate("a.calm", platforms=("tmall",)),
    _candidate("a.sorry", emotions=("angry", "dissatisfied")),
    _candidate("b.invoice", intents=("invoice",), examples=("发票怎么开",)),
    _candidate("c.rush", intents=("shipping_urge",), emotions=("anxious",), examples=("快点发货",)),
]


def _features(emotion: str, platform: str | None = "tmall", semantic=(0.83, np.inf, -0.2, -np.inf)) -> dict:
    table = CandidateTable(CANDIDATES, LABELS, [], ["a.calm", "b.invoice"])
    near = np.array([s if np.isfinite(s) else -np.inf for s in semantic])
    near[1] = 0.5
    matrix = feature_matrix(
        table,
        np.arange(4),
        near,
        np.array([0.4, 0.9]),
        NO_FEEDBACK,
        _classification("快递到哪了", emotion=emotion),
        platform,
    )
    return {c.id: RankingFeatures(*map(float, row)) for c, row in zip(CANDIDATES, matrix, strict=True)}


def test_features_are_in_the_unit_interval_and_follow_the_rules():
    f = _features("neutral")
    assert f["a.calm"] == RankingFeatures(
        semantic=0.83, lexical=1.0, intent=0.8, emotion=1.0, platform=1.0, prior=0.5, entry=0.4
    )
    invoice = f["b.invoice"]
    assert invoice.semantic == 0.0 and invoice.intent == pytest.approx(0.1) and invoice.platform == 0.5
    assert invoice.entry == 0.9 and invoice.lexical < 0.5
    assert f["c.rush"].semantic == pytest.approx(-0.2 if False else 0.0) and f["c.rush"].entry == 0.5  # unseen entry
    assert all(0.0 <= value <= 1.0 for features in f.values() for value in (features.semantic, features.intent))


@pytest.mark.parametrize(
    ("customer", "fits"),
    [
        ("angry", {"a.calm": 0.0, "a.sorry": 1.0, "c.rush": 0.0}),
        ("anxious", {"a.calm": 0.0, "a.sorry": 0.0, "c.rush": 1.0}),
        ("positive", {"a.calm": 0.6, "a.sorry": 0.2, "c.rush": 0.2}),
        ("dissatisfied", {"a.calm": 0.6, "a.sorry": 1.0, "c.rush": 0.2}),
    ],
)
def test_angry_and_anxious_customers_need_their_variants(customer, fits):
    f = _features(customer)
    assert {k: f[k].emotion for k in fits} == fits


def test_score_is_the_weighted_sum():
    f = RankingFeatures(semantic=1.0, lexical=0.5, intent=0.2, emotion=0.0, platform=1.0, prior=0.5, entry=0.1)
    w = RankingWeights(semantic=1, lexical=2, intent=3, emotion=4, platform=5, prior=6, entry=7)
    assert f.score(w) == pytest.approx(1 + 1 + 0.6 + 0 + 5 + 3 + 0.7)
    assert tuple(RankingFeatures.__dataclass_fields__) == FEATURES


def test_an_angry_customer_gets_the_apology_variant_first_and_a_calm_one_keeps_the_order():
    order = np.array([2, 0, 3, 1])  # candidates best first; only candidate 3 suits the customer's mood
    suits = np.array([False, False, False, True])
    assert mood_first(order, suits, "angry").tolist() == [3, 2, 0, 1]
    assert mood_first(order, suits, "neutral").tolist() == [2, 0, 3, 1]
    assert mood_first(order, np.zeros(4, bool), "anxious").tolist() == [2, 0, 3, 1]
