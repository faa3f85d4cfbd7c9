"""stays by (area, sid), live rows only: who stayed where a risk changed, from the index alone

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 11:00:00

A risk-area change marks for review everyone with a live (not voided) stay in that area or
inside it. With 0010's index on ``area`` alone each matching entry cost a visit to the table
row (for ``sid`` and ``voided_at``); this partial index on ``(area, sid) WHERE voided_at IS
NULL`` answers the query by itself. It replaces ``ix_stays_area``. On PostgreSQL an index on
the partitioned ``stays`` is made on every partition, now and later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_LIVE = sa.text("voided_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_stays_area_sid",
        "stays",
        ["area", "sid"],
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )
    op.drop_index("ix_stays_area", table_name="stays")


def downgrade() -> None:
    op.create_index("ix_stays_area", "stays", ["area"])
    op.drop_index("ix_stays_area_sid", table_name="stays")
