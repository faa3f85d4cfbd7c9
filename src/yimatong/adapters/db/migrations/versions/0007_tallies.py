"""tallies: hourly counts for the hub's dashboards, and Mode 2 calls, which had no store

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00

``tallies`` holds one row per (kind, hour, region, group, label): Mode 1 summaries by issuer
region and colour, scans by province and decision, test results by lab and outcome, Mode 2
calls by the region asked about and the code's issuer (``adapters/db/tallies.py``). The upgrade
counts the feed rows already stored (one pass over ``hub_feed``, in batches); Mode 2 calls made
before it were never counted anywhere, so their figures start at the upgrade.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BATCH = 10_000


def upgrade() -> None:
    op.create_table(
        "tallies",
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("grp", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "hour", "region", "grp", "label", name=op.f("pk_tallies")),
    )
    _count_the_feed()


def _count_the_feed() -> None:
    # Imported here: the running code's tally rules are the ones to apply to old rows; the
    # feed is described as it is at this revision.
    from yimatong.adapters.db.tables import UtcDateTime
    from yimatong.adapters.db.tallies import Tally, add_tallies, feed_tally

    hub_feed = sa.table(
        "hub_feed",
        sa.column("seq", sa.BigInteger()),
        sa.column("kind", sa.String()),
        sa.column("region", sa.String()),
        sa.column("body", sa.JSON()),
        sa.column("created_at", UtcDateTime()),
    )
    conn = op.get_bind()
    counts: dict[tuple[str, Any, str, str, str], int] = {}
    last = -1
    while True:
        rows = conn.execute(
            sa.select(
                hub_feed.c.seq,
                hub_feed.c.kind,
                hub_feed.c.region,
                hub_feed.c.body,
                hub_feed.c.created_at,
            )
            .where(hub_feed.c.seq > last, hub_feed.c.kind.in_(("summary", "scan", "test")))
            .order_by(hub_feed.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].seq
        for row in rows:
            key = feed_tally(dict(row._mapping))
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
    add_tallies(conn, (Tally(k, h, r, g, lab, n) for (k, h, r, g, lab), n in counts.items()))


def downgrade() -> None:
    op.drop_table("tallies")
