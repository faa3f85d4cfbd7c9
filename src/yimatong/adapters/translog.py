"""A node's transparency log: what changed, appended in the transaction of the change.

An entry is a JSON object ``{"kind", "at", ...}`` stored as its RFC 8785 canonical bytes, with
RFC 9162's leaf hash beside it (``domain/merkle.py``); never personal data (a batch is there as
the SHA-256 of its content, ``batch_digest``). What each node logs: docs/transparency.md.

``append`` takes the entry's index from the ``log`` counter, whose row lock is held until the
transaction commits (``adapters/db/counters.py``): indexes are dense and become visible in
order, and a transaction that rolls back takes its entry (and its index) with it. Writers call
it last, just before their commit, so the lock is held for as short a time as possible and is
always the last one a writer takes (no lock-order cycle with the other counters).

``TransparencyLog`` serves the log (``hub/api_log.py``): signed tree heads (STH) over the
first N entries, pages of entries, and RFC 9162 inclusion and consistency proofs. Each worker
keeps the leaf hashes in memory (32 bytes an entry) and reads only the entries appended since
it last looked; the node's job leader signs a head every ``YMT_STH_INTERVAL`` seconds when the
log has grown (``sign_head``).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select

from yimatong.adapters.crypto import SigningKey
from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import log_entries, tree_heads
from yimatong.adapters.db.upsert import insert_ignore
from yimatong.adapters.signed import canonical, sign_document
from yimatong.credentials import Caller
from yimatong.domain.errors import InvalidInput, NotFound
from yimatong.domain.merkle import MerkleTree, leaf_hash

__all__ = [
    "MAX_ENTRIES",
    "TransparencyLog",
    "actor",
    "append",
    "append_many",
    "b64",
    "batch_digest",
    "entry_bytes",
    "head_payload",
]

#: The most entries one ``GET /v1/log/entries`` returns.
MAX_ENTRIES = 1000


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


def append_many(
    conn: Connection, entries: Sequence[tuple[str, Mapping[str, Any]]], now: datetime
) -> list[int]:
    """Append several entries in ``conn``'s transaction, in order, as ``append`` would one by
    one (dense indexes taken from the ``log`` counter at once, one insert); their indexes."""
    if not entries:
        return []
    last = next_value(conn, "log", by=len(entries)) - 1
    first = last - len(entries) + 1
    rows = []
    for i, (kind, body) in enumerate(entries):
        entry = entry_bytes(kind, now, {k: v for k, v in body.items() if v is not None})
        rows.append(
            {"idx": first + i, "kind": kind, "entry": entry, "leaf_hash": leaf_hash(entry),
             "appended_at": now}
        )  # fmt: skip
    conn.execute(insert(log_entries), rows)
    return list(range(first, last + 1))


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def head_payload(log_id: str, tree_size: int, root: bytes, signed_at: datetime) -> dict[str, Any]:
    """What a signed tree head signs (its RFC 8785 bytes, as every signed document)."""
    return {
        "type": "tree-head",
        "log": log_id,
        "tree_size": tree_size,
        "root_hash": b64(root),
        "timestamp": signed_at.isoformat(),
    }


class TransparencyLog:
    """One node's log: ``log_id`` names it in its heads, ``signing_key`` signs them."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        signing_key: Callable[[], SigningKey],
        log_id: str,
    ) -> None:
        self.db = db
        self.log_id = log_id
        self.clock = clock
        self._signing_key = signing_key
        self._tree = MerkleTree()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ heads
    def sign_head(self) -> dict[str, Any] | None:
        """Sign a head over every entry now in the log, unless the latest head has that size
        already (the periodic job); the new head's document, or None."""
        with self._lock:
            with self.db.read() as conn:
                size = self._refresh(conn)
                latest = conn.execute(
                    select(tree_heads.c.tree_size).order_by(tree_heads.c.tree_size.desc()).limit(1)
                ).scalar()
            if latest is not None and latest >= size:
                return None
            root = self._tree.root(size)
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        key = self._signing_key()
        document = sign_document(head_payload(self.log_id, size, root, now), key)
        raw = document["signature"]["value"]
        with self.db.uow() as uow:
            # Another worker that signed the same size first keeps its head.
            insert_ignore(
                uow.conn,
                tree_heads,
                {
                    "tree_size": size,
                    "root_hash": root,
                    "signed_at": now,
                    "kid": key.kid,
                    "alg": key.alg.value,
                    "signature": base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)),
                },
            )
            uow.commit()
        return document

    def latest_head(self) -> dict[str, Any]:
        """GET /v1/log/sth: the newest signed tree head (one is signed if none is yet)."""
        row = self._latest_row()
        if row is None:
            self.sign_head()
            row = self._latest_row()
        assert row is not None
        return _head_document(row, self.log_id)

    def _latest_row(self) -> Any:
        with self.db.read() as conn:
            return conn.execute(
                select(tree_heads).order_by(tree_heads.c.tree_size.desc()).limit(1)
            ).first()

    # ---------------------------------------------------------------- entries
    def entries(self, start: int, end: int | None = None) -> dict[str, Any]:
        """GET /v1/log/entries: entries ``start`` ≤ index < ``end``, at most MAX_ENTRIES."""
        if start < 0 or (end is not None and end <= start):
            raise InvalidInput("entries need 0 <= start < end", field="end")
        stop = start + MAX_ENTRIES if end is None else min(end, start + MAX_ENTRIES)
        with self.db.read() as conn:
            rows = conn.execute(
                select(log_entries.c.idx, log_entries.c.entry)
                .where(log_entries.c.idx >= start, log_entries.c.idx < stop)
                .order_by(log_entries.c.idx)
            ).all()
        if not rows:
            raise NotFound(f"the log has no entry {start}")
        return {
            "start": start,
            "entries": [
                {"index": r.idx, "leaf_input": b64(r.entry), "entry": orjson.loads(r.entry)}
                for r in rows
            ],
        }

    # ----------------------------------------------------------------- proofs
    def inclusion(self, index: int, size: int) -> dict[str, Any]:
        """GET /v1/log/proof/inclusion: the audit path of entry ``index`` in the tree of
        ``size`` entries."""
        if not 0 <= index < size:
            raise InvalidInput("an inclusion proof needs 0 <= index < size", field="index")
        with self._lock:
            self._have(size)
            return {
                "leaf_index": index,
                "tree_size": size,
                "leaf_hash": b64(self._tree.leaf(index)),
                "inclusion_path": [b64(h) for h in self._tree.inclusion_path(index, size)],
            }

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        """GET /v1/log/proof/consistency: the tree of ``first`` entries is a prefix of the
        tree of ``second``."""
        if not 0 <= first <= second:
            raise InvalidInput("a consistency proof needs 0 <= first <= second", field="first")
        with self._lock:
            self._have(second)
            return {
                "first": first,
                "second": second,
                "consistency_path": [b64(h) for h in self._tree.consistency_path(first, second)],
            }

    # ---------------------------------------------------------------- helpers
    def _have(self, size: int) -> None:
        """The tree holds ``size`` entries (reading new ones); NotFound beyond the log."""
        if size > len(self._tree):
            with self.db.read() as conn:
                self._refresh(conn)
        if size > len(self._tree):
            raise NotFound(f"the log has {len(self._tree)} entries, not {size}")

    def _refresh(self, conn: Connection) -> int:
        """Read the entries appended since this worker last looked; the tree's size."""
        known = len(self._tree)
        rows = conn.execute(
            select(log_entries.c.idx, log_entries.c.leaf_hash)
            .where(log_entries.c.idx >= known)
            .order_by(log_entries.c.idx)
        ).all()
        for i, row in enumerate(rows):
            if row.idx != known + i:  # indexes are dense (the counter): never expected
                raise RuntimeError("the transparency log has a gap")
            self._tree.append(bytes(row.leaf_hash))
        return len(self._tree)


def _head_document(row: Any, log_id: str) -> dict[str, Any]:
    return {
        "payload": head_payload(log_id, row.tree_size, bytes(row.root_hash), row.signed_at),
        "signature": {
            "kid": bytes(row.kid).hex(),
            "alg": row.alg,
            "value": base64.urlsafe_b64encode(bytes(row.signature)).rstrip(b"=").decode(),
        },
    }
