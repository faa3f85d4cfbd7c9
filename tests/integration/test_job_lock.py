"""One worker runs the periodic jobs; when it dies, another takes them over within seconds."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from yimatong.adapters.db.database import Database
from yimatong.adapters.db.leader import JobLeader, JobLock

HOLDER = """
import sys, time
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.leader import JobLock
lock = JobLock(Database.from_url(sys.argv[1]))
assert lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def databases(db_url: str) -> Iterator[Callable[[], Database]]:
    """Each call: a Database of its own on the test database (a worker's), disposed after."""
    made: list[Database] = []

    def new() -> Database:
        made.append(Database.from_url(db_url))
        return made[-1]

    yield new
    for db in made:
        db.dispose()


def test_only_one_lock_holder_at_a_time_and_release_hands_it_on(
    databases: Callable[[], Database],
) -> None:
    first, second = JobLock(databases()), JobLock(databases())
    assert first.acquire()
    assert first.acquire()  # asking again while holding it is still yes
    assert not second.acquire()
    first.release()
    assert second.acquire()
    assert not first.acquire()
    second.release()


def test_a_holder_killed_outright_lets_go_of_the_lock(
    db_url: str, databases: Callable[[], Database]
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        mine = JobLock(databases())
        assert not mine.acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 5
        while not mine.acquire():
            assert time.monotonic() < deadline, "the lock was not freed by the holder's death"
            time.sleep(0.1)
        mine.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_the_second_leader_takes_the_jobs_over_when_the_first_ends(
    databases: Callable[[], Database],
) -> None:
    running: list[str] = []
    changed = threading.Condition()

    def jobs(name: str) -> tuple[Callable[[], None], Callable[[], None]]:
        def start() -> None:
            with changed:
                running.append(name)
                changed.notify_all()

        def stop() -> None:
            with changed:
                running.remove(name)
                changed.notify_all()

        return start, stop

    a = JobLeader(JobLock(databases()), *jobs("a"), every=0.1)
    b = JobLeader(JobLock(databases()), *jobs("b"), every=0.1)
    a.begin()
    b.begin()
    try:
        time.sleep(0.3)
        assert running == ["a"] and a.leading and not b.leading
        a.end()
        with changed:
            assert changed.wait_for(lambda: running == ["b"], timeout=5), running
        assert b.leading
    finally:
        a.end()
        b.end()
    assert running == []
