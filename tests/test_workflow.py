"""The studio workflow in the library API: edit → submit → approve / reject → retire, with diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts_library.editing import (
    EditRefused,
    ScriptEdits,
    VariableEdit,
    approve_submitted,
    reject,
    retire_change,
    save_edits,
    submit,
)
from scripts_library.loader import load_library

SCRIPT = "logistics_tracking.not_updated"
GOOD = "非常抱歉让您着急了，{{ courier }}这边我马上帮您催促，2小时内给您回复。"
EDITOR = "培训组-赵晴"


def _edits(template: str, **overrides: object) -> ScriptEdits:
    values: dict = {
        "template": template,
        "variables": [VariableEdit("courier", "快递公司", "快递公司")],
        "examples": ["包裹在中转站卡了好几天", "中转站一直不发出"],
        "emotions": ["anxious", "angry"],
        "platforms": ["all"],
    }
    values.update(overrides)
    return ScriptEdits(**values)


@pytest.fixture
def script_id(library_copy: Path) -> str:
    assert load_library(library_copy).script(SCRIPT).status == "approved"
    return SCRIPT


def test_save_edits_makes_a_draft_by_the_editor_and_keeps_the_file_tidy(library_copy, script_id):
    path = library_copy / "scripts" / "logistics_tracking.yaml"
    path.write_text("# 培训组备注：保留我\n" + path.read_text("utf-8"), "utf-8")
    change = save_edits(
        library_copy, script_id, _edits("非常抱歉让您久等了，{{ courier }}这边我马上帮您催一下。"), "培训组-赵晴"
    )
    assert change.from_status == "approved" and change.to_status == "draft"
    assert change.script.author == "培训组-赵晴" and "马上帮您催一下" in change.script.template
    assert change.script.examples == ("包裹在中转站卡了好几天", "中转站一直不发出")
    assert "+" in change.diff and "马上帮您催一下" in change.diff and "status: draft" in change.diff
    text = path.read_text("utf-8")
    assert text.startswith("# 培训组备注：保留我") and "emotions: [anxious, angry]" in text
    assert "courier: {label: 快递公司, default: 快递公司}" in text


def test_save_refuses_schema_errors_and_stale_editors(library_copy, script_id):
    before = (library_copy / "scripts" / "logistics_tracking.yaml").read_text("utf-8")
    with pytest.raises(Exception, match="emotions"):
        save_edits(library_copy, script_id, _edits("您好，正在处理。", emotions=["furious"]), "培训组-赵晴")
    assert (library_copy / "scripts" / "logistics_tracking.yaml").read_text("utf-8") == before
    with pytest.raises(EditRefused, match="changed by someone else"):
        save_edits(library_copy, script_id, _edits("您好，正在处理。", base_updated_at="2000-01-01T00:00:00"), "x")


def test_submit_is_blocked_by_lint_errors_then_approve_needs_a_second_person(library_copy, script_id):
    save_edits(library_copy, script_id, _edits("抱歉，这个不可能更快了，{{ courier }}在路上。"), "培训组-赵晴")
    with pytest.raises(EditRefused, match="lint errors"):
        submit(library_copy, script_id, "培训组-赵晴")
    with pytest.raises(EditRefused, match="only submitted"):
        approve_submitted(library_copy, script_id, "质检组-李娜")
    save_edits(
        library_copy,
        script_id,
        _edits(GOOD),
        "培训组-赵晴",
    )
    submitted = submit(library_copy, script_id, "培训组-赵晴")
    assert (submitted.from_status, submitted.to_status) == ("draft", "submitted")
    with pytest.raises(EditRefused, match="four-eyes"):
        approve_submitted(library_copy, script_id, "培训组-赵晴")
    approved = approve_submitted(library_copy, script_id, "质检组-李娜")
    assert (approved.from_status, approved.to_status) == ("submitted", "approved")
    assert approved.script.approver == "质检组-李娜" and approved.script.version == 2
    assert "approver: 质检组-李娜" in approved.diff


def test_reject_needs_a_comment_and_sends_the_script_back(library_copy, script_id):
    save_edits(
        library_copy,
        script_id,
        _edits(GOOD),
        "培训组-赵晴",
    )
    submit(library_copy, script_id, "培训组-赵晴")
    with pytest.raises(EditRefused, match="say why"):
        reject(library_copy, script_id, "质检组-李娜", "  ")
    rejected = reject(library_copy, script_id, "质检组-李娜", "语气再柔和一些")
    assert (rejected.from_status, rejected.to_status) == ("submitted", "rejected")
    assert submit(library_copy, script_id, "培训组-赵晴").to_status == "submitted"


def test_retire_change_records_the_transition_once(library_copy, script_id):
    change = retire_change(library_copy, script_id)
    assert (change.from_status, change.to_status) == ("approved", "retired") and "status: retired" in change.diff
    with pytest.raises(EditRefused, match="already retired"):
        retire_change(library_copy, script_id)
    with pytest.raises(EditRefused, match="new script"):
        save_edits(library_copy, script_id, _edits("您好。"), "培训组-赵晴")
