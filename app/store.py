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
from scripts_library.workflow import AuditRecord

log = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The database cannot be written (disk full, read-only, unreachable)."""


class UnknownRequest(LookupError):
    """Feedback names a request_id that this service never issued."""


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

    def record_feedback(self, record: FeedbackRecord) -> tuple[int, bool]:
        """Store feedback durably; returns (row id, created). Repeating the same feedback is a no-op."""
        try:
            with self._sessions() as session:
                if self._find_request(session, record.request_id) is None:
                    self.flush()
                    if self._find_request(session, record.request_id) is None:
                        raise UnknownRequest(record.request_id)
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
    def pick_rates(self, prior_weight: float = 5.0, prior_rate: float = 0.5) -> dict[str, float]:
        """Smoothed share of feedback on each script that was a pick or an edit (edits count half)."""
        with self._sessions() as session:
            rows = session.execute(
                select(Feedback.script_id, Feedback.action, func.count()).group_by(Feedback.script_id, Feedback.action)
            ).all()
        totals: dict[str, list[float]] = {}
        for script_id, action, count in rows:
            if not script_id:
                continue
            good = {"picked": 1.0, "edited": 0.5}.get(action, 0.0)
            entry = totals.setdefault(script_id, [0.0, 0.0])
            entry[0] += good * count
            entry[1] += count
        return {k: (g + prior_weight * prior_rate) / (n + prior_weight) for k, (g, n) in totals.items()}

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
