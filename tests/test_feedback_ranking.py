"""Agents' picks and rejections move the ranking, with a principled estimate (real model and index)."""

from __future__ import annotations

from retrieval.ranking import FeedbackCounts, Priors
from retrieval.types import MessageInput

MESSAGE = MessageInput("我的快递三天没更新了", top_k=5)


def test_beta_binomial_rates_shrink_to_the_base_with_little_data():
    priors = Priors(
        {("a.one", "invoice"): FeedbackCounts(rejected=20), ("a.two", "invoice"): FeedbackCounts(picked=20)}
    )
    assert round(priors.rate("a.one", "invoice"), 3) == 0.083 and round(priors.rate("a.two", "invoice"), 3) == 0.917
    assert priors.rate("a.new", "invoice") == 0.5 and not priors.rated("a.new")
    few = Priors({("a.one", "invoice"): FeedbackCounts(rejected=2)})
    assert 0.3 < few.rate("a.one", "invoice") < 0.5  # two rejections are a hint, not a verdict
    other_intent = Priors({("a.one", "invoice"): FeedbackCounts(picked=20)}).rate("a.one", "refund_progress")
    assert 0.5 < other_intent < 0.92  # another intent starts from the script's overall rate, shrunk


def test_twenty_rejections_and_twenty_picks_reorder_and_an_unrated_script_keeps_its_score(assistant):
    before = assistant.suggest(MESSAGE)
    intent = before.classification.intent.id
    first, second, third = before.suggestions[:3]
    verdicts = {
        (first.script_id, intent): FeedbackCounts(rejected=20),
        (second.script_id, intent): FeedbackCounts(picked=20),
    }
    after = assistant.suggest(MESSAGE, Priors(verdicts))
    position = {s.script_id: rank for rank, s in enumerate(after.suggestions)}
    assert position[second.script_id] < position.get(first.script_id, len(position))  # gone from the top 5 counts
    unrated = {s.script_id: s.score for s in after.suggestions}
    assert unrated.get(third.script_id) == third.score
