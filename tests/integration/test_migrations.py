"""Migrations and models agree, on both backends; upgrading twice is harmless.

On PostgreSQL the time-partitioned tables (migration 0009) are compared in the shape they have
there (``partitions.postgres_metadata``), and their partitions are left out: each is a table
of its own to the catalogue, made and dropped by the housekeeper, not by a migration.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from yimatong.adapters.db.engine import upgrade
from yimatong.adapters.db.partitions import is_partition_name, postgres_metadata
from yimatong.adapters.db.tables import metadata
from yimatong.legacy.store import metadata as legacy_metadata


def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # idempotent
    engine = create_engine(db_url)
    # The legacy system keeps its own schema; in tests it may share this database.
    foreign = set(legacy_metadata.tables)

    def ours(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table not in foreign and not is_partition_name(table)

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": ours}
        )
        expected = postgres_metadata() if conn.dialect.name == "postgresql" else metadata
        diff = compare_metadata(context, expected)
    engine.dispose()
    assert diff == [], f"tables.py and the migrations differ; add a migration: {diff}"
