"""SMS gateways: the interface, and the demo implementation that writes to a file.

A real deployment plugs in its operator's gateway behind :class:`SmsGateway`; the demo's
:class:`FileSms` appends each message to ``sms.log`` so a person trying the federation can
read their one-time code there. That file is the demo's *phone*, not a log: it is the only
place a phone number is written in clear, and only because it stands in for delivery.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Protocol

__all__ = ["FileSms", "SmsGateway", "SmsUnavailable"]


class SmsUnavailable(Exception):
    """The gateway could not take the message."""


class SmsGateway(Protocol):
    def send(self, phone: str, text: str, *, now: datetime) -> None: ...


class FileSms:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, phone: str, text: str, *, now: datetime) -> None:
        line = f"{now.isoformat(timespec='seconds')}\t{phone}\t{text}\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as f:
                    f.write(line)
        except OSError as exc:
            raise SmsUnavailable(str(exc)) from exc
