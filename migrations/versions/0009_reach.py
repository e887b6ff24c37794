"""an agency may have a contact address, told of its cases when nobody there is named

Every agency on a case must reach someone: the people named, else its designated leads,
else this address (a team mailbox, say). An agency with none of them is refused at raising.

Revision ID: 0009_reach
Revises: 0011_identity
Create Date: 2026-12-01 22:10:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0009_reach"
down_revision = "0011_identity"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_column("contact_email")
