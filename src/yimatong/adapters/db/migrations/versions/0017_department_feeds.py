"""departmental feeds: departments, their batches and records; issuers' identity checks

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 22:00:00

``departments`` (police, rail, aviation, telecom, each with its public key), the batches they
sent (``department_batches``: taken once, with the signed message's SHA-256 and the signature)
and their records (``department_records``: pseudonymous, a name or phone only as a keyed
index, each with its own expiry), at the hub (hub/departments.py); ``identity_checks``, an
issuer's mirror of the police checks of its subjects (issuer/sync.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("department_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("kid", sa.LargeBinary(length=8), nullable=False),
        sa.Column("alg", sa.Integer(), nullable=False),
        sa.Column("public_der", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("department_id", name=op.f("pk_departments")),
    )
    op.create_table(
        "department_batches",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_department_batches")),
    )
    op.create_table(
        "department_records",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("sid", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("department_id", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("feed_seq", sa.BigInteger(), nullable=True),
        sa.Column("matched", sa.Boolean(), nullable=True),
        sa.Column("name_index", sa.LargeBinary(length=32), nullable=True),
        sa.Column("phone_index", sa.LargeBinary(length=32), nullable=True),
        sa.Column("trip", sa.String(length=48), nullable=True),
        sa.Column("carriage", sa.String(length=4), nullable=True),
        sa.Column("seat", sa.String(length=6), nullable=True),
        sa.Column("seat_row", sa.Integer(), nullable=True),
        sa.Column("from_area", sa.String(length=9), nullable=True),
        sa.Column("area", sa.String(length=9), nullable=True),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("ends_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department_records")),
    )
    op.create_index(
        "ix_department_records_sid_starts_at", "department_records", ["sid", "starts_at"]
    )
    op.create_index("ix_department_records_trip", "department_records", ["trip"])
    op.create_index("ix_department_records_expires_at", "department_records", ["expires_at"])
    op.create_table(
        "identity_checks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("sid", sa.String(length=32), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("checked_at", _TS, nullable=False),
        sa.Column("origin", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_checks")),
        sa.UniqueConstraint("origin", name=op.f("uq_identity_checks_origin")),
    )
    op.create_index("ix_identity_checks_sid_checked_at", "identity_checks", ["sid", "checked_at"])


def downgrade() -> None:
    op.drop_index("ix_identity_checks_sid_checked_at", table_name="identity_checks")
    op.drop_table("identity_checks")
    op.drop_index("ix_department_records_expires_at", table_name="department_records")
    op.drop_index("ix_department_records_trip", table_name="department_records")
    op.drop_index("ix_department_records_sid_starts_at", table_name="department_records")
    op.drop_table("department_records")
    op.drop_table("department_batches")
    op.drop_table("departments")
