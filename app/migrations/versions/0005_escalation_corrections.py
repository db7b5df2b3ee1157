"""Escalations in the suggestion log, and agents' corrections of them.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suggestion_log") as table:
        table.add_column(sa.Column("escalation", sa.String(20)))
        table.add_column(sa.Column("escalation_rule", sa.String(60)))
    with op.batch_alter_table("corrections") as table:
        table.add_column(sa.Column("predicted_escalation", sa.String(20)))
        table.add_column(sa.Column("predicted_escalation_rule", sa.String(60)))
        table.add_column(sa.Column("escalation", sa.String(20)))


def downgrade() -> None:
    with op.batch_alter_table("corrections") as table:
        table.drop_column("escalation")
        table.drop_column("predicted_escalation_rule")
        table.drop_column("predicted_escalation")
    with op.batch_alter_table("suggestion_log") as table:
        table.drop_column("escalation_rule")
        table.drop_column("escalation")
