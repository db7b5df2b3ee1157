"""Suggestion log and agents' feedback.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suggestion_log",
        sa.Column("request_id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("index_version", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(40), nullable=False),
        sa.Column("emotion", sa.String(20), nullable=False),
        sa.Column("platform", sa.String(10)),
        sa.Column("shop_id", sa.String(64)),
        sa.Column("suggested", sa.Text(), nullable=False),
    )
    op.create_index("ix_suggestion_log_intent", "suggestion_log", ["intent"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("script_id", sa.String(120), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("final_text", sa.Text()),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("request_id", "script_id", "action", name="uq_feedback_once"),
    )
    op.create_index("ix_feedback_request_id", "feedback", ["request_id"])
    op.create_index("ix_feedback_script_id", "feedback", ["script_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("suggestion_log")
