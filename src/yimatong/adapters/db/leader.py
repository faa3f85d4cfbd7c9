"""One worker runs a node's periodic jobs: the one that holds the node's job lock.

``serve --workers N`` starts N processes on one database. Each serves requests; only one runs
the periodic jobs (the hub link, the purge), so the hub is not asked N times per round and
the jobs never race themselves. The lock lives where the workers meet:

* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection kept
  for it. It goes with that connection, so a worker that dies (even ``kill -9``) lets go of it
  at once, as does one whose database connection breaks.
* SQLite: an exclusive ``flock`` on ``<database>.jobs.lock`` beside the database file; the
  kernel releases it when the process ends, however it ends.

``JobLeader`` tries for the lock every ``every`` seconds (2 by default), so a surviving worker
takes the jobs over within that; it starts the jobs when it gets the lock, checks that it still
holds it on each try, and stops them if it lost it. An in-memory SQLite database belongs to
one process: its only worker always holds the lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, text

from yimatong.adapters.db.database import Database

__all__ = ["JobLeader", "JobLock"]

log = logging.getLogger("yimatong.jobs")


def _key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(b"yimatong jobs\x00" + name.encode()).digest()[:8],
                          "big", signed=True)  # fmt: skip


class JobLock:
    """The node's job lock on its database: ``acquire`` (no wait), ``held``, ``release``."""

    def __init__(self, db: Database, name: str = "jobs") -> None:
        self.db = db
        self.name = name
        self._conn: Connection | None = None
        self._file: IO[Any] | None = None
        self._memory = False

    def acquire(self) -> bool:
        """Take the lock if it is free; True if this worker holds it now."""
        if self.held():
            return True
        if self.db.dialect == "postgresql":
            return self._acquire_pg()
        return self._acquire_file()

    def held(self) -> bool:
        if self._memory or self._file is not None:
            return True
        if self._conn is None:
            return False
        try:  # the lock is as alive as its connection
            self._conn.execute(text("SELECT 1")).scalar_one()
            return True
        except Exception:
            log.warning("the job lock's database connection broke: the jobs stop here")
            self._drop_conn()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(self.name)})
            except Exception:  # the connection is gone: so is the lock
                log.debug("advisory unlock failed", exc_info=True)
            self._drop_conn()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self._memory = False

    def _acquire_pg(self) -> bool:
        conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(self.name)}
                ).scalar_one()
            )
        except Exception:
            conn.close()
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def _acquire_file(self) -> bool:
        database = self.db.engine.url.database
        if not database or database == ":memory:":
            self._memory = True
            return True
        path = Path(f"{database}.jobs.lock")
        handle = open(path, "a+b")  # noqa: SIM115  (kept open while the lock is held)
        os.chmod(path, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _drop_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:
                log.debug("closing the job lock's connection failed", exc_info=True)
            self._conn = None


class JobLeader:
    """Run ``start`` while this worker holds ``lock``; ``stop`` when it no longer does."""

    def __init__(
        self,
        lock: JobLock,
        start: Callable[[], None],
        stop: Callable[[], None],
        *,
        every: float = 2.0,
    ) -> None:
        self.lock = lock
        self._start = start
        self._stop_jobs = stop
        self.every = every
        self.leading = False
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        """Try at once (so a single worker starts its jobs without delay), then keep trying."""
        self._try()
        self._thread = threading.Thread(target=self._loop, name="job-leader", daemon=True)
        self._thread.start()

    def end(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.leading:
            self._stop_jobs()
            self.leading = False
        self.lock.release()

    def _loop(self) -> None:
        while not self._halt.wait(self.every):
            self._try()

    def _try(self) -> None:
        try:
            holds = self.lock.acquire()
        except Exception as exc:  # the database is down: try again next time
            log.warning("the job lock could not be asked for (%s)", type(exc).__name__)
            holds = False
        if holds and not self.leading:
            log.info("this worker (pid %d) runs the node's periodic jobs", os.getpid())
            self.leading = True
            self._start()
        elif not holds and self.leading:
            self.leading = False
            self._stop_jobs()
