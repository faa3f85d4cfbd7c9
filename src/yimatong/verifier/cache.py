"""The checkpoint's disk cache: the signed lists exactly as received, written atomically.

One JSON file per list (``trust-list.json``, ``risk-areas.json``, ``policies-330000.json``)::

    {"format": 1, "name": ..., "etag": ..., "fetched_at": ..., "checked_at": ...,
     "documents": [signed document, signed delta, ...], "anchor": {...} | null,
     "sha256": hex of the canonical JSON of everything above}

The documents are kept as the hub signed them (a full list, then the deltas fetched since),
so a loaded file is verified again — checksum first (a torn or bit-rotted file), then every
signature (a file someone edited) — and anything that fails is discarded and fetched again.
Writes go to a temporary file in the same directory, are fsynced and renamed over the old file
(then the directory is fsynced): a power cut leaves the old file or the new one, never half.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from yimatong.adapters.signed import canonical

__all__ = [
    "CACHE_FORMAT",
    "CorruptCache",
    "DiskCache",
    "Stored",
    "atomic_write",
    "default_cache_dir",
]

log = logging.getLogger("yimatong.verifier")

CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/yimatong`` or ``~/.cache/yimatong``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "yimatong"


class CorruptCache(Exception):
    """A cache file is unreadable, or its checksum does not match its contents."""


@dataclass
class Stored:
    """One list as kept on disk."""

    name: str
    documents: list[dict[str, Any]]
    etag: str | None = None
    fetched_at: str | None = None
    #: when the hub last confirmed the list current (a 200 or a 304)
    checked_at: str | None = None
    anchor: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "name": self.name,
            "etag": self.etag,
            "fetched_at": self.fetched_at,
            "checked_at": self.checked_at,
            "documents": self.documents,
            "anchor": self.anchor,
            "extra": self.extra,
        }


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class DiskCache:
    """The files of one cache directory (made 0700 on first use)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def ensure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError("a cache entry name is a plain file name")
        return self.directory / f"{name}.json"

    def load(self, name: str) -> Stored | None:
        """The stored list, None if there is none; CorruptCache if the file is damaged."""
        path = self.path(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CorruptCache(f"{path.name}: cannot be read ({type(exc).__name__})") from None
        try:
            data = orjson.loads(raw)
            body = {k: data[k] for k in _FIELDS}
            digest = data["sha256"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise CorruptCache(f"{path.name}: not a cache file") from None
        if body["format"] != CACHE_FORMAT or body["name"] != name:
            raise CorruptCache(f"{path.name}: another format or another list")
        if hashlib.sha256(canonical(body)).hexdigest() != digest:
            raise CorruptCache(f"{path.name}: checksum does not match")
        if not isinstance(body["documents"], list):
            raise CorruptCache(f"{path.name}: no documents")
        return Stored(
            name=name,
            documents=body["documents"],
            etag=body["etag"],
            fetched_at=body["fetched_at"],
            checked_at=body["checked_at"],
            anchor=body["anchor"],
            extra=body["extra"] or {},
        )

    def save(self, stored: Stored) -> None:
        self.ensure()
        body = stored.body()
        data = {**body, "sha256": hashlib.sha256(canonical(body)).hexdigest()}
        atomic_write(self.path(stored.name), orjson.dumps(data))

    def discard(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(name).unlink()


_FIELDS = (
    "format",
    "name",
    "etag",
    "fetched_at",
    "checked_at",
    "documents",
    "anchor",
    "extra",
)
