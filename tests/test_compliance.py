"""Each compliance rule fires on a bad text and stays quiet on a good one, evasion tricks included."""

import pytest

from scripts_library.compliance import ComplianceChecker
from scripts_library.loader import load_library
from tests.conftest import LIBRARY

GOOD = "非常抱歉给您带来不便，我马上为您核实，2小时内给您回复处理结果。"


@pytest.fixture(scope="module")
def checker() -> ComplianceChecker:
    return ComplianceChecker(load_library(LIBRARY).compliance)


def rule_ids(checker, text, emotions=("neutral",)):
    return {v.rule_id for v in checker.check(text, emotions)}


@pytest.mark.parametrize(
    ("rule", "bad", "good"),
    [
        ("service.impossible", "您说的情况不可能发生。", "我们会尽力为您协调处理。"),
        ("service.rules_excuse", "抱歉，这是规定，请您理解。", "根据售后政策，我们可以为您补发。"),
        ("service.dont_know", "这个我不知道呢，请您谅解。", "我马上为您核实。"),
        ("service.no_way", "这个没办法处理，请您谅解。", "我来帮您想办法。"),
        ("service.look_yourself", "您自己看详情页吧。", "尺码表我发给您，您看一下。"),
        ("service.not_my_job", "这个不归我管，请您理解。", "我来为您对接相关同事。"),
        ("service.rude", "爱买不买，随您。", "您考虑好随时联系我们。"),
        ("ad.absolute_terms", "这是全网最低价，请您放心。", "我们会第一时间为您处理。"),
        ("ad.absolute_terms", "您放心，效果100%好。", "多数客户反馈效果不错，您可以放心。"),
        ("ad.absolute_terms", "这款是销量第一的哦，您放心。", "这是您第一次购买吗？"),
        ("ad.guarantee", "我保证您满意。", "天猫正品保障，您放心购买。"),
        ("policy.instant_refund", "退款马上到账，请您放心。", "退款审核通过后24小时内原路退回给您。"),
        ("policy.instant_refund", "退款10分钟内到账，请您放心。", "退款审核通过后24小时内到账，请您留意。"),
        ("policy.invoice_faster_than_72h", "发票2小时内开具给您。", "发票会在付款后72小时内为您开具。"),
        ("politeness.second_person", "你好，请问有什么可以帮您？", "您好，请问有什么可以帮您？"),
        ("politeness.address_nin", "好的收到。", "好的，收到您的消息。"),
    ],
)
def test_rule_fires_on_bad_and_not_on_good(checker, rule, bad, good):
    assert rule in rule_ids(checker, bad)
    assert rule not in rule_ids(checker, good)


def test_angry_scripts_must_open_with_empathy(checker):
    assert "emotion.angry_empathy_first" in rule_ids(checker, "您的问题我们会处理，抱歉。", ("angry",))
    assert "emotion.angry_empathy_first" not in rule_ids(checker, GOOD, ("angry",))
    assert "emotion.angry_empathy_first" not in rule_ids(checker, "您的问题我们会处理。", ("neutral",))


def test_anxious_scripts_must_give_a_concrete_time(checker):
    assert "emotion.anxious_concrete_time" in rule_ids(checker, "我们会尽快为您处理。", ("anxious",))
    assert "emotion.anxious_concrete_time" not in rule_ids(checker, GOOD, ("anxious",))
    assert "emotion.anxious_concrete_time" not in rule_ids(checker, "今天18点前为您发出。", ("anxious",))


@pytest.mark.parametrize(
    "evasion",
    [
        "这 不 可 能，请您谅解",  # spaces between characters
        "这不.可.能，请您谅解",  # punctuation between characters
        "这不－可－能，请您谅解",  # full-width symbols
        "這不可能，請您諒解",  # Traditional characters
        "这ＢＵ不可能，请您谅解",  # full-width letters around
    ],
)
def test_forbidden_phrase_survives_evasion_tricks(checker, evasion):
    assert "service.impossible" in rule_ids(checker, evasion)


def test_near_spelling_is_caught_by_fuzzy_rules(checker):
    assert "service.rules_excuse" in rule_ids(checker, "不好意思，规定就是酱样，请您理解")
    assert "service.look_yourself" in rule_ids(checker, "您自己去看详情吧")


def test_violation_span_points_into_the_original_text(checker):
    text = "您好，这 不 可 能。"
    violation = next(v for v in checker.check(text) if v.rule_id == "service.impossible")
    assert text[violation.start : violation.end] == "不 可 能"


def test_shipped_library_has_no_lint_errors():
    from scripts_library.lint import lint_library

    problems = lint_library(load_library(LIBRARY))
    assert [p.format() for p in problems if p.severity == "error"] == []


def test_a_reply_beside_an_escalation_promises_its_deadline_and_no_other(library_copy):
    from scripts_library import workflow
    from scripts_library.lint import lint_entry, promised_reply_minutes
    from scripts_library.workflow import Actor
    from tests.fakes import RecordingAudit

    assert promised_reply_minutes("会在2小时内给您回复，48小时内处理完毕") == [120.0]
    assert promised_reply_minutes("30分钟内会有专人联系您") == [30.0] and promised_reply_minutes("您好") == []
    library = load_library(library_copy)
    script = library.script("complaint_service.agent_attitude")  # comes with 品控组, 30 minutes
    two_hours = script.model_copy(update={"template": script.template.replace("30分钟内", "2小时内")})
    codes = {p.code for p in lint_entry(two_hours, library) if p.severity == "error"}
    assert codes == {"escalation.promise"}
    content = two_hours.content()
    workflow.save(library_copy, script.id, content, Actor("培训组-测试"), RecordingAudit())
    with pytest.raises(workflow.EditRefused, match="two different deadlines"):
        workflow.submit(library_copy, script.id, Actor("培训组-测试"), RecordingAudit())
