"""proxies: links say how consent was given and what a proxy sees; pending link requests

Links made before this revision were made on an ID number alone; they keep working as
``unverified`` proxies with no grants (the code and colour only), and the subject sees and
can remove them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consent", sa.String(length=16), nullable=False, server_default="unverified")
        )
        batch_op.add_column(
            sa.Column("grant_itinerary", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("grant_tests", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "link_requests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("sid", sa.String(length=32), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_link_requests_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["sid"], ["subjects.sid"], name=op.f("fk_link_requests_sid_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_requests")),
    )
    with op.batch_alter_table("link_requests", schema=None) as batch_op:
        batch_op.create_index("ix_link_requests_sid_account_id", ["sid", "account_id"], unique=True)
        batch_op.create_index("ix_link_requests_account_id", ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("link_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_link_requests_account_id")
        batch_op.drop_index("ix_link_requests_sid_account_id")
    op.drop_table("link_requests")
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_column("grant_tests")
        batch_op.drop_column("grant_itinerary")
        batch_op.drop_column("consent")
