"""feed rows an issuer could not apply: quarantined with the reason

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_quarantine",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sid", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("item", sa.JSON(), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_feed_quarantine")),
    )


def downgrade() -> None:
    op.drop_table("feed_quarantine")
