"""per-client limits: rate_counts; the one-time codes' own send counter goes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00

``rate_counts`` holds the counters of every per-client limit (adapters/db/limits.py), shared by
all workers of a node. The per-phone send limit of one-time codes is one of them now, so
``otps.sends`` and ``otps.window_start`` are dropped (a downgrade puts them back, counting
from zero).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counts",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "name", "key", "window_seconds", "window_start", name=op.f("pk_rate_counts")
        ),
    )
    with op.batch_alter_table("rate_counts", schema=None) as batch_op:
        batch_op.create_index("ix_rate_counts_expires_at", ["expires_at"], unique=False)
    with op.batch_alter_table("otps", schema=None) as batch_op:
        batch_op.drop_column("window_start")
        batch_op.drop_column("sends")


def downgrade() -> None:
    with op.batch_alter_table("otps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sends", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column(
                "window_start",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
    with op.batch_alter_table("rate_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_counts_expires_at")
    op.drop_table("rate_counts")
