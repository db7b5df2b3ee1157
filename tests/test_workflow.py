"""The trainers' workflow (studio and CLI share it): revisions beside live text, four-eyes, roles, audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts_library import workflow
from scripts_library.lint import lint_library, servable_ids
from scripts_library.loader import load_library
from scripts_library.schema import NO_TEAM, FaqContent, ScriptContent
from scripts_library.workflow import CORRECTIONS_SOURCE, Actor, EditRefused, same_person
from tests.fakes import RecordingAudit

SCRIPT = "logistics_tracking.not_updated"
FAQ = "faq.invoice.e_invoice_timing"
GOOD = "非常抱歉让您着急了，{{ courier }}这边我马上帮您催促，2小时内给您回复。"
TRAINER = Actor("培训组-赵晴")
APPROVER = Actor("质检组-李娜", can_approve=True)


def _content(template: str, **overrides: object) -> ScriptContent:
    values: dict = {
        "template": template,
        "variables": {"courier": {"label": "快递公司", "default": "快递公司"}},
        "examples": ["包裹在中转站卡了好几天", "中转站一直不发出"],
        "emotions": ["anxious", "angry"],
        "platforms": ["all"],
    }
    values.update(overrides)
    return ScriptContent.model_validate(values)


def _servable(root: Path) -> set[str]:
    library = load_library(root)
    return servable_ids(library, lint_library(library))


@pytest.fixture
def audit() -> RecordingAudit:
    return RecordingAudit()


def test_editing_a_live_script_keeps_it_served_until_the_revision_is_approved(library_copy, audit):
    before = load_library(library_copy).script(SCRIPT)
    saved = workflow.save(library_copy, SCRIPT, _content(GOOD), TRAINER, audit)
    assert saved.entry.status == "approved" and saved.entry.template == before.template
    assert (saved.from_status, saved.to_status) == ("approved", "draft") and saved.entry.proposal.author == TRAINER.name
    assert SCRIPT in _servable(library_copy)
    workflow.submit(library_copy, SCRIPT, TRAINER, audit)
    assert SCRIPT in _servable(library_copy)
    approved = workflow.approve(library_copy, SCRIPT, APPROVER, audit, "好")
    assert approved.entry.template == GOOD and approved.entry.proposal is None
    assert approved.entry.version == before.version + 1 and approved.entry.approver == APPROVER.name
    assert approved.entry.author == TRAINER.name
    assert [r.to_status for r in audit.records] == ["draft", "submitted", "approved"]
    assert all(r.snapshot and r.diff for r in audit.records)


def test_the_file_keeps_comments_and_styles(library_copy, audit):
    path = library_copy / "scripts" / "logistics_tracking.yaml"
    path.write_text("# 培训组备注：保留我\n" + path.read_text("utf-8"), "utf-8")
    workflow.save(library_copy, SCRIPT, _content(GOOD), TRAINER, audit)
    text = path.read_text("utf-8")
    assert text.startswith("# 培训组备注：保留我") and "proposal:" in text
    assert "emotions: [anxious, angry]" in text and "courier: {label: 快递公司, default: 快递公司}" in text


def test_saving_the_same_draft_twice_writes_one_audit_row(library_copy, audit):
    first = workflow.save(library_copy, SCRIPT, _content(GOOD), TRAINER, audit)
    again = workflow.save(library_copy, SCRIPT, _content(GOOD), TRAINER, audit)
    assert first.audit_id == 1 and again.audit_id is None and len(audit.records) == 1


def test_save_refuses_schema_errors_and_stale_editors(library_copy, audit):
    path = library_copy / "scripts" / "logistics_tracking.yaml"
    before = path.read_text("utf-8")
    with pytest.raises(ValueError, match="emotions"):
        workflow.save(
            library_copy, SCRIPT, _content("您好。").model_copy(update={"emotions": ("furious",)}), TRAINER, audit
        )
    assert path.read_text("utf-8") == before
    with pytest.raises(EditRefused, match="changed by someone else"):
        workflow.save(library_copy, SCRIPT, _content("您好，正在处理。"), TRAINER, audit, "2000-01-01T00:00:00")
    assert audit.records == []


def test_two_saves_within_one_second_still_stop_an_editor_that_loaded_between_them(library_copy, audit):
    """Stamps are whole seconds; each change must still move the stamp an open editor compares against."""
    first = workflow.save(library_copy, SCRIPT, _content(GOOD), TRAINER, audit)
    loaded = first.entry.proposal.updated_at.isoformat()  # a second trainer opens the editor now
    second = workflow.save(library_copy, SCRIPT, _content(GOOD + "请稍候。"), TRAINER, audit, loaded)
    assert second.entry.proposal.updated_at > first.entry.proposal.updated_at  # even within the same second
    with pytest.raises(EditRefused, match="changed by someone else"):
        workflow.save(library_copy, SCRIPT, _content(GOOD + "马上处理。"), Actor("培训组-钱多"), audit, loaded)
    assert load_library(library_copy).script(SCRIPT).proposal.template == GOOD + "请稍候。"


def test_submit_is_blocked_by_lint_errors_and_approval_by_four_eyes(library_copy, audit):
    workflow.save(library_copy, SCRIPT, _content("抱歉，这个不可能更快了，{{ courier }}在路上。"), TRAINER, audit)
    with pytest.raises(EditRefused, match="lint errors"):
        workflow.submit(library_copy, SCRIPT, TRAINER, audit)
    with pytest.raises(EditRefused, match="only submitted"):
        workflow.approve(library_copy, SCRIPT, APPROVER, audit)
    workflow.save(library_copy, SCRIPT, _content(GOOD), TRAINER, audit)
    workflow.submit(library_copy, SCRIPT, TRAINER, audit)
    for same in (Actor("培训组-赵晴", can_approve=True), Actor(" 培训组－赵晴 ", can_approve=True)):
        with pytest.raises(EditRefused, match="four-eyes"):
            workflow.approve(library_copy, SCRIPT, same, audit)
    with pytest.raises(EditRefused, match="approver role"):
        workflow.approve(library_copy, SCRIPT, Actor("培训组-别人"), audit)
    assert workflow.approve(library_copy, SCRIPT, APPROVER, audit).to_status == "approved"


def test_names_compare_case_and_width_insensitively():
    assert same_person("Alice", " alice ") and same_person("ａｌｉｃｅ", "ALICE") and not same_person("alice", "bob")


def test_reject_needs_a_comment_and_the_author_sees_it(library_copy, audit):
    workflow.save(library_copy, SCRIPT, _content(GOOD), TRAINER, audit)
    workflow.submit(library_copy, SCRIPT, TRAINER, audit)
    with pytest.raises(EditRefused, match="say why"):
        workflow.reject(library_copy, SCRIPT, APPROVER, audit, "  ")
    rejected = workflow.reject(library_copy, SCRIPT, APPROVER, audit, "语气再柔和一些")
    assert (rejected.from_status, rejected.to_status) == ("submitted", "rejected")
    assert rejected.entry.proposal.comment == "语气再柔和一些" and rejected.entry.status == "approved"
    assert workflow.submit(library_copy, SCRIPT, TRAINER, audit).to_status == "submitted"


def test_retire_needs_a_reason_and_an_approver_and_can_be_undone(library_copy, audit):
    with pytest.raises(EditRefused, match="say why"):
        workflow.retire(library_copy, SCRIPT, APPROVER, audit, "")
    with pytest.raises(EditRefused, match="approver role"):
        workflow.retire(library_copy, SCRIPT, TRAINER, audit, "过时")
    retired = workflow.retire(library_copy, SCRIPT, APPROVER, audit, "物流政策调整")
    assert retired.entry.retired_reason == "物流政策调整" and SCRIPT not in _servable(library_copy)
    with pytest.raises(EditRefused, match="already retired"):
        workflow.retire(library_copy, SCRIPT, APPROVER, audit, "再下线")
    with pytest.raises(EditRefused, match="undo the retirement"):
        workflow.save(library_copy, SCRIPT, _content(GOOD), TRAINER, audit)
    back = workflow.unretire(library_copy, SCRIPT, APPROVER, audit)
    assert back.entry.status == "approved" and back.entry.retired_reason is None and SCRIPT in _servable(library_copy)


def test_restoring_an_old_version_is_a_proposal_to_approve(library_copy, audit):
    original = load_library(library_copy).script(SCRIPT)
    workflow.save(library_copy, SCRIPT, _content(GOOD), TRAINER, audit)
    workflow.submit(library_copy, SCRIPT, TRAINER, audit)
    workflow.approve(library_copy, SCRIPT, APPROVER, audit)
    current = load_library(library_copy).script(SCRIPT)
    old_content = workflow.snapshot_content(current, original.model_dump_json())
    restored = workflow.save(library_copy, SCRIPT, old_content, TRAINER, audit, comment="恢复 v1")
    assert restored.entry.template == GOOD and restored.entry.proposal.template == original.template
    assert audit.records[-1].comment == "恢复 v1"


def test_a_new_script_goes_from_draft_to_live(library_copy, audit):
    created = workflow.create_script(library_copy, "invoice", "probe", TRAINER, audit)
    assert created.entry.status == "draft" and created.entry.id not in _servable(library_copy)
    content = _content("您好，发票会在付款后72小时内开具，请您留意。", variables={}, emotions=["neutral"])
    workflow.save(library_copy, created.entry.id, content, TRAINER, audit)
    workflow.submit(library_copy, created.entry.id, TRAINER, audit)
    live = workflow.approve(library_copy, created.entry.id, APPROVER, audit)
    assert live.entry.status == "approved" and live.entry.version == 1 and live.entry.id in _servable(library_copy)


def test_faq_entries_go_through_the_same_workflow(library_copy, audit):
    faq = load_library(library_copy).entry(FAQ)
    answer = "您好，电子发票会在您付款后72小时内开具，开好后可在订单详情查看。"
    content = FaqContent.model_validate(faq.content().model_dump() | {"answer": answer})
    workflow.save(library_copy, FAQ, content, TRAINER, audit)
    workflow.submit(library_copy, FAQ, TRAINER, audit)
    with pytest.raises(EditRefused, match="four-eyes"):
        workflow.approve(library_copy, FAQ, Actor(TRAINER.name, can_approve=True), audit)
    approved = workflow.approve(library_copy, FAQ, APPROVER, audit)
    assert approved.entry.answer == answer and approved.entry.version == faq.version + 1


def test_a_new_faq_entry_goes_from_draft_to_live(library_copy, audit):
    created = workflow.create_faq(library_copy, "invoice", "probe", TRAINER, audit)
    assert created.entry.id == "faq.invoice.probe" and created.entry.status == "draft"
    content = FaqContent.model_validate(
        {
            "questions": ["发票抬头能改吗"],
            "answer": "您好，发票开具前可以修改抬头，请您联系我们。",
            "platforms": ["all"],
        }
    )
    workflow.save(library_copy, created.entry.id, content, TRAINER, audit)
    workflow.submit(library_copy, created.entry.id, TRAINER, audit)
    live = workflow.approve(library_copy, created.entry.id, APPROVER, audit)
    assert live.entry.status == "approved" and live.entry.id in _servable(library_copy)
    with pytest.raises(EditRefused) as exists:
        workflow.create_faq(library_copy, "invoice", "probe", TRAINER, audit)
    assert exists.value.code == "exists"


def test_a_script_for_a_coverage_gap_starts_with_its_mood_and_platform(library_copy, audit):
    created = workflow.create_script(library_copy, "invoice", "gap", TRAINER, audit, ["angry"], ["jd"])
    assert created.entry.emotions == ("angry",) and created.entry.platforms == ("jd",)
    assert "emotions: [angry]" in (library_copy / "scripts" / "invoice.yaml").read_text("utf-8")


AGENT = "坐席-小周"


def test_an_accepted_correction_becomes_a_redacted_training_example(library_copy, audit):
    path = library_copy / "intents.yaml"
    path.write_text("# 意图目录（培训组维护）\n" + path.read_text("utf-8"), "utf-8")
    added = workflow.add_example(
        library_copy, "intent", "logistics_tracking", "单号 SF1234567890123 还没到 急用", APPROVER, audit, AGENT
    )
    assert "SF1234567890123" not in added.text and added.audit_id == 1
    library = load_library(library_copy)
    intent = next(i for i in library.intents if i.id == "logistics_tracking")
    assert intent.examples[-1] == added.text
    assert path.read_text("utf-8").startswith("# 意图目录（培训组维护）")
    record = audit.records[0]
    assert record.entry_id == "intent:logistics_tracking" and record.actor == APPROVER.name and AGENT in record.comment
    assert added.text in record.diff and not [p for p in lint_library(library) if p.severity == "error"]
    mood = workflow.add_example(
        library_copy, "emotion", "anxious", "到底什么时候能到啊 等着用呢", APPROVER, audit, AGENT
    )
    emotions = (library_copy / "emotions.yaml").read_text("utf-8")
    assert f'"{mood.text}"' in emotions  # the emotions' list is double-quoted: the new item too


def test_an_accepted_escalation_correction_becomes_a_labelled_turn_for_the_backstop(library_copy, audit):
    path = library_copy / "escalation_examples.yaml"
    before = path.read_text("utf-8")
    team = workflow.add_example(
        library_copy, "escalation", "售后主管", "退款被拒三次了 订单号1234567890123 找你们主管", APPROVER, audit, AGENT
    )
    calm = workflow.add_example(library_copy, "escalation", NO_TEAM, "你们这个品控到底行不行啊", APPROVER, audit, AGENT)
    text = path.read_text("utf-8")
    assert text.startswith(before) and "1234567890123" not in text  # appended, redacted, the rest untouched
    assert text.endswith(
        f'  - {{text: "{team.text}", team: "售后主管", source: corrections}}\n'
        f'  - {{text: "{calm.text}", team: null, source: corrections}}\n'
    )
    examples = load_library(library_copy).escalation_examples
    assert [(e.text, e.team, e.source) for e in examples[-2:]] == [
        (team.text, "售后主管", CORRECTIONS_SOURCE),
        (calm.text, None, CORRECTIONS_SOURCE),
    ]
    assert [r.entry_id for r in audit.records] == ["escalation:售后主管", f"escalation:{NO_TEAM}"]
    assert team.text in audit.records[0].diff


def test_the_first_accepted_escalation_example_starts_the_file(library_copy, audit):
    (library_copy / "escalation_examples.yaml").unlink()
    added = workflow.add_example(library_copy, "escalation", "品控组", "这是高仿吧 logo都歪了", APPROVER, audit, AGENT)
    (example,) = load_library(library_copy).escalation_examples
    assert (example.text, example.team, example.source) == (added.text, "品控组", CORRECTIONS_SOURCE)


def test_an_escalation_example_names_a_team_of_the_policy_and_is_not_there_yet(library_copy, audit):
    path = library_copy / "escalation_examples.yaml"
    before = path.read_text("utf-8")
    known = load_library(library_copy).escalation_examples[0]

    def code(label: str, text: str) -> str:
        with pytest.raises(EditRefused) as refused:
            workflow.add_example(library_copy, "escalation", label, text, APPROVER, audit, AGENT)
        return refused.value.code

    assert code("法务部", "我要起诉你们") == "unknown_team"
    assert code(known.team or NO_TEAM, known.text) == "exists"
    other = "品控组" if known.team != "品控组" else NO_TEAM
    assert code(other, known.text + "！") == "duplicate_example"
    assert path.read_text("utf-8") == before and audit.records == []


def test_an_example_needs_an_approver_other_than_the_agent_and_no_duplicate(library_copy, audit):
    path = library_copy / "intents.yaml"
    before = path.read_text("utf-8")

    def code(actor: Actor, label: str, text: str, kind: str = "intent", proposed_by: str = AGENT) -> str:
        with pytest.raises(EditRefused) as refused:
            workflow.add_example(library_copy, kind, label, text, actor, audit, proposed_by)
        return refused.value.code

    assert code(TRAINER, "invoice", "能开个发票不") == "needs_approver"
    assert code(Actor(" 坐席－小周 ", can_approve=True), "invoice", "能开个发票不") == "four_eyes"
    assert code(APPROVER, "no_such_intent", "能开个发票不") == "unknown_intent"
    assert code(APPROVER, "furious", "气死了", kind="emotion") == "unknown_emotion"
    claimed = load_library(library_copy).intents[0]
    assert code(APPROVER, claimed.id, claimed.examples[0]) == "exists"
    assert code(APPROVER, "invoice", claimed.examples[0]) == "duplicate_example"
    script_example = load_library(library_copy).script(SCRIPT).examples[0]
    assert code(APPROVER, "invoice", script_example + "！") == "duplicate_example"  # punctuation does not hide it
    assert code(APPROVER, "invoice", "  ") == "empty_example"
    assert path.read_text("utf-8") == before and audit.records == []
