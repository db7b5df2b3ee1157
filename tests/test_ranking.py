"""Ranking features and ordering, on hand-made candidates (no model, no index)."""

from __future__ import annotations

import pytest

from retrieval.escalation import NO_ESCALATION
from retrieval.ranking import RankingFeatures, Scored, emotion_fit, features, lead_with_mood_variant
from retrieval.serving import Candidate
from retrieval.settings import RankingWeights
from retrieval.types import Classification, EmotionResult, IntentResult
from scripts_library.text import normalize


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


@pytest.mark.parametrize(
    ("customer", "suited", "fit"),
    [
        ("angry", ("angry", "dissatisfied"), 1.0),
        ("angry", ("neutral",), 0.0),
        ("anxious", ("neutral",), 0.0),
        ("neutral", ("neutral",), 1.0),
        ("positive", ("neutral",), 0.6),
        ("dissatisfied", ("angry",), 0.2),
    ],
)
def test_emotion_fit_demands_the_mood_variant_for_angry_and_anxious(customer, suited, fit):
    assert emotion_fit(customer, suited) == fit


def test_features_are_in_the_unit_interval_and_explain_themselves():
    c = _classification("快递到哪了")
    f = features(_candidate("a.one", platforms=("tmall",)), 0.83, 0.4, 0.9, c, "tmall")
    assert f == RankingFeatures(semantic=0.83, lexical=1.0, intent=0.8, emotion=1.0, platform=1.0, prior=0.9, entry=0.4)
    other = features(_candidate("a.two", intents=("invoice",), examples=("发票怎么开",)), -0.2, 0.0, 0.5, c, "tmall")
    assert other.semantic == 0.0 and other.intent == pytest.approx(0.1) and other.platform == 0.5
    assert 0.0 <= other.lexical < 0.5


def test_score_is_the_weighted_sum():
    f = RankingFeatures(semantic=1.0, lexical=0.5, intent=0.2, emotion=0.0, platform=1.0, prior=0.5, entry=0.1)
    w = RankingWeights(semantic=1, lexical=2, intent=3, emotion=4, platform=5, prior=6, entry=7)
    assert f.score(w) == pytest.approx(1 + 1 + 0.6 + 0 + 5 + 3 + 0.7)


def test_an_angry_customer_gets_the_apology_variant_first_and_a_calm_one_keeps_the_order():
    calm, apology = _candidate("a.calm"), _candidate("a.sorry", emotions=("angry",))
    f = RankingFeatures(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5)
    ranked = [Scored(calm, f, 0.9), Scored(apology, f, 0.7)]
    assert [s.candidate.id for s in lead_with_mood_variant(ranked, "angry")] == ["a.sorry", "a.calm"]
    assert [s.candidate.id for s in lead_with_mood_variant(ranked, "neutral")] == ["a.calm", "a.sorry"]
