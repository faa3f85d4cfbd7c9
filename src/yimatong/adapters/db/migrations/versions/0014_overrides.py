"""overrides, override_subjects, colour_changes: manual colours under dual approval, and the
history of every person's colour

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:40:00

A colour that the published rules did not give over recorded facts can only come from an
override (issue 10): a reason from a closed list, a recorded fact under each person, an expiry
and two different authority staff, the hub's authority too above an hourly limit; each one
in the issuer's transparency log. ``colour_changes`` keeps every change of a stored colour
with its reasons, for the person's own view.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "overrides",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.Column("sids_sha256", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("approved_by", sa.String(100)),
        sa.Column("approved_at", _TS),
        sa.Column("hub_approval", sa.JSON()),
        sa.Column("decided_at", _TS),
        sa.Column("decision_note", sa.Text()),
        sa.Column("effective_at", _TS),
        sa.Column("log_index", sa.BigInteger()),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overrides")),
    )
    op.create_index("ix_overrides_status_effective_at", "overrides", ["status", "effective_at"])
    op.create_table(
        "override_subjects",
        sa.Column("override_id", _ID, nullable=False),
        sa.Column("sid", sa.String(32), nullable=False),
        sa.Column("fact_kind", sa.String(16), nullable=False),
        sa.Column("fact_seq", sa.BigInteger(), nullable=False),
        sa.Column("lifted_at", _TS),
        sa.Column("expires_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["override_id"],
            ["overrides.id"],
            name=op.f("fk_override_subjects_override_id_overrides"),
        ),
        sa.PrimaryKeyConstraint("override_id", "sid", name=op.f("pk_override_subjects")),
    )
    op.create_index("ix_override_subjects_sid", "override_subjects", ["sid"])
    op.create_table(
        "colour_changes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("sid", sa.String(32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("colour_from", sa.String(8)),
        sa.Column("colour_to", sa.String(8), nullable=False),
        sa.Column("ruleset", sa.String(64), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_colour_changes")),
    )
    op.create_index("ix_colour_changes_sid_at", "colour_changes", ["sid", "at"])
    op.create_table(
        "feed_batches",
        sa.Column("first_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("first_seq", name=op.f("pk_feed_batches")),
    )
    # Who scanned a person's code, for their own view: the checkpoint a scan names.
    op.add_column("stays", sa.Column("checkpoint", sa.String(100)))


def downgrade() -> None:
    op.drop_table("feed_batches")
    with op.batch_alter_table("stays") as batch:
        batch.drop_column("checkpoint")
    op.drop_index("ix_colour_changes_sid_at", table_name="colour_changes")
    op.drop_table("colour_changes")
    op.drop_index("ix_override_subjects_sid", table_name="override_subjects")
    op.drop_table("override_subjects")
    op.drop_index("ix_overrides_status_effective_at", table_name="overrides")
    op.drop_table("overrides")
