"""The unit of work over a SQLAlchemy engine.

Use cases open one, do their reads and writes on ``uow.conn`` and call ``uow.commit()`` on a
visible line; leaving the block without committing rolls back. Nothing is acknowledged to a
caller before its commit returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, text
from sqlalchemy.exc import OperationalError

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


log = logging.getLogger("yimatong.db")
#: Seconds the primary serves replica reads after the replica failed to connect.
REPLICA_BACKOFF = 30.0


class Database:
    """The node's database; ``replica`` (``YMT_DB_READ_URL``) serves the status reads of 验码."""

    def __init__(
        self, engine: Engine, replica: Engine | None = None, *, statements: Engine | None = None
    ) -> None:
        self.engine = engine
        self.replica_engine = replica
        self._statements = statements
        self._replica_down_until = 0.0

    @classmethod
    def from_url(cls, url: str, read_url: str | None = None) -> Database:
        """The node's database; on PostgreSQL the 验码 status reads get their own pool.

        A status read is one SELECT: one statement is its own snapshot, so its connections
        run in autocommit (no BEGIN and ROLLBACK around it) and are not pinged before use
        (``SELECT 1``): one round trip per read instead of four. A connection the server
        dropped fails that read (验码 answers from the signed claims, as when the database is
        down) and SQLAlchemy then replaces the whole pool.
        """
        if url.startswith("sqlite"):
            return cls(make_engine(url), make_engine(read_url) if read_url else None)
        single = {"isolation_level": "AUTOCOMMIT", "pool_pre_ping": False}
        return cls(
            make_engine(url),
            make_engine(read_url, **single) if read_url else None,
            statements=make_engine(url, **single),
        )

    @property
    def statement_engine(self) -> Engine:
        """The pool for single-statement reads on the primary (the 验码 status when there is
        no replica): its own autocommit pool on PostgreSQL, the main engine on SQLite."""
        return self._statements if self._statements is not None else self.engine

    @statement_engine.setter
    def statement_engine(self, engine: Engine | None) -> None:
        self._statements = engine

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

    @contextmanager
    def replica(self) -> Iterator[Connection]:
        """A connection for one read statement, on the read replica if there is one (it may
        lag the primary by its replication delay: only for reads that tolerate it, such as a
        验码 status); the primary when there is none or it cannot be reached (then for
        ``REPLICA_BACKOFF`` s). On PostgreSQL it runs in autocommit: one statement, one
        round trip."""
        primary = self.statement_engine
        engine = self.replica_engine
        if engine is None or time.monotonic() < self._replica_down_until:
            engine = primary
        try:
            conn = engine.connect()
        except OperationalError:
            if engine is primary:
                raise
            log.warning("the read replica did not answer: reading from the primary for 30 s")
            self._replica_down_until = time.monotonic() + REPLICA_BACKOFF
            conn = primary.connect()
        with conn:
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
        for engine in {self.engine, self.statement_engine, self.replica_engine}:
            if engine is not None:
                engine.dispose()
