"""The unit of work over a SQLAlchemy engine.

Use cases open one, do their reads and writes on ``uow.conn`` and call ``uow.commit()`` on a
visible line; leaving the block without committing rolls back. Nothing is acknowledged to a
caller before its commit returns.
"""

from __future__ import annotations

import logging
import time
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, CursorResult, Dialect, Engine, Select, text
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from yimatong.adapters.db.engine import make_engine

__all__ = ["Database", "UnitOfWork", "inserted_id"]


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key a single-row INSERT generated."""
    key = result.inserted_primary_key
    if key is None:
        raise ValueError("the statement was not a single-row INSERT")
    return int(key[0])


@dataclass(frozen=True)
class _DriverPlan:
    sql: str
    row: Any  # a namedtuple class of the selected columns
    utc: tuple[int, ...]  # positions of the UtcDateTime columns


_PLANS: dict[int, tuple[Select[Any], _DriverPlan]] = {}


def _driver_plan(statement: Select[Any], dialect: Dialect) -> _DriverPlan:
    """``statement`` compiled for the driver once (keyed by the statement object, which is
    module-level and lives as long as the process)."""
    kept = _PLANS.get(id(statement))
    if kept is not None and kept[0] is statement:
        return kept[1]
    from yimatong.adapters.db.tables import UtcDateTime

    columns = list(statement.selected_columns)
    plan = _DriverPlan(
        sql=str(statement.compile(dialect=dialect)),
        row=namedtuple("Row", [c.key for c in columns]),  # type: ignore[misc]
        utc=tuple(i for i, c in enumerate(columns) if isinstance(c.type, UtcDateTime)),
    )
    _PLANS[id(statement)] = (statement, plan)
    return plan


def _translated(conn: Connection, exc: Exception, sql: str) -> StatementError:
    """A driver error as SQLAlchemy would raise it (an ``OperationalError`` when the server
    is gone); on a dropped connection the pool is replaced, as SQLAlchemy does, so that the
    next read gets a fresh connection instead of another dead one."""
    raw = conn.connection.dbapi_connection
    dropped = bool(conn.dialect.is_disconnect(exc, raw, None))  # type: ignore[arg-type]
    if dropped:
        conn.invalidate(exc)
        conn.engine.dispose(close=False)
    return DBAPIError.instance(
        sql, None, exc, conn.dialect.loaded_dbapi.Error,
        hide_parameters=True, connection_invalidated=dropped, dialect=conn.dialect,
    )  # fmt: skip


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

    def first(self, statement: Select[Any], params: dict[str, Any]) -> Any:
        """The first row of a one-statement read on ``replica()`` (the 验码 status), or None.

        On PostgreSQL the statement, compiled once, goes straight to the driver's cursor and
        the row comes back as a named tuple (UTC times made UTC, JSON already decoded by
        psycopg): none of SQLAlchemy's per-execution work, which costs more than the read.
        On SQLite it is an ordinary execute.
        """
        with self.replica() as conn:
            if conn.dialect.name != "postgresql":
                return conn.execute(statement, params).first()
            plan = _driver_plan(statement, conn.dialect)
            raw: Any = conn.connection.dbapi_connection
            try:
                with raw.cursor() as cursor:
                    cursor.execute(plan.sql, params)
                    found = cursor.fetchone()
            except conn.dialect.loaded_dbapi.Error as exc:
                raise _translated(conn, exc, plan.sql) from exc
        if found is None:
            return None
        values = list(found)
        for i in plan.utc:
            if values[i] is not None:
                values[i] = values[i].astimezone(UTC)
        return plan.row(*values)

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (``/readyz``)."""
        with self.read() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    def dispose(self) -> None:
        for engine in {self.engine, self.statement_engine, self.replica_engine}:
            if engine is not None:
                engine.dispose()
