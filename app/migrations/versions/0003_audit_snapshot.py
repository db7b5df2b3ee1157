"""Audit rows keep a snapshot of the entry after each step, so every revision can be shown and restored.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_trail") as batch:
        batch.add_column(sa.Column("snapshot", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("audit_trail") as batch:
        batch.drop_column("snapshot")
