"""the everyday steps: agreed actions done or withdrawn, timescales declined, closings agreed

An agreed action records who marked it done (with an optional note) or withdrew it (with a
reason); a withdrawn action leaves the sweep's index as a done one does. A step records who
declined its proposed timescale and why. A case holds the closing proposed at its current
step until a party of another agency confirms or declines it.

Revision ID: 0008_everyday
Revises: 0009_reach
Create Date: 2026-12-01 22:10:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0008_everyday"
down_revision = "0009_reach"
branch_labels = None
depends_on = None

_OLD_OPEN = "action_due_at IS NOT NULL AND action_done_at IS NULL AND overdue_at IS NULL"
_NEW_OPEN = (
    "action_due_at IS NOT NULL AND action_done_at IS NULL AND action_withdrawn_at IS NULL"
    " AND overdue_at IS NULL"
)


def _user_fk(batch_op, table, column):
    batch_op.create_foreign_key(
        f"fk_{table}_{column}_user_account", "user_account", [column], ["id"]
    )


def _action_index(batch_op, where):
    batch_op.create_index(
        "ix_record_action_due",
        ["action_due_at"],
        unique=False,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade():
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action_done_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("action_done_note", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("action_withdrawn_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("action_withdrawn_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("action_withdrawn_reason", sa.Text(), nullable=True))
        _user_fk(batch_op, "record", "action_done_by_id")
        _user_fk(batch_op, "record", "action_withdrawn_by_id")
        batch_op.drop_index("ix_record_action_due")
        _action_index(batch_op, _NEW_OPEN)
    with op.batch_alter_table("step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("declined_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("declined_reason", sa.Text(), nullable=True))
        _user_fk(batch_op, "step", "declined_by_id")
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closing_action", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("closing_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closing_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closing_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closing_status", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("closing_outcome", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("closing_answered_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closing_reason", sa.Text(), nullable=True))
        _user_fk(batch_op, "case_file", "closing_by_id")
        _user_fk(batch_op, "case_file", "closing_answered_by_id")


def downgrade():
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_file_closing_answered_by_id_user_account", "foreignkey")
        batch_op.drop_constraint("fk_case_file_closing_by_id_user_account", "foreignkey")
        for column in (
            "closing_reason", "closing_answered_by_id", "closing_outcome", "closing_status",
            "closing_at", "closing_by_id", "closing_step", "closing_action",
        ):  # fmt: skip
            batch_op.drop_column(column)
    with op.batch_alter_table("step", schema=None) as batch_op:
        batch_op.drop_constraint("fk_step_declined_by_id_user_account", "foreignkey")
        batch_op.drop_column("declined_reason")
        batch_op.drop_column("declined_at")
        batch_op.drop_column("declined_by_id")
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_action_due")
        _action_index(batch_op, _OLD_OPEN)
        batch_op.drop_constraint("fk_record_action_withdrawn_by_id_user_account", "foreignkey")
        batch_op.drop_constraint("fk_record_action_done_by_id_user_account", "foreignkey")
        batch_op.drop_column("action_withdrawn_reason")
        batch_op.drop_column("action_withdrawn_by_id")
        batch_op.drop_column("action_withdrawn_at")
        batch_op.drop_column("action_done_note")
        batch_op.drop_column("action_done_by_id")
