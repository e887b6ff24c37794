"""sign-in with an agency's own account: provider subjects bound to users; pending accounts

Revision ID: 0011_identity
Revises: 0007
Create Date: 2026-12-01 22:20:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0011_identity"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "identity_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_identity_binding_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_binding")),
        sa.UniqueConstraint(
            "provider", "subject", name=op.f("uq_identity_binding_provider_subject")
        ),
        sa.UniqueConstraint(
            "provider", "user_id", name=op.f("uq_identity_binding_provider_user_id")
        ),
    )
    with op.batch_alter_table("identity_binding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_binding_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("pending")
    with op.batch_alter_table("identity_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_binding_user_id"))
    op.drop_table("identity_binding")
