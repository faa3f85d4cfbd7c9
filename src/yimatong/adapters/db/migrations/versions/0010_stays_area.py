"""stays by area: who stayed in a region whose risk changed, found without reading every stay

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00

A risk-area change marks for review everyone with a stay in that area or inside it; the hub
link finds them with a range over ``stays.area`` (a code and everything under it share a
prefix). Without an index that was a scan of every stay (20 M rows for a province of 1 M).
On PostgreSQL an index on the partitioned ``stays`` is made on every partition, now and later.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stays_area", "stays", ["area"])


def downgrade() -> None:
    op.drop_index("ix_stays_area", table_name="stays")
