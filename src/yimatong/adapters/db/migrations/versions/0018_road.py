"""road: the road node's devices, observations, non-green cells, findings, work orders, points

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-06 22:00:00

The road-condition code (路面健康码, docs/road.md): ``road_devices`` (vehicles with a public key,
citizens' phones), ``road_observations`` (one row per device and sequence number),
``road_cells`` (only the cells that are not green), ``road_findings`` (each confirmed finding
with its evidence digest and log index), ``road_work_orders`` and ``road_work_order_events``,
and ``road_points`` (citizens' reward points, once per finding and once per device and cell).
Every node's database gets them; only a road node writes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "road_devices",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("owner_kind", sa.String(length=8), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=True),
        sa.Column("trusted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_road_devices")),
    )
    op.create_table(
        "road_observations",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("e", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("kind", sa.String(length=9), nullable=False),
        sa.Column("defect", sa.String(length=32), nullable=True),
        sa.Column("severity", sa.SmallInteger(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("magnitude_g", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("datum", sa.String(length=8), nullable=False),
        sa.Column("heading_deg", sa.Float(), nullable=True),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("image_sha256", sa.String(length=64), nullable=True),
        sa.Column("owner_kind", sa.String(length=8), nullable=False),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("device_id", "seq", name=op.f("pk_road_observations")),
    )
    op.create_index(
        "ix_road_observations_e_n_observed_at", "road_observations", ["e", "n", "observed_at"]
    )
    op.create_table(
        "road_cells",
        sa.Column("e", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("colour", sa.SmallInteger(), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("defects", sa.String(length=400), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("confirmed_at", TS, nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("ruleset", sa.String(length=40), nullable=False),
        sa.Column("work_order", sa.String(length=40), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("e", "n", name=op.f("pk_road_cells")),
    )
    op.create_index("ix_road_cells_n_e", "road_cells", ["n", "e"])
    op.create_table(
        "road_findings",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("e", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("defect", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("colour", sa.SmallInteger(), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("confirmed_at", TS, nullable=False),
        sa.Column("cleared_at", TS, nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("observations", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.LargeBinary(length=32), nullable=False),
        sa.Column("evidence_keys", sa.JSON(), nullable=False),
        sa.Column("ruleset", sa.String(length=40), nullable=False),
        sa.Column("work_order", sa.String(length=40), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_findings")),
    )
    op.create_index("ix_road_findings_e_n", "road_findings", ["e", "n"])
    op.create_table(
        "road_work_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("road_id", sa.String(length=64), nullable=False),
        sa.Column("defect", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("dispatched_at", TS, nullable=False),
        sa.Column("deadline", TS, nullable=False),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.Column("repair_photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("first_observed_at", TS, nullable=False),
        sa.Column("confirmed_at", TS, nullable=False),
        sa.Column("repaired_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_work_orders")),
    )
    op.create_index("ix_road_work_orders_status", "road_work_orders", ["status"])
    op.create_table(
        "road_work_order_events",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", "n", name=op.f("pk_road_work_order_events")),
    )
    op.create_table(
        "road_points",
        sa.Column("finding_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("e", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("awarded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("finding_id", name=op.f("pk_road_points")),
        sa.UniqueConstraint("device_id", "e", "n", name="uq_road_points_device_id_e_n"),
    )


def downgrade() -> None:
    op.drop_table("road_points")
    op.drop_table("road_work_order_events")
    op.drop_index("ix_road_work_orders_status", table_name="road_work_orders")
    op.drop_table("road_work_orders")
    op.drop_index("ix_road_findings_e_n", table_name="road_findings")
    op.drop_table("road_findings")
    op.drop_index("ix_road_cells_n_e", table_name="road_cells")
    op.drop_table("road_cells")
    op.drop_index("ix_road_observations_e_n_observed_at", table_name="road_observations")
    op.drop_table("road_observations")
    op.drop_table("road_devices")
