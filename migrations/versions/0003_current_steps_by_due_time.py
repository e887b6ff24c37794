"""an index of the current steps in due order

The Overdue page's first page (earliest due first) walks it and stops after a page,
instead of sorting every open case the reader can see.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:50:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("step", schema=None) as batch_op:
        batch_op.create_index(
            "ix_step_current_due",
            ["due_at", "case_id"],
            unique=False,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("step", schema=None) as batch_op:
        batch_op.drop_index("ix_step_current_due")
