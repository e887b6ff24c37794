"""the daily digest: a manager or lead may take one e-mail a day instead of one per event

`digest` is the user's choice; `digest_sent_on` the London day their last digest was
queued, so a second run on the same day sends nothing.

Revision ID: 0012_digest
Revises: 0008_everyday
Create Date: 2026-12-01 23:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012_digest"
down_revision = "0008_everyday"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(
            sa.Column("digest", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("digest_sent_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("digest_sent_on")
        batch_op.drop_column("digest")
