"""The hub's transparency log: what changed, appended in the transaction of the change.

Every change that decides colours or who is trusted, and that is not a rule applied to a fact,
is appended here (docs/transparency.md): risk-area changes, entry-policy versions, issuer
registration and key changes, lab registration, and each batch of facts or test results —
a batch as the SHA-256 of its content, never the content (``batch_digest``). An entry is a
JSON object ``{"kind", "at", ...}`` stored as its RFC 8785 canonical bytes, with RFC 9162's
leaf hash beside it (``domain/merkle.py``).

``append`` takes the entry's index from the ``log`` counter, whose row lock is held until the
transaction commits (``adapters/db/counters.py``): indexes are dense and become visible in
order, and a transaction that rolls back takes its entry (and its index) with it. Writers call
it last, just before their commit, so the lock is held for as short a time as possible and is
always the last one a writer takes (no lock-order cycle with the other counters).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.tables import log_entries
from yimatong.adapters.signed import canonical
from yimatong.credentials import Caller
from yimatong.domain.merkle import leaf_hash

__all__ = ["actor", "append", "batch_digest", "entry_bytes"]


def actor(caller: Caller) -> dict[str, Any]:
    """Who made a change, as the log shows it: the credential's role and scope (a region, a
    lab), never its name (a member of staff's credential may be named after them)."""
    return {"role": caller.role, "scope": caller.scope}


def batch_digest(rows: Iterable[Sequence[Any]]) -> str:
    """The hex SHA-256 of the canonical JSON of a batch's rows as the feed holds them, each
    ``[sid, kind, body]``: what the log keeps of a batch of facts or results. ``sid`` is a
    keyed pseudonym, so the digest confirms nothing about a person to whoever lacks the
    federation secret; the hub's own auditors recompute it from the feed rows."""
    return hashlib.sha256(canonical([list(r) for r in rows])).hexdigest()


def entry_bytes(kind: str, at: datetime, body: Mapping[str, Any]) -> bytes:
    return canonical({**body, "kind": kind, "at": at.isoformat()})


def append(conn: Connection, kind: str, now: datetime, **body: Any) -> int:
    """Append one entry in ``conn``'s transaction; its index (0 for the first)."""
    entry = entry_bytes(kind, now, {k: v for k, v in body.items() if v is not None})
    index = next_value(conn, "log") - 1
    conn.execute(
        insert(log_entries).values(
            idx=index, kind=kind, entry=entry, leaf_hash=leaf_hash(entry), appended_at=now
        )
    )
    return index
