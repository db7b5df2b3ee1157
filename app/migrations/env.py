"""Alembic environment: always run on the connection handed over by ``app.migrate`` (online mode only)."""

from alembic import context

from app.store import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
