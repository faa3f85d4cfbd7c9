"""Log lines of a node process: one format, to stderr, at the level ``serve`` was given.

Log lines carry route templates, error types, kids and counts — never names, ID numbers,
phones or request bodies (docs/architecture.md, "Personal data").
"""

from __future__ import annotations

import logging
import sys

__all__ = ["LEVELS", "configure"]

LEVELS = ("debug", "info", "warning", "error")
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def configure(level: str = "info") -> None:
    """Send the ``yimatong.*`` loggers to stderr at ``level`` (idempotent per process)."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    logger = logging.getLogger("yimatong")
    logger.setLevel(level.upper())
    if not any(getattr(h, "_yimatong", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._yimatong = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = False
