"""failed sign-ins are counted in the database, shared by every worker

The throttle counted failures in each worker's memory, so N workers allowed N times
as many tries. Keys are hashes: nothing typed at the sign-in page is kept as typed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:50:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_in_failure",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_failure")),
    )
    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_failure_last_at"), ["last_at"], unique=False)


def downgrade():
    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_failure_last_at"))
    op.drop_table("sign_in_failure")
