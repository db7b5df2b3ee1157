"""Bring the store's schema to the newest Alembic revision, safely when several replicas start at once.

On PostgreSQL the upgrade runs under a session advisory lock, and on a SQLite file under an exclusive
lock on a sibling ``.migrate.lock`` file taken *before* the first connection, so replicas or workers
starting together take turns and the later ones find nothing left to do. A new SQLite file is switched
to WAL inside that lock (the switch needs the database to itself). A database created before migrations
existed (tables present, no ``alembic_version``) is stamped at the first revision and upgraded from there.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect, text

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK_ID = 0x6875617368755F31  # "huashu_1": one lock id for this schema
BASELINE = "0001"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    config = _config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and "feedback" in tables:
        log.info("store predates migrations: stamping revision %s", BASELINE)
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")


@contextmanager
def _postgres_lock(connection: Connection) -> Iterator[None]:
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID})
    connection.commit()
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID})
        connection.commit()


@contextmanager
def _file_lock(database: str) -> Iterator[None]:
    with open(f"{database}.migrate.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _exclusive_connection(engine: Engine) -> Iterator[Connection]:
    """A connection that no other migrator shares this database with until it is closed."""
    database = engine.url.database
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection, _postgres_lock(connection):
            yield connection
    elif engine.dialect.name == "sqlite" and database and database != ":memory:":
        with _file_lock(database), engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            yield connection
    else:
        with engine.connect() as connection:
            yield connection


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (idempotent)."""
    with _exclusive_connection(engine) as connection:
        _upgrade(connection)
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    with engine.connect() as connection:
        if "alembic_version" not in inspect(connection).get_table_names():
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
