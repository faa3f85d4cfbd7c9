"""Shared fixtures: databases (SQLite always, PostgreSQL when YMT_TEST_PG_URL is set), a clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("YMT_TEST_PG_URL", "")


@pytest.fixture(scope="session", autouse=True)
def _sqlite_starts_migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A new SQLite node database starts as a copy of one migrated in this session.

    The suite builds well over a thousand in-process nodes, each on a fresh SQLite file, and
    running the migrations on an empty file takes about 130 ms. They run once here, into a
    template made by the real ``upgrade``; a new file starts as a copy of it and the real
    ``upgrade`` then runs on the copy (finding it at head, ~20 ms). Processes that tests start
    (e2e) migrate for themselves; PostgreSQL databases are migrated as before.
    """
    from yimatong import bootstrap
    from yimatong.adapters.db import engine
    from yimatong.hub import app

    real: Callable[..., None] = engine.upgrade
    template = tmp_path_factory.mktemp("migrated") / "template.db"
    real(f"sqlite:///{template}")
    assert not template.with_name("template.db-wal").exists()  # all of it is in the one file
    template_bytes = template.read_bytes()

    def upgrade(url: str, revision: str = "head") -> None:
        path = Path(url.split(":///", 1)[-1]) if url.startswith("sqlite:///") else None
        if revision == "head" and path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Made the way the node makes its database: its owner's only (0600).
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as copy:
                copy.write(template_bytes)
        real(url, revision)

    patch = pytest.MonkeyPatch()
    for module in (engine, bootstrap, app):
        patch.setattr(module, "upgrade", upgrade)
    yield
    patch.undo()


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need YMT_TEST_PG_URL (CI sets it)")
    from yimatong.config import normalise_db_url

    admin_url = normalise_db_url(PG_URL)
    name = f"ymt_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            # with the databases made beside it (tests/integration/modes_support.Databases)
            beside = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                {"prefix": f"{name}\\_%"},
            ).scalars()
            for db in [name, *beside]:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(url: str) -> None:
    from yimatong.adapters.db.engine import upgrade
    from yimatong.adapters.db.tables import metadata

    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        # TRUNCATE makes new files for a table and each of its indexes (about a second for
        # every table at once), so only the tables a test touched: those holding a row, or
        # whose sequence moved (a rolled-back insert leaves an empty table and a used id).
        tables = [t.name for t in metadata.sorted_tables]
        held = " UNION ALL ".join(
            f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in tables
        )
        touched = {row[0] for row in conn.execute(text(held))}
        touched |= {
            row[0]
            for row in conn.execute(
                text(
                    "SELECT t.relname FROM pg_sequences s"
                    " JOIN pg_class q ON q.relname = s.sequencename"
                    " JOIN pg_depend d ON d.objid = q.oid AND d.deptype IN ('a', 'i')"
                    " JOIN pg_class t ON t.oid = d.refobjid"
                    " WHERE s.schemaname = current_schema() AND s.last_value IS NOT NULL"
                )
            )
        }
        names = ", ".join(f'"{name}"' for name in tables if name in touched)
        if names:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_all(url)
    return url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many inputs the decoder fuzz tests fed (``tests/fuzz_support.py``), when any ran
    in this process (under xdist each worker counts its own, and the summary is not shown)."""
    from tests.fuzz_support import TRIED

    if TRIED:
        total = sum(TRIED.values())
        parts = ", ".join(f"{name} {n}" for name, n in sorted(TRIED.items()))
        terminalreporter.write_line(f"decoder fuzz: {total} inputs ({parts})")
