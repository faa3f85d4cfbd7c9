"""The unit of work over a SQLAlchemy engine.

Use cases open one, do their reads and writes on ``uow.conn`` and call ``uow.commit()`` on a
visible line; leaving the block without committing rolls back. Nothing is acknowledged to a
caller before its commit returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, text

from yimatong.adapters.db.engine import make_engine

__all__ = ["Database", "UnitOfWork", "inserted_id"]


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key a single-row INSERT generated."""
    key = result.inserted_primary_key
    if key is None:
        raise ValueError("the statement was not a single-row INSERT")
    return int(key[0])


class UnitOfWork:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.committed = False

    def commit(self) -> None:
        self.conn.commit()
        self.committed = True


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def uow(self) -> Iterator[UnitOfWork]:
        with self.engine.connect() as conn:
            work = UnitOfWork(conn)
            try:
                yield work
            finally:
                if conn.in_transaction():
                    conn.rollback()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads only; whatever it did is rolled back."""
        with self.engine.connect() as conn:
            try:
                yield conn
            finally:
                if conn.in_transaction():
                    conn.rollback()

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (``/readyz``)."""
        with self.read() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()
