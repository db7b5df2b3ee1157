"""Library loading, line-precise errors, and the approve/retire workflow."""

from pathlib import Path

import pytest

from scripts_library.editing import EditRefused, approve, new_script, retire
from scripts_library.lint import lint_library, servable_ids
from scripts_library.loader import LibraryError, load_library
from tests.conftest import LIBRARY


def test_shipped_library_loads_with_enough_content():
    library = load_library(LIBRARY)
    approved = [s for s in library.scripts if s.status == "approved"]
    assert len(approved) >= 250 and len(library.faqs) >= 150
    assert all(len(i.examples) >= 25 for i in library.intents)
    assert {s.primary_intent for s in approved} >= set(library.intent_ids)


def _write_bad_script(library_dir: Path) -> Path:
    path = library_dir / "scripts" / "zz_bad.yaml"
    path.write_text(
        "schema_version: 1\n"
        "scripts:\n"
        "  - id: logistics_tracking.bad_one\n"
        "    intents: [logistics_tracking]\n"
        "    emotions: [furious]\n"
        "    stage: 售中\n"
        "    platforms: [all]\n"
        "    template: 您好\n"
        "    examples: [到哪了呀]\n"
        "    author: 培训组-测试\n",
        encoding="utf-8",
    )
    return path


def test_bad_file_error_names_file_line_and_field(library_copy):
    _write_bad_script(library_copy)
    with pytest.raises(LibraryError) as caught:
        load_library(library_copy)
    message = str(caught.value)
    assert "scripts/zz_bad.yaml:5" in message
    assert "emotions.0" in message and "logistics_tracking.bad_one" in message


def test_invalid_yaml_reports_its_line(library_copy):
    (library_copy / "faq" / "zz_broken.yaml").write_text("schema_version: 1\nfaq:\n  - id: [unclosed\n", "utf-8")
    with pytest.raises(LibraryError) as caught:
        load_library(library_copy)
    assert "faq/zz_broken.yaml:" in str(caught.value) and "not valid YAML" in str(caught.value)


def _draft_with_violation(library_copy: Path) -> str:
    script = new_script(library_copy, "logistics_tracking", "draft_test", author="培训组-测试")
    path = library_copy / "scripts" / "logistics_tracking.yaml"
    text = path.read_text("utf-8").replace("您好，请在这里写回复内容。", "这不可能，请您再等等。")
    path.write_text(text, "utf-8")
    return script.id


def test_approve_refuses_lint_errors_and_self_approval(library_copy):
    script_id = _draft_with_violation(library_copy)
    with pytest.raises(EditRefused, match="lint errors block approval"):
        approve(library_copy, script_id, "质检组-李娜")
    path = library_copy / "scripts" / "logistics_tracking.yaml"
    path.write_text(
        path.read_text("utf-8").replace("这不可能，请您再等等。", "您好，包裹正在路上，请您耐心等待。"), "utf-8"
    )
    with pytest.raises(EditRefused, match="four-eyes"):
        approve(library_copy, script_id, "培训组-测试")
    approved = approve(library_copy, script_id, "质检组-李娜")
    assert approved.status == "approved" and approved.approver == "质检组-李娜" and approved.approved_at


def test_edits_keep_comments_and_other_entries(library_copy):
    path = library_copy / "scripts" / "logistics_tracking.yaml"
    path.write_text("# trainers' note stays\n" + path.read_text("utf-8"), "utf-8")
    before = len(load_library(library_copy).scripts)
    retire(library_copy, load_library(library_copy).scripts[0].id)
    assert path.read_text("utf-8").startswith("# trainers' note stays")
    assert len(load_library(library_copy).scripts) == before


def test_drafts_and_retired_scripts_are_not_servable(library_copy):
    draft_id = new_script(library_copy, "invoice", "draft_only", author="培训组-测试").id
    retired_id = retire(library_copy, "invoice.e_invoice_timing").id
    library = load_library(library_copy)
    servable = servable_ids(library, lint_library(library))
    assert draft_id not in servable and retired_id not in servable
    assert "invoice.paper_invoice" in servable
