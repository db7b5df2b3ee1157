"""Alembic migrations of the store's schema; applied by ``app.migrate.upgrade`` at startup."""
