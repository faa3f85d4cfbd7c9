"""scan places: the hub's checkpoint scans by place and time, for contact tracing

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-03 15:00:00

``scan_places`` holds one row per scan in the hub's feed (sid, the feed seq, the scan's time,
the checkpoint's area and name, its region, the feed row's expiry), indexed by (area, at) and
(sid, at), so that a tracing query (hub/tracing.py) finds who was at a place around a time
without reading the feed's JSON. On PostgreSQL it is range-partitioned by day of ``at``, with
the days ahead made now and a DEFAULT partition (adapters/db/partitions.py maintains them).
The scans already in the feed are copied in, in batches.

The partitions' DDL is written out here rather than imported, so that this migration does
what it did when it was written whatever the maintenance code becomes.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_AHEAD_DAYS = 14
_BACK_DAYS = 62
_BATCH = 5000


def _at(day: date) -> str:
    return f"'{day.isoformat()} 00:00:00+00'"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE scan_places ("
            " sid VARCHAR(32) NOT NULL, seq BIGINT NOT NULL,"
            " at TIMESTAMP WITH TIME ZONE NOT NULL, area VARCHAR(9) NOT NULL,"
            " checkpoint VARCHAR(100) NOT NULL, region VARCHAR(6),"
            " expires_at TIMESTAMP WITH TIME ZONE NOT NULL,"
            " CONSTRAINT pk_scan_places PRIMARY KEY (sid, seq, at)"
            ") PARTITION BY RANGE (at)"
        )
        today = datetime.now(UTC).date()
        day = today - timedelta(days=_BACK_DAYS)
        while day <= today + timedelta(days=_AHEAD_DAYS):
            bounds = f"FROM ({_at(day)}) TO ({_at(day + timedelta(days=1))})"
            op.execute(
                f"CREATE TABLE scan_places_p{day:%Y%m%d} PARTITION OF scan_places FOR VALUES {bounds}"
            )
            day += timedelta(days=1)
        op.execute("CREATE TABLE scan_places_default PARTITION OF scan_places DEFAULT")
    else:
        op.create_table(
            "scan_places",
            sa.Column("sid", sa.String(length=32), nullable=False),
            sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("area", sa.String(length=9), nullable=False),
            sa.Column("checkpoint", sa.String(length=100), nullable=False),
            sa.Column("region", sa.String(length=6), nullable=True),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("sid", "seq", "at", name=op.f("pk_scan_places")),
        )
    op.create_index("ix_scan_places_area_at", "scan_places", ["area", "at"])
    op.create_index("ix_scan_places_sid_at", "scan_places", ["sid", "at"])
    _copy_feed_scans(bind)


def _copy_feed_scans(bind: Any) -> None:
    """The scans already in the feed, in batches by seq (a few MB of memory at a time)."""
    feed = sa.table(
        "hub_feed",
        sa.column("seq", sa.BigInteger()),
        sa.column("sid", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("region", sa.String()),
        sa.column("body", sa.JSON()),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    places = sa.table(
        "scan_places",
        sa.column("sid", sa.String()),
        sa.column("seq", sa.BigInteger()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("area", sa.String()),
        sa.column("checkpoint", sa.String()),
        sa.column("region", sa.String()),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    after = 0
    while True:
        rows = bind.execute(
            sa.select(feed)
            .where(feed.c.kind == "scan", feed.c.seq > after)
            .order_by(feed.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        values = []
        for r in rows:
            # A row too old or too broken to place (no time or area, a time without offset)
            # is left out of the index; it stays in the feed. One bad row never stops this.
            try:
                body = r.body if isinstance(r.body, dict) else json.loads(r.body)
                at = datetime.fromisoformat(str(body["at"]).replace("Z", "+00:00"))
                area = str(body["area"])
            except (KeyError, TypeError, ValueError):
                continue
            if at.tzinfo is None or not area.isdigit():
                continue
            expires = r.expires_at
            if bind.dialect.name == "sqlite":
                at = at.astimezone(UTC).replace(tzinfo=None)  # as the models' UTC type stores it
            values.append(
                {
                    "sid": r.sid,
                    "seq": r.seq,
                    "at": at,
                    "area": area[:9],
                    "checkpoint": str(body.get("checkpoint") or "")[:100],
                    "region": r.region,
                    "expires_at": expires,
                }
            )
        if values:
            bind.execute(sa.insert(places), values)
        after = rows[-1].seq


def downgrade() -> None:
    op.drop_index("ix_scan_places_sid_at", table_name="scan_places")
    op.drop_index("ix_scan_places_area_at", table_name="scan_places")
    op.execute(text("DROP TABLE scan_places"))  # and its partitions
