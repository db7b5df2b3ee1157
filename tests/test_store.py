"""The store on both engines: SQLite (embedded default) and PostgreSQL when CI provides one.

CI (`.ci/run`) starts a throwaway PostgreSQL and sets HUASHU_TEST_POSTGRES_URL; without it the
PostgreSQL cases skip, saying why.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, Table, create_engine, text

from app.migrate import current_revision
from app.store import (
    Base,
    CorrectionRecord,
    FeedbackRecord,
    NotSuggested,
    Store,
    SuggestionRecord,
    UnknownRequest,
)
from retrieval.ranking import FeedbackCounts
from scripts_library.schema import NO_TEAM
from scripts_library.workflow import AuditRecord

POSTGRES_URL = os.environ.get("HUASHU_TEST_POSTGRES_URL")
HEAD = "0005"
ADDED_SINCE_BASELINE = {"suggestion_log": ("escalation", "escalation_rule")}  # columns of 0002 onwards


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL: set HUASHU_TEST_POSTGRES_URL (`.ci/run` starts one with .ci/postgres.sh)")
    _reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    store.create_schema()
    store.start()
    yield store
    store.close()


def _suggestion(request_id: str, suggested: tuple[str, ...] = ("a.one", "a.two")) -> SuggestionRecord:
    message = "我的订单【订单号】到哪了"
    return SuggestionRecord(request_id, "v1", message, "logistics_tracking", "neutral", "jd", None, suggested)


def test_migrations_reach_head_and_match_the_models(store: Store):
    store.create_schema()  # a second replica starting later finds nothing to do
    assert current_revision(store.engine) == HEAD
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def _migrate_together(stores: list[Store]) -> list[BaseException]:
    """Run ``create_schema`` of every store at once, as workers or replicas starting together do."""
    errors: list[BaseException] = []

    def migrate(s: Store) -> None:
        try:
            s.create_schema()
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_replicas_migrating_at_once_do_not_race(store_url: str):
    stores = [Store(store_url) for _ in range(3)]
    assert _migrate_together(stores) == [] and current_revision(stores[0].engine) == HEAD
    for s in stores:
        s.close()


def test_three_stores_starting_on_a_fresh_file_never_race(tmp_path: Path):
    """Workers of one replica starting together on a new data dir: 200 rounds, no "database is locked"."""
    for round_no in range(200):
        stores = [Store(f"sqlite:///{tmp_path / f'fresh-{round_no}.sqlite'}") for _ in range(3)]
        errors = _migrate_together(stores)
        for s in stores:
            s.close()
        assert errors == [], f"round {round_no}: {errors[0]!r}"


def test_a_database_from_before_migrations_is_stamped_and_upgraded(tmp_path: Path):
    path = tmp_path / "old.sqlite"
    baseline = MetaData()
    for name in ("feedback", "suggestion_log"):
        later = ADDED_SINCE_BASELINE.get(name, ())
        columns = [
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in Base.metadata.tables[name].columns
            if c.name not in later
        ]
        Table(name, baseline, *columns)
    baseline.create_all(create_engine(f"sqlite:///{path}"))
    store = Store(f"sqlite:///{path}")
    store.create_schema()
    assert current_revision(store.engine) == HEAD
    assert store.audit_trail() == []
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_feedback_is_acknowledged_once_and_counted_per_script_and_intent(store: Store):
    store.log_suggestion(_suggestion("r1"))
    first = store.record_feedback(FeedbackRecord("r1", "a.one", "picked", None, "agent-7"))
    again = store.record_feedback(FeedbackRecord("r1", "a.one", "picked", None, "agent-7"))
    assert first[1] is True and again == (first[0], False)
    store.log_suggestion(_suggestion("r2"))
    store.record_feedback(FeedbackRecord("r2", "a.two", "rejected", None, None))
    store.record_feedback(FeedbackRecord("r2", "a.one", "edited", "您好，已催促", None))
    counts = store.feedback_counts()
    assert counts[("a.one", "logistics_tracking")] == FeedbackCounts(picked=1, edited=1)
    assert counts[("a.two", "logistics_tracking")] == FeedbackCounts(rejected=1)


def test_feedback_naming_a_script_that_was_not_suggested_is_refused(store: Store):
    store.log_suggestion(_suggestion("r1"))
    with pytest.raises(NotSuggested):
        store.record_feedback(FeedbackRecord("r1", "c.never_shown", "picked", None, None))


def test_corrections_are_kept_once_per_agent_and_reviewed(store: Store):
    store.log_suggestion(_suggestion("r1"))
    first = store.record_correction(CorrectionRecord("r1", "shipping_urge", None, "agent-7"))
    again = store.record_correction(CorrectionRecord("r1", "shipping_urge", "anxious", "agent-7"))
    assert first[1] is True and again == (first[0], False)
    (pending,) = store.corrections()
    assert (pending.predicted_intent, pending.intent, pending.emotion) == (
        "logistics_tracking",
        "shipping_urge",
        "anxious",
    )
    assert pending.message == "我的订单【订单号】到哪了"
    store.resolve_correction(pending.id, "accepted", "质检组-李娜")
    assert store.corrections() == [] and store.corrections(status="accepted")[0].reviewer == "质检组-李娜"
    assert store.correction(pending.id).status == "accepted" and store.correction(pending.id + 1) is None
    with pytest.raises(UnknownRequest):
        store.record_correction(CorrectionRecord("never", "invoice", None, "agent-7"))


def test_an_escalation_correction_keeps_what_the_assistant_decided_and_why(store: Store):
    escalated = _suggestion("r1")
    store.log_suggestion(replace(escalated, escalation="品控组", escalation_rule="counterfeit_claim"))
    store.log_suggestion(_suggestion("r2"))
    store.record_correction(CorrectionRecord("r1", None, None, "agent-7", NO_TEAM))
    store.record_correction(CorrectionRecord("r2", None, None, "agent-7", "售后主管"))
    by_request = {c.request_id: c for c in store.corrections()}
    first, second = by_request["r1"], by_request["r2"]
    assert (first.predicted_escalation, first.predicted_escalation_rule, first.escalation) == (
        "品控组",
        "counterfeit_claim",
        NO_TEAM,
    )
    assert (second.predicted_escalation, second.predicted_escalation_rule, second.escalation) == (
        NO_TEAM,
        None,
        "售后主管",
    )


def test_feedback_for_an_unknown_request_is_refused(store: Store):
    with pytest.raises(UnknownRequest):
        store.record_feedback(FeedbackRecord("never-issued", "a.one", "picked", None, None))


def test_edited_texts_and_none_fit_messages_for_trainers(store: Store):
    store.log_suggestion(_suggestion("r1"))
    store.log_suggestion(_suggestion("r2"))
    store.record_feedback(FeedbackRecord("r1", "a.one", "edited", "您好，已为您催促快递", None))
    store.record_feedback(FeedbackRecord("r2", None, "none_fit", None, None))
    assert store.edited_texts() == [("a.one", "您好，已为您催促快递")]
    assert store.none_fit_messages() == [("logistics_tracking", "我的订单【订单号】到哪了")]


def test_audit_trail_keeps_every_transition_newest_first(store: Store):
    store.record_audit(AuditRecord("a.one", "li", None, "draft", diff="+template: 您好"))
    store.record_audit(AuditRecord("a.one", "li", "draft", "submitted"))
    store.record_audit(AuditRecord("b.two", "wang", "submitted", "rejected", comment="语气太生硬"))
    trail = store.audit_trail("a.one")
    assert [(e.from_status, e.to_status) for e in trail] == [("draft", "submitted"), (None, "draft")]
    assert trail[1].diff == "+template: 您好" and trail[0].created_at is not None
    assert store.audit_entry(trail[1].id) == trail[1] and store.audit_entry(10_000) is None
    assert [e.comment for e in store.audit_trail(limit=1)] == ["语气太生硬"]
