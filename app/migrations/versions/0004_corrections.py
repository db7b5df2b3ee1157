"""Agents' corrections of a request's intent or emotion, reviewed by trainers.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("predicted_intent", sa.String(40), nullable=False),
        sa.Column("predicted_emotion", sa.String(20), nullable=False),
        sa.Column("intent", sa.String(40)),
        sa.Column("emotion", sa.String(20)),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reviewer", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("request_id", "agent_id", name="uq_correction_once"),
    )
    op.create_index("ix_corrections_request_id", "corrections", ["request_id"])
    op.create_index("ix_corrections_status", "corrections", ["status"])


def downgrade() -> None:
    op.drop_table("corrections")
