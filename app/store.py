"""The one storage layer: suggestion log, agents' feedback and the audit trail (SQLAlchemy 2.x).

SQLite in WAL mode under the data directory is the embedded default; a PostgreSQL URL
(``postgresql+psycopg://…``) in ``HUASHU_DATABASE_URL`` switches engines without code changes.
Only redacted text is ever stored. A feedback write is acknowledged only after its commit.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from app.migrate import upgrade
from retrieval.ranking import FeedbackCounts
from scripts_library.schema import NO_TEAM
from scripts_library.workflow import AuditRecord

log = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The database cannot be written (disk full, read-only, unreachable)."""


class UnknownRequest(LookupError):
    """Feedback names a request_id that this service never issued."""


class NotSuggested(ValueError):
    """Feedback names a script that was not among the suggestions of its request."""


class Base(DeclarativeBase):
    pass


class SuggestionLog(Base):
    __tablename__ = "suggestion_log"
    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    index_version: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)  # redacted
    intent: Mapped[str] = mapped_column(String(40), index=True)
    emotion: Mapped[str] = mapped_column(String(20))
    platform: Mapped[str | None] = mapped_column(String(10))
    shop_id: Mapped[str | None] = mapped_column(String(64))
    suggested: Mapped[str] = mapped_column(Text)  # JSON list of entry ids, in rank order
    escalation: Mapped[str | None] = mapped_column(String(20))  # the team, or NO_TEAM; null in logs before 0005
    escalation_rule: Mapped[str | None] = mapped_column(String(60))  # the rule (or the backstop) that escalated


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("request_id", "script_id", "action", name="uq_feedback_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    script_id: Mapped[str] = mapped_column(String(120), index=True)  # "" for none_fit
    action: Mapped[str] = mapped_column(String(10))
    final_text: Mapped[str | None] = mapped_column(Text)  # redacted
    agent_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One workflow step of a script or FAQ entry (who, when, from/to state, comment, diff, snapshot)."""

    __tablename__ = "audit_trail"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    script_id: Mapped[str] = mapped_column(String(120), index=True)  # any library entry id
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    diff: Mapped[str | None] = mapped_column(Text)
    snapshot: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Correction(Base):
    """An agent's correction of a request's intent, emotion or escalation: a proposed training example for the
    trainers."""

    __tablename__ = "corrections"
    __table_args__ = (UniqueConstraint("request_id", "agent_id", name="uq_correction_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(Text)  # redacted, from the suggestion log
    predicted_intent: Mapped[str] = mapped_column(String(40))
    predicted_emotion: Mapped[str] = mapped_column(String(20))
    intent: Mapped[str | None] = mapped_column(String(40))  # the agent's intent, when corrected
    emotion: Mapped[str | None] = mapped_column(String(20))  # the agent's emotion, when corrected
    predicted_escalation: Mapped[str | None] = mapped_column(String(20))  # team or NO_TEAM; null: not logged
    predicted_escalation_rule: Mapped[str | None] = mapped_column(String(60))
    escalation: Mapped[str | None] = mapped_column(String(20))  # the agent's team or NO_TEAM, when corrected
    agent_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending, accepted, dismissed
    reviewer: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class CorrectionRecord:
    request_id: str
    intent: str | None
    emotion: str | None
    agent_id: str
    escalation: str | None = None  # the team the turn should go to, or NO_TEAM


@dataclass(frozen=True)
class CorrectionView:
    id: int
    request_id: str
    message: str
    predicted_intent: str
    predicted_emotion: str
    intent: str | None
    emotion: str | None
    agent_id: str
    status: str
    reviewer: str | None
    created_at: datetime
    predicted_escalation: str | None = None  # team or NO_TEAM; None for requests logged before it was
    predicted_escalation_rule: str | None = None  # which rule escalated (LEARNED_RULE_ID: the backstop)
    escalation: str | None = None


@dataclass(frozen=True)
class AuditEntryView(AuditRecord):
    id: int = 0
    created_at: datetime | None = None


@dataclass(frozen=True)
class SuggestionRecord:
    request_id: str
    index_version: str
    message: str
    intent: str
    emotion: str
    platform: str | None
    shop_id: str | None
    suggested: tuple[str, ...]
    escalation: str = NO_TEAM  # the team the turn was escalated to
    escalation_rule: str | None = None


@dataclass(frozen=True)
class FeedbackRecord:
    request_id: str
    script_id: str | None
    action: str
    final_text: str | None
    agent_id: str | None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Wait for a busy database instead of failing at once; WAL is switched on by the migration."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class Store:
    """Thread-safe access to the database; suggestion logs are written in batches off the hot path."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            if self.engine.url.database not in (None, "", ":memory:"):
                Path(self.engine.url.database).parent.mkdir(parents=True, exist_ok=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._pending: queue.Queue[SuggestionRecord | threading.Event | None] = queue.Queue(maxsize=10_000)
        self._writer: threading.Thread | None = None

    def create_schema(self) -> None:
        """Create or upgrade the schema to the newest migration (safe to call from every replica)."""
        upgrade(self.engine)

    # -- suggestion log (batched) ------------------------------------------------------------
    def start(self) -> None:
        self._writer = threading.Thread(target=self._write_loop, name="suggestion-log", daemon=True)
        self._writer.start()

    def close(self) -> None:
        if self._writer:
            self._pending.put(None)
            self._writer.join(timeout=5)
        self.engine.dispose()

    def log_suggestion(self, record: SuggestionRecord) -> None:
        """Queue a log row; never blocks the request (a full queue drops the row and says so)."""
        try:
            self._pending.put_nowait(record)
        except queue.Full:
            log.warning("suggestion log queue full: request %s not logged", record.request_id)

    def _write_loop(self) -> None:
        batch: list[SuggestionRecord] = []
        while True:
            try:
                item = self._pending.get(timeout=0.05) if batch else self._pending.get()
            except queue.Empty:
                item = threading.Event()  # idle: write what we have
            if isinstance(item, SuggestionRecord):
                batch.append(item)
                if len(batch) < 500:
                    continue
            self._write_batch(batch)
            batch = []
            if isinstance(item, threading.Event):
                item.set()
            elif item is None:
                return

    def _write_batch(self, batch: list[SuggestionRecord]) -> None:
        if not batch:
            return
        try:
            self._insert_logs(batch)
        except SQLAlchemyError as exc:
            log.error("could not write %d suggestion log rows: %s", len(batch), exc.__class__.__name__)

    def _insert_logs(self, batch: Iterable[SuggestionRecord]) -> None:
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            session.add_all(
                SuggestionLog(
                    request_id=r.request_id,
                    created_at=now,
                    index_version=r.index_version,
                    message=r.message,
                    intent=r.intent,
                    emotion=r.emotion,
                    platform=r.platform,
                    shop_id=r.shop_id,
                    suggested=json.dumps(r.suggested),
                    escalation=r.escalation,
                    escalation_rule=r.escalation_rule,
                )
                for r in batch
            )

    def flush(self, timeout: float = 2.0) -> None:
        """Wait until suggestion logs queued so far are written (before looking one up)."""
        if self._writer is None:
            return
        done = threading.Event()
        try:
            self._pending.put(done, timeout=timeout)
        except queue.Full:
            return
        done.wait(timeout)

    # -- feedback ------------------------------------------------------------------------------
    def _find_request(self, session: Session, request_id: str) -> SuggestionLog | None:
        return session.get(SuggestionLog, request_id)

    def _logged_request(self, session: Session, request_id: str) -> SuggestionLog:
        """The logged request (after writing queued log rows, so a just-issued request is found)."""
        logged = self._find_request(session, request_id)
        if logged is None:
            self.flush()
            logged = self._find_request(session, request_id)
        if logged is None:
            raise UnknownRequest(request_id)
        return logged

    def record_feedback(self, record: FeedbackRecord) -> tuple[int, bool]:
        """Store feedback durably; returns (row id, created). Repeating the same feedback is a no-op.

        Refused when the request was never issued, or names a script its suggestions did not include."""
        try:
            with self._sessions() as session:
                logged = self._logged_request(session, record.request_id)
                if record.script_id and record.script_id not in json.loads(logged.suggested):
                    raise NotSuggested(record.script_id)
                existing = self._existing_feedback(session, record)
                if existing is not None:
                    return existing, False
                row = Feedback(
                    request_id=record.request_id,
                    script_id=record.script_id or "",
                    action=record.action,
                    final_text=record.final_text,
                    agent_id=record.agent_id,
                    created_at=datetime.now(UTC),
                )
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    return self._existing_feedback(session, record) or 0, False
                return row.id, True
        except OperationalError as exc:
            raise StoreUnavailable(str(exc.orig).split("\n")[0]) from exc

    @staticmethod
    def _existing_feedback(session: Session, record: FeedbackRecord) -> int | None:
        return session.scalar(
            select(Feedback.id).where(
                Feedback.request_id == record.request_id,
                Feedback.script_id == (record.script_id or ""),
                Feedback.action == record.action,
            )
        )

    # -- agents' corrections ------------------------------------------------------------------------
    def record_correction(self, record: CorrectionRecord) -> tuple[int, bool]:
        """Store an agent's intent/emotion/escalation correction of a request; repeating it updates it (id,
        created)."""
        try:
            with self._sessions() as session:
                logged = self._logged_request(session, record.request_id)
                row = session.scalar(
                    select(Correction).where(
                        Correction.request_id == record.request_id, Correction.agent_id == record.agent_id
                    )
                )
                created = row is None
                if created:
                    row = Correction(
                        request_id=record.request_id,
                        message=logged.message,
                        predicted_intent=logged.intent,
                        predicted_emotion=logged.emotion,
                        predicted_escalation=logged.escalation,
                        predicted_escalation_rule=logged.escalation_rule,
                        agent_id=record.agent_id,
                        status="pending",
                        created_at=datetime.now(UTC),
                    )
                    session.add(row)
                row.intent, row.emotion, row.escalation = record.intent, record.emotion, record.escalation
                session.commit()
                return row.id, created
        except OperationalError as exc:
            raise StoreUnavailable(str(exc.orig).split("\n")[0]) from exc

    def corrections(self, status: str | None = "pending", limit: int = 200) -> list[CorrectionView]:
        """Agents' corrections, newest first (``status`` None: all)."""
        query = select(Correction).order_by(Correction.id.desc()).limit(limit)
        if status is not None:
            query = query.where(Correction.status == status)
        with self._sessions() as session:
            return [_correction_view(r) for r in session.scalars(query).all()]

    def correction(self, correction_id: int) -> CorrectionView | None:
        """One correction by id, whatever its status."""
        with self._sessions() as session:
            row = session.get(Correction, correction_id)
            return _correction_view(row) if row is not None else None

    def resolve_correction(self, correction_id: int, status: str, reviewer: str) -> CorrectionView:
        """Mark a correction accepted (its example went into the library) or dismissed, by ``reviewer``."""
        try:
            with self._sessions.begin() as session:
                row = session.get(Correction, correction_id)
                if row is None:
                    raise LookupError(f"no correction {correction_id}")
                row.status, row.reviewer, row.reviewed_at = status, reviewer, datetime.now(UTC)
                return _correction_view(row)
        except OperationalError as exc:
            raise StoreUnavailable(str(exc.orig).split("\n")[0]) from exc

    # -- audit trail --------------------------------------------------------------------------
    def record_audit(self, record: AuditRecord) -> int:
        """Append a workflow transition; returns its id once committed."""
        try:
            with self._sessions.begin() as session:
                fields = asdict(record)
                row = AuditEntry(script_id=fields.pop("entry_id"), **fields, created_at=datetime.now(UTC))
                session.add(row)
                session.flush()
                return row.id
        except OperationalError as exc:
            raise StoreUnavailable(str(exc.orig).split("\n")[0]) from exc

    def audit_trail(self, entry_id: str | None = None, limit: int = 100) -> list[AuditEntryView]:
        """Newest steps first, of one entry or of the whole library."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if entry_id is not None:
            query = query.where(AuditEntry.script_id == entry_id)
        with self._sessions() as session:
            rows = session.scalars(query).all()
        return [_audit_view(r) for r in rows]

    def audit_entry(self, audit_id: int) -> AuditEntryView | None:
        with self._sessions() as session:
            row = session.get(AuditEntry, audit_id)
            return _audit_view(row) if row else None

    # -- ranking priors ------------------------------------------------------------------------
    def feedback_counts(self) -> dict[tuple[str, str], FeedbackCounts]:
        """Picks, edits and rejections per (script, intent of the request it was suggested for)."""
        with self._sessions() as session:
            rows = session.execute(
                select(Feedback.script_id, SuggestionLog.intent, Feedback.action, func.count())
                .join(SuggestionLog, SuggestionLog.request_id == Feedback.request_id)
                .where(Feedback.script_id != "")
                .group_by(Feedback.script_id, SuggestionLog.intent, Feedback.action)
            ).all()
        counts: dict[tuple[str, str], FeedbackCounts] = {}
        for script_id, intent, action, n in rows:
            if action in ("picked", "edited", "rejected"):
                one = FeedbackCounts(**{action: n})
                counts[(script_id, intent)] = counts.get((script_id, intent), FeedbackCounts()) + one
        return counts

    def edited_texts(self, limit: int = 200) -> list[tuple[str, str]]:
        with self._sessions() as session:
            rows = session.execute(
                select(Feedback.script_id, Feedback.final_text)
                .where(Feedback.action == "edited", Feedback.final_text.is_not(None))
                .order_by(Feedback.id.desc())
                .limit(limit)
            ).all()
        return [(r[0], r[1]) for r in rows]

    def none_fit_messages(self, limit: int = 500) -> list[tuple[str, str]]:
        """(intent, redacted message) of requests where the agent found no suggestion fit."""
        with self._sessions() as session:
            rows = session.execute(
                select(SuggestionLog.intent, SuggestionLog.message)
                .join(Feedback, Feedback.request_id == SuggestionLog.request_id)
                .where(Feedback.action == "none_fit")
                .limit(limit)
            ).all()
        return [(r[0], r[1]) for r in rows]


def _audit_view(row: AuditEntry) -> AuditEntryView:
    return AuditEntryView(
        entry_id=row.script_id,
        actor=row.actor,
        from_status=row.from_status,
        to_status=row.to_status,
        comment=row.comment,
        diff=row.diff,
        snapshot=row.snapshot,
        id=row.id,
        created_at=row.created_at,
    )


def _correction_view(row: Correction) -> CorrectionView:
    return CorrectionView(
        id=row.id,
        request_id=row.request_id,
        message=row.message,
        predicted_intent=row.predicted_intent,
        predicted_emotion=row.predicted_emotion,
        intent=row.intent,
        emotion=row.emotion,
        agent_id=row.agent_id,
        status=row.status,
        reviewer=row.reviewer,
        created_at=row.created_at,
        predicted_escalation=row.predicted_escalation,
        predicted_escalation_rule=row.predicted_escalation_rule,
        escalation=row.escalation,
    )
