"""transparency log: the hub's append-only log entries and its signed tree heads

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:00:00

``log_entries`` holds one row per change the hub's transparency log records (risk areas,
entry policies, the issuer registry, labs, batches of facts and results as hashes), with its
RFC 9162 leaf hash; ``tree_heads`` the signed heads over its first N entries
(docs/transparency.md). The log starts empty at the upgrade: changes made before it were never
logged, and the registry's own change list (``registry_changes``) keeps those.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("appended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_entries")),
    )
    op.create_table(
        "tree_heads",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kid", sa.LargeBinary(length=8), nullable=False),
        sa.Column("alg", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_tree_heads")),
    )


def downgrade() -> None:
    op.drop_table("tree_heads")
    op.drop_table("log_entries")
