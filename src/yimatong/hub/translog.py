"""The hub's transparency log (docs/transparency.md).

Every change at the hub that decides colours or who is trusted, and that is not a rule applied
to a fact, is appended to it with ``append`` (``adapters/translog.py``): risk-area changes,
entry-policy versions, issuer registration and key changes, lab registration, and each batch of
facts or test results — a batch as the SHA-256 of its content, never the content. ``HubLog``
adds what only the hub does: each node's daily digest of its reads of personal data. Its heads
are signed by the hub's list-signing key, the one that signs the trust list.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, select

from yimatong.adapters.crypto import SigningKey, VerifyingKey
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.read_digest import (
    DIGEST_CATCH_UP,
    DIGEST_MARGIN,
    day_digest,
    days_to_digest,
)
from yimatong.adapters.db.tables import log_entries
from yimatong.adapters.signed import BadDocument, sign_document, verify_document
from yimatong.adapters.translog import (
    MAX_ENTRIES,
    TransparencyLog,
    actor,
    append,
    batch_digest,
    entry_bytes,
    head_payload,
)
from yimatong.credentials import Caller
from yimatong.domain.errors import Conflict, Forbidden, InvalidInput
from yimatong.domain.merkle import verify_consistency

__all__ = [
    "LOG_ID",
    "MAX_ENTRIES",
    "HubLog",
    "TransparencyLog",
    "actor",
    "append",
    "batch_digest",
    "entry_bytes",
    "head_payload",
]

#: The ``log`` of every tree head the hub signs.
LOG_ID = "yimatong-hub"
#: The hub's own region: the node of its own daily read digests.
NATIONAL = "000000"
#: How many recent entries of one kind are read to find a node's last one (digests, heads).
DIGEST_SCAN = 2000
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: The hub itself as the log shows it (its own jobs).
HUB_ITSELF = {"role": "hub", "scope": None}


class HubLog(TransparencyLog):
    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        signing_key: Callable[[], SigningKey],
        issuer_keys: Callable[[str], Mapping[bytes, VerifyingKey]] | None = None,
    ) -> None:
        super().__init__(db, clock, signing_key, LOG_ID)
        #: the keys of an issuer that may sign its log's heads (its unrevoked registered keys)
        self._issuer_keys = issuer_keys or (lambda _region: {})

    # ------------------------------------------------------------------ witness
    def witness(
        self, caller: Caller, head: Mapping[str, Any], consistency_path: Sequence[str]
    ) -> dict[str, Any]:
        """POST /v1/log/witness (an issuer node): countersign the newest head of the issuer's
        own log, once it is signed by one of the issuer's registered keys and — when the hub
        witnessed an earlier head of it — proved consistent with that one (a consistency path
        from the size witnessed before). A fork is refused (409) and nothing is logged; a
        head that is witnessed is logged as ``head.witnessed``."""
        if caller.role != "node" or not caller.scope:
            raise Forbidden("this needs an issuer node's credential")
        region = caller.scope
        try:
            payload = verify_document(head, self._issuer_keys(region))
        except BadDocument as exc:
            raise Forbidden(f"the head is not signed by a key of issuer {region}: {exc}") from None
        log_id = f"yimatong-issuer-{region}"
        try:
            size = int(payload["tree_size"])
            root = base64.b64decode(payload["root_hash"], validate=True)
            stamp = str(payload["timestamp"])
            path = [base64.b64decode(p, validate=True) for p in consistency_path]
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise InvalidInput("the head or the consistency path is malformed") from None
        if payload.get("type") != "tree-head" or payload.get("log") != log_id or len(root) != 32:
            raise InvalidInput(f"not a tree head of the log {log_id}", field="head")
        if size < 0 or any(len(p) != 32 for p in path):
            raise InvalidInput("the head or the consistency path is malformed")
        now = self.clock()
        with self.db.uow() as uow:
            last = _latest_of(uow.conn, "head.witnessed", region)
            if last is not None:
                _, seen = last
                seen_size, seen_root = int(seen["tree_size"]), base64.b64decode(seen["root_hash"])
                if not verify_consistency(seen_size, size, seen_root, root, path):
                    raise Conflict(
                        f"fork: this head of {log_id} ({size} entries) is not consistent with "
                        f"the one witnessed before ({seen_size} entries)"
                    )
            if last is not None and int(last[1]["tree_size"]) == size:
                index = last[0]  # the same head again: the same entry
            else:
                index = append(
                    uow.conn,
                    "head.witnessed",
                    now,
                    by=actor(caller),
                    node=region,
                    log=log_id,
                    tree_size=size,
                    root_hash=payload["root_hash"],
                    timestamp=stamp,
                )
                uow.commit()
        cosignature = sign_document(
            {
                "type": "tree-head-cosignature",
                "log": log_id,
                "tree_size": size,
                "root_hash": payload["root_hash"],
                "timestamp": stamp,
                "witness": LOG_ID,
                "witnessed_at": now.isoformat(),
            },
            self._signing_key(),
        )
        return {"index": index, "cosignature": cosignature}

    # ------------------------------------------------------- daily read digests
    def log_read_digests(self, node: str = NATIONAL) -> list[str]:
        """Append the digest of each whole UTC day of the hub's own audit log (reads of
        personal data by anyone but the person; ``adapters/db/read_digest.day_digest``) not logged
        yet: yesterday, and the days since the last digest, at most ``DIGEST_CATCH_UP`` back
        (the hourly job on the leader); a day without reads has none. The days logged."""
        # A day is digested once it has been over for DIGEST_MARGIN (reads still committing).
        with self.db.read() as conn:
            last = _last_digest_day(conn, node)
        done = []
        for day in days_to_digest(self.clock(), last):
            with self.db.uow() as uow:
                digest = day_digest(uow.conn, day)
                if digest["reads"]:  # a day without reads has no digest
                    append(
                        uow.conn, "reads.digest", self.clock(), by=HUB_ITSELF, node=node, **digest
                    )
                    uow.commit()
                    done.append(day.isoformat())
        return done

    # ------------------------------------------------------------- overrides
    def approve_override(self, caller: Caller, request: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/overrides/approvals (the national health authority): approve an issuer's
        manual colour that took its region above the hourly limit (docs/overrides.md).

        The request is the override as the issuer shows it (``hub_request``); the approval is
        logged here as ``override.hub_approved`` and answered as a document signed by the
        hub's key, which the issuer checks against its own override before it takes effect.
        A regional authority cannot approve: the point is someone outside the region."""
        if caller.role != "authority" or caller.scope is not None:
            raise Forbidden(
                "approving a manual colour above the limit needs the national authority"
            )
        now = self.clock()
        for name in ("requested_at", "expires_at"):
            try:
                when = datetime.fromisoformat(str(request[name]))
            except ValueError:
                raise InvalidInput(f"{name} must be an RFC 3339 time", field=name) from None
            if when.tzinfo is None:
                raise InvalidInput(f"{name} must carry its offset", field=name)
        if datetime.fromisoformat(str(request["expires_at"])) <= now:
            raise InvalidInput("this override has expired", field="expires_at")
        body = dict(request)
        with self.db.uow() as uow:
            index = append(uow.conn, "override.hub_approved", now, by=actor(caller), **body)
            uow.commit()
        payload = {
            "type": "override-approval",
            **body,
            "approved_at": now.isoformat(),
            "log_index": index,
        }
        return sign_document(payload, self._signing_key())

    def add_read_digest(
        self,
        caller: Caller,
        *,
        day: date,
        reads: int,
        by_role: Mapping[str, int],
        sha256: str,
    ) -> dict[str, Any]:
        """POST /v1/log/read-digests (an issuer node): its digest of one whole UTC day of its
        own audit log, as ``adapters/db/read_digest.day_digest`` makes it, into the log with the
        node's region. The same digest again is acknowledged; another one for a day already
        logged is a conflict (a node's past reads do not change)."""
        if caller.role != "node" or not caller.scope:
            raise Forbidden("this needs an issuer node's credential")
        yesterday = (self.clock().astimezone(UTC) - DIGEST_MARGIN).date() - timedelta(days=1)
        if day > yesterday:
            raise InvalidInput("a day is digested once it is over (UTC)", field="day")
        if day <= yesterday - timedelta(days=DIGEST_CATCH_UP):
            raise InvalidInput(f"a digest older than {DIGEST_CATCH_UP} days", field="day")
        if not _HEX64.fullmatch(sha256):
            raise InvalidInput("sha256 is 64 lowercase hex digits", field="sha256")
        if reads < 1 or sum(by_role.values()) != reads or any(n < 0 for n in by_role.values()):
            raise InvalidInput("reads must be the sum of by_role, at least 1", field="reads")
        node = caller.scope
        digest = {
            "day": day.isoformat(),
            "reads": reads,
            "by_role": dict(sorted(by_role.items())),
            "sha256": sha256,
        }
        with self.db.uow() as uow:
            logged = _digest_entry(uow.conn, node, day)
            if logged is not None:
                index, entry = logged
                if entry.get("sha256") != sha256 or entry.get("reads") != reads:
                    raise Conflict(f"the reads of {node} on {day} are logged with another digest")
                return {"index": index, "duplicate": True}
            index = append(
                uow.conn, "reads.digest", self.clock(), by=actor(caller), node=node, **digest
            )
            uow.commit()
        return {"index": index, "duplicate": False}


def _latest_of(conn: Connection, kind: str, node: str) -> tuple[int, dict[str, Any]] | None:
    """The newest entry of ``kind`` about ``node`` among the recent ones, with its index."""
    for found in _recent(conn, kind, node):
        return found
    return None


def _recent_digests(conn: Connection, node: str) -> Iterator[tuple[int, dict[str, Any]]]:
    return _recent(conn, "reads.digest", node)


def _recent(conn: Connection, kind: str, node: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, entry) of the recent entries of ``kind`` about ``node``, newest first."""
    rows = conn.execute(
        select(log_entries.c.idx, log_entries.c.entry)
        .where(log_entries.c.kind == kind)
        .order_by(log_entries.c.idx.desc())
        .limit(DIGEST_SCAN)
    ).all()
    for row in rows:
        entry = orjson.loads(row.entry)
        if entry.get("node") == node:
            yield int(row.idx), entry


def _last_digest_day(conn: Connection, node: str) -> date | None:
    """The latest day whose read digest for ``node`` is in the log."""
    for _, entry in _recent_digests(conn, node):
        return date.fromisoformat(entry["day"])
    return None


def _digest_entry(conn: Connection, node: str, day: date) -> tuple[int, dict[str, Any]] | None:
    for index, entry in _recent_digests(conn, node):
        if entry.get("day") == day.isoformat():
            return index, entry
    return None
