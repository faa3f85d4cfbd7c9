"""Migrations and models agree, on both backends; upgrading twice is harmless."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.tables import metadata


def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # idempotent
    engine = create_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    engine.dispose()
    assert diff == [], f"tables.py and the migrations differ; add a migration: {diff}"
