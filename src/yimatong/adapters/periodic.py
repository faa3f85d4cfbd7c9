"""A daemon thread that runs one job now and then every ``interval`` seconds until stopped.

Nodes keep a few such jobs (the hub link's sync rounds, the daily purge). A failing round is
logged by its exception type only (messages may hold data) and the next round runs anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Periodic"]

log = logging.getLogger("yimatong")


class Periodic:
    def __init__(self, name: str, job: Callable[[], Any], interval: float) -> None:
        self.name = name
        self.job = job
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.job()
            except Exception as exc:  # keep the job going whatever one round does
                log.error("%s round failed: %s", self.name, type(exc).__name__)
            self._stop.wait(self.interval)
