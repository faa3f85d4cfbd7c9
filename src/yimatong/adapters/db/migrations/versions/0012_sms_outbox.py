"""sms_outbox: text messages sent after the transaction they belong to commits

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 12:40:00

One-time codes and consent codes were handed to the SMS gateway inside the transaction that
stored their hash: a rollback after the send left a code in someone's hands that the database
never knew, and a gateway that was down failed the request. Now the message is a row of this
table, committed with the code; it is sent after the commit (at once, and again by the job
leader while the gateway does not take it) and deleted when the gateway has it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("enc_phone", sa.LargeBinary(), nullable=False),
        sa.Column("enc_text", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(200)),
    )
    op.create_index("ix_sms_outbox_next_try_at", "sms_outbox", ["next_try_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_outbox_next_try_at", table_name="sms_outbox")
    op.drop_table("sms_outbox")
