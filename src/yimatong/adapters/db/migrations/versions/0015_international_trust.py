"""international_trust: the EU DCC document signers and SMART Health Card issuers

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-03 14:40:00

The hub administrator imports the EU gateway's DSC list and a VCI directory snapshot
(``yimatong trust import-dcc`` / ``import-shc``); the hub serves them signed as
``GET /v1/international-trust``, and checkpoints verify ``HC1:`` and ``shc:/`` codes offline
against it. One row per DSC (kid) or issuer (iss); an import replaces its family's rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "international_trust",
        sa.Column("family", sa.String(length=3), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("family", "key", name=op.f("pk_international_trust")),
    )


def downgrade() -> None:
    op.drop_table("international_trust")
