"""The node's authenticator: what it answers without the database, and what it must look up."""

from __future__ import annotations

import asyncio
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import upgrade
from yimatong.bootstrap import TokenAuthenticator
from yimatong.credentials import Caller, CredentialCache, add_credential, hash_token
from yimatong.web_common import authenticate_off_loop


def _database(db_url: str) -> Database:
    upgrade(db_url)
    return Database.from_url(db_url)


def test_a_credential_is_answered_from_the_cache_only_while_its_entry_is_fresh(
    db_url: str, clock: Any
) -> None:
    db = _database(db_url)
    ticks = [100.0]
    cache = CredentialCache(ttl=5.0, monotonic=lambda: ticks[0])
    with db.uow() as uow:
        token = add_credential(uow.conn, name="gate-1", role="checkpoint", now=clock(),
                               rng=random.Random(4))  # fmt: skip
        uow.commit()
    digest = hash_token(token)
    assert cache.peek(digest) is None  # never looked up: nothing to answer without the database
    found = cache.lookup(db.read, digest)
    assert found is not None and (found.role, found.name) == ("checkpoint", "gate-1")
    assert cache.peek(digest) == found
    ticks[0] += 5.0
    assert cache.peek(digest) is None  # stale: the next request looks it up again
    assert cache.peek(hash_token("ymt_c_unknown")) is None
    db.dispose()


def test_the_loop_answers_a_cached_credential_itself_and_sends_sessions_to_a_thread(
    db_url: str, clock: Any
) -> None:
    db = _database(db_url)
    where: list[str] = []

    class Watched(TokenAuthenticator):
        def __call__(self, token: str) -> Caller | None:  # where each lookup runs
            where.append(threading.current_thread().name)
            return super().__call__(token)

    authenticate = Watched(db, clock)
    with db.uow() as uow:
        token = add_credential(uow.conn, name="gate-2", role="checkpoint", now=clock(),
                               rng=random.Random(5))  # fmt: skip
        uow.commit()

    loop_thread: list[str] = []

    async def twice() -> tuple[Caller | None, Caller | None, Caller | None]:
        loop_thread.append(threading.current_thread().name)
        first = await authenticate_off_loop(authenticate, token)  # a miss: looked up
        second = await authenticate_off_loop(authenticate, token)  # a hit: no lookup
        session = await authenticate_off_loop(authenticate, "ymt_s_" + "0" * 40)
        return first, second, session

    try:
        # A loop of its own in a thread of its own, whatever loop this test process holds.
        with ThreadPoolExecutor(1, thread_name_prefix="loop") as pool:
            first, second, session = pool.submit(asyncio.run, twice()).result(timeout=30)
    finally:
        db.dispose()
    assert first is not None and first == second and first.role == "checkpoint"
    assert session is None  # no such session
    # Two lookups (the miss and the session), both off the event loop's thread.
    assert len(where) == 2 and all(name != loop_thread[0] for name in where), (where, loop_thread)
