"""Library loading, line-precise errors, and what reaches the index."""

from pathlib import Path

import pytest

from scripts_library import workflow
from scripts_library.lint import PROPOSAL_SUFFIX, lint_library, servable_ids
from scripts_library.loader import LibraryError, load_library
from scripts_library.workflow import Actor
from tests.conftest import LIBRARY
from tests.fakes import RecordingAudit

TRAINER = Actor("培训组-测试")
APPROVER = Actor("质检组-李娜", can_approve=True)


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


def test_a_together_group_of_one_expression_is_refused_with_its_line(library_copy):
    path = library_copy / "escalation.yaml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("together: [['", "together: [['十倍'], ['", 1), "utf-8")
    with pytest.raises(LibraryError) as caught:
        load_library(library_copy)
    line = next(n for n, row in enumerate(path.read_text("utf-8").splitlines(), 1) if "id: fraud_or_abuse" in row)
    assert f"escalation.yaml:{line}" in str(caught.value) and "two or more regexes" in str(caught.value)


def test_a_main_topic_check_without_a_topic_check_is_refused_with_its_line(library_copy):
    path = library_copy / "escalation.yaml"
    text = path.read_text("utf-8")
    start = text.index("  - id: service_neglect_complaint")
    rule = text[start : text.index("  - id:", start + 1)]
    path.write_text(text.replace(rule, rule.replace("    require_both: true\n", "")), "utf-8")
    with pytest.raises(LibraryError) as caught:
        load_library(library_copy)
    rows = path.read_text("utf-8").splitlines()
    line = next(n for n, row in enumerate(rows, 1) if "id: service_neglect_complaint" in row)
    assert f"escalation.yaml:{line}" in str(caught.value) and "set require_both" in str(caught.value)


def test_a_shorthand_listed_twice_is_refused(library_copy):
    path = library_copy / "normalization.yaml"
    text = path.read_text("utf-8")
    repeated = "rewrites:\n  - {text: tuikuan, means: 退款, latin: true}\n"
    path.write_text(text.replace("rewrites:\n", repeated, 1), "utf-8")
    with pytest.raises(LibraryError) as caught:
        load_library(library_copy)
    assert "normalization.yaml:" in str(caught.value) and "'tui kuan' repeats 'tuikuan'" in str(caught.value)


def test_edits_keep_comments_and_other_entries(library_copy):
    path = library_copy / "scripts" / "logistics_tracking.yaml"
    path.write_text("# trainers' note stays\n" + path.read_text("utf-8"), "utf-8")
    before = len(load_library(library_copy).scripts)
    first = load_library(library_copy).scripts[0].id
    workflow.retire(library_copy, first, APPROVER, RecordingAudit(), "过时的说法")
    assert path.read_text("utf-8").startswith("# trainers' note stays")
    assert len(load_library(library_copy).scripts) == before


def test_drafts_and_retired_scripts_are_not_servable(library_copy):
    audit = RecordingAudit()
    draft_id = workflow.create_script(library_copy, "invoice", "draft_only", TRAINER, audit).entry.id
    retired_id = workflow.retire(library_copy, "invoice.e_invoice_timing", APPROVER, audit, "政策变了").entry.id
    library = load_library(library_copy)
    servable = servable_ids(library, lint_library(library))
    assert draft_id not in servable and retired_id not in servable
    assert "invoice.paper_invoice" in servable


def test_a_pending_proposal_with_lint_errors_never_blocks_the_live_entry(library_copy):
    live = load_library(library_copy).script("invoice.e_invoice_timing")
    content = live.content().model_copy(update={"template": "这不可能更快了。"})
    workflow.save(library_copy, live.id, content, TRAINER, RecordingAudit())
    library = load_library(library_copy)
    problems = lint_library(library)
    assert any(p.entry_id == live.id + PROPOSAL_SUFFIX and p.severity == "error" for p in problems)
    assert live.id in servable_ids(library, problems)
