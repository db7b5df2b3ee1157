"""The learned escalation backstop: its examples' schema, the policy's limits on it, and how the threshold is chosen."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rapidfuzz import fuzz, process

from eval.backstop import Reading, choose, scores
from retrieval.escalation import LEARNED_RULE_ID, EscalationPolicy, Situation
from retrieval.pipeline import Assistant
from retrieval.types import MessageInput
from scripts_library.loader import ESCALATION_EXAMPLES_FILE, LibraryError, load_library
from scripts_library.text import compact
from tests.conftest import LIBRARY

NEAR_BLIND = 85  # fuzz ratio of compacted texts


@pytest.fixture(scope="module")
def policy() -> EscalationPolicy:
    return EscalationPolicy(load_library(LIBRARY).escalation)


def _library_copy(tmp_path: Path) -> Path:
    root = tmp_path / "scripts_library"
    shutil.copytree(LIBRARY, root)
    return root


def test_an_example_sent_to_a_team_the_policy_lacks_is_reported_at_its_line(tmp_path):
    root = _library_copy(tmp_path)
    examples = root / ESCALATION_EXAMPLES_FILE
    lines = examples.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if 'team: "品控组"' in line)
    lines[at] = lines[at].replace("品控组", "外星组")
    examples.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LibraryError) as raised:
        load_library(root)
    (problem,) = raised.value.problems
    assert (problem.file, problem.line) == (f"scripts_library/{ESCALATION_EXAMPLES_FILE}", at + 1)
    assert "外星组" in problem.message and "品控组" in problem.hint


def test_no_escalation_example_is_near_a_blind_set_message():
    blind_sets = Path(__file__).parents[1] / "eval" / "data"
    lines = [line for path in blind_sets.glob("blind*/messages.jsonl") for line in path.read_text("utf-8").splitlines()]
    blind = [json.loads(line)["message"] for line in lines if line]
    compacted = [c for c in map(compact, blind) if c]
    near = [
        (example.text, match[0])
        for example in load_library(LIBRARY).escalation_examples
        if (text := compact(example.text))
        and (match := process.extractOne(text, compacted, scorer=fuzz.ratio, score_cutoff=NEAR_BLIND))
    ]
    assert near == [], f"escalation examples that would let the blind sets be learned (drop them): {near[:10]}"


def test_a_library_without_examples_loads_with_no_backstop_to_train(tmp_path):
    root = _library_copy(tmp_path)
    (root / ESCALATION_EXAMPLES_FILE).unlink()
    assert load_library(root).escalation_examples == ()


@pytest.mark.parametrize(
    ("team", "message", "situation", "escalates"),
    [
        ("品控组", "客服就知道发链接 我问的没人看", Situation(["complaint_service"], "dissatisfied"), True),
        ("品控组", "师傅装得很专业 点赞", Situation(["installation_repair"], "positive"), False),  # pleased
        ("品牌服务", "上门维修要等几天", Situation(["installation_repair"], "neutral"), False),  # calm: rules only
        ("品牌服务", "空调装了三天还没人来 到底管不管", Situation(["installation_repair"], "anxious"), True),
        ("品控组", "说了半天没用 转人工", Situation(["complaint_service"], "angry"), False),  # asks for a person
        ("客服主管", "12315电话多少 不是投诉你们", Situation(["other"], "neutral"), False),  # disclaims
        ("售后主管", "退全款", Situation(["return_exchange"], "angry", amount=30.0), False),  # a small order
        ("售后主管", "退全款", Situation(["return_exchange"], "angry", amount=3000.0), True),
        ("外星组", "客服就知道发链接", Situation(["complaint_service"], "angry"), False),  # no such team
    ],
)
def test_the_backstop_escalates_only_within_the_policys_conditions(policy, team, message, situation, escalates):
    escalation = policy.learned(team, message, situation)
    assert escalation.required is escalates
    if escalates:
        assert (escalation.team, escalation.rule_id) == (team, LEARNED_RULE_ID)
        assert team in escalation.reason


def test_a_learned_escalation_promises_the_teams_own_deadline(policy):
    angry = Situation(["complaint_service"], "angry")
    assert policy.learned("品控组", "客服就知道发链接", angry).respond_within_minutes == 30
    assert policy.learned("风控组", "一直领券", angry).respond_within_minutes == 60


def test_a_complaint_no_rule_words_reaches_its_team_through_the_backstop(assistant: Assistant):
    message = MessageInput("那个客服老是给我甩链接 我问的根本不看")
    escalation = assistant.classify(message).escalation
    assert (escalation.team, escalation.rule_id) == ("品控组", LEARNED_RULE_ID)
    off = assistant.thresholds.model_copy(update={"escalation_backstop_at": 1.0})
    without = Assistant(assistant.encoder, assistant.index, assistant.weights, off)
    assert not without.classify(message).escalation.required


@pytest.mark.parametrize("message", ["装空调的师傅很专业 点赞", "是的", "这是正品吗", "我要转人工", "我不会投诉的"])
def test_what_the_rules_decline_the_backstop_declines_too(assistant: Assistant, message):
    assert not assistant.classify(MessageInput(message)).escalation.required


def _reading(gold: str | None, rule: str | None, learned: str | None, chance: float) -> Reading:
    return Reading(gold, rule, learned, chance)


def test_the_threshold_table_counts_what_the_backstop_adds():
    readings = [
        _reading("品控组", "品控组", None, 0.99),  # the rules found it
        _reading("品控组", None, "品控组", 0.95),  # the backstop finds it from 0.95 down
        _reading(None, None, "品牌服务", 0.75),  # a false alarm from 0.75 down
        _reading("风控组", None, "品控组", 0.6),  # found, wrong team, from 0.6 down
        _reading(None, None, None, 0.99),  # the policy did not allow it: never added
    ]
    rules = scores(readings, 1.0)
    assert (rules["recall"], rules["precision"], rules["added"]) == (round(1 / 3, 4), 1.0, 0)
    assert scores(readings, 0.9) == {
        "threshold": 0.9,
        "recall": round(2 / 3, 4),
        "precision": 1.0,
        "right_team": 1.0,
        "added": 1,
        "added_false_alarms": 0,
    }
    low = scores(readings, 0.5)
    assert (low["recall"], low["precision"], low["right_team"], low["added_false_alarms"]) == (
        1.0,
        0.75,
        round(2 / 3, 4),
        1,
    )
    assert choose([scores(readings, t) for t in (0.5, 0.9, 1.0)], precision_slack=0.01)["threshold"] == 0.9
