"""each agency's row of a case carries the case's current clock

An agency's open cases are counted per level and as overdue or due soon from one
index of these rows, instead of testing every open case for the agency.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:05:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_CURRENT = "(SELECT step.{column} FROM step WHERE step.case_id = case_agency.case_id AND step.ended_at IS NULL)"


def upgrade():
    with op.batch_alter_table("case_agency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True))
    # The open cases' current clocks (a closed case has no open step: NULL).
    op.execute(
        "UPDATE case_agency SET "
        + ", ".join(f"{c} = {_CURRENT.format(column=c)}" for c in ("level", "due_at", "warn_at"))
    )
    with op.batch_alter_table("case_agency", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_agency_open",
            ["agency_id", "level", "due_at", "warn_at"],
            unique=False,
            sqlite_where=sa.text("due_at IS NOT NULL"),
            postgresql_where=sa.text("due_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_case_agency_open_due",
            ["agency_id", "due_at"],
            unique=False,
            sqlite_where=sa.text("due_at IS NOT NULL"),
            postgresql_where=sa.text("due_at IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("case_agency", schema=None) as batch_op:
        batch_op.drop_index("ix_case_agency_open_due")
        batch_op.drop_index("ix_case_agency_open")
        batch_op.drop_column("warn_at")
        batch_op.drop_column("due_at")
        batch_op.drop_column("level")
