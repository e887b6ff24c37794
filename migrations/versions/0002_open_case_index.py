"""an index of the open cases, in id order

Listings of open or overdue cases walk it instead of every case's id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_open",
            ["id"],
            unique=False,
            sqlite_where=sa.text("closed = 0"),
            postgresql_where=sa.text("closed = false"),
        )


def downgrade():
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_index("ix_case_open")
