"""each outbox claim carries who holds it

A sender renews and marks a row only while the claim on it is its own, so a row
another sender took after a lease ran out is never marked by the first.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:45:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=36), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
