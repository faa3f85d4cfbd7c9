"""Checking a transparency log from outside: what ``yimatong log verify`` (and ``log
monitor``) run — the hub's log, or an issuer node's own log through the hub's trust list.

One ``LogAuditor.check`` round (docs/transparency.md):

1. fetch the hub's newest signed tree head (``GET /v1/log/sth``) and check its signature with
   the hub keys this auditor trusts: keys pinned on the command line, those learnt on an
   earlier round, or — the first time, with nothing pinned — the key that signs the hub's
   trust list (trust on first use, as a checkpoint does). Each round also learns the hub
   keys (``000000``) listed in a trust list signed by a key it trusts: a rotation announced
   ahead is followed, a stranger is not;
2. if an earlier head was kept (``AuditState``), ask for the consistency proof between the two
   and check it: a log that shrank, or whose older entries changed, has *forked*;
3. fetch the entries it has not seen, hash each one (RFC 9162 leaf hash of the bytes served)
   into the kept right edge of the tree (``CompactRange``) and check that they reach the
   signed root: an entry missing or altered fails here. On a failure the first entry whose
   inclusion proof does not verify is named.

Any failure of the log raises ``LogProblem`` with one readable line; a hub that cannot be
asked raises ``Unavailable``. The state is a small JSON file: the last head checked, the right
edge of its tree, and the hub keys learnt.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yimatong.adapters.crypto import VerifyingKey, load_verifying_key
from yimatong.adapters.hubclient import NodeClient
from yimatong.adapters.signed import BadDocument, verify_document
from yimatong.domain.errors import NotFound, YimatongError
from yimatong.domain.merkle import CompactRange, leaf_hash, verify_consistency, verify_inclusion

__all__ = ["AuditResult", "AuditState", "LogAuditor", "LogProblem"]

NATIONAL = "000000"
#: Entries asked for in one request (the hub answers at most 1000).
PAGE = 1000
#: On a root mismatch, how many of the new entries are checked one by one to name the bad one.
LOCATE_AT_MOST = 256


class LogProblem(Exception):
    """The log failed a check: a fork, a bad signature, a missing or altered entry."""


@dataclass
class AuditState:
    """What one round leaves for the next: the head checked and the hub keys learnt."""

    tree_size: int = 0
    root_hash: bytes = b""
    timestamp: str | None = None
    edge: list[bytes] = field(default_factory=list)
    keys: dict[bytes, bytes] = field(default_factory=dict)  # kid -> SPKI DER

    @classmethod
    def load(cls, path: Path) -> AuditState:
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                tree_size=int(data["tree_size"]),
                root_hash=base64.b64decode(data["root_hash"]),
                timestamp=data.get("timestamp"),
                edge=[base64.b64decode(h) for h in data["edge"]],
                keys={bytes.fromhex(k): base64.b64decode(v) for k, v in data["hub_keys"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ValueError(f"the state file {path} is not one this command wrote") from exc

    def save(self, path: Path) -> None:
        data = {
            "tree_size": self.tree_size,
            "root_hash": base64.b64encode(self.root_hash).decode(),
            "timestamp": self.timestamp,
            "edge": [base64.b64encode(h).decode() for h in self.edge],
            "hub_keys": {k.hex(): base64.b64encode(v).decode() for k, v in self.keys.items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, path)  # a round cut short leaves the previous state whole


@dataclass(frozen=True)
class AuditResult:
    tree_size: int
    root_hash: bytes
    timestamp: str
    previous_size: int
    new_entries: int

    def summary(self) -> str:
        since = (
            f"consistent with the {self.previous_size} seen before, " if self.previous_size else ""
        )
        return (
            f"log ok: {self.tree_size} entries, {since}{self.new_entries} new checked; "
            f"root {self.root_hash.hex()[:16]}… signed {self.timestamp}"
        )


class LogAuditor:
    """Checks one node's log: the hub's (``region`` 000000), or with ``log`` an issuer node's
    own log (``region`` its region), whose heads must be signed by one of the region's keys in
    a trust list of the hub's signed by a hub key this auditor trusts."""

    def __init__(
        self,
        hub: NodeClient,
        pinned: Mapping[bytes, VerifyingKey] | None = None,
        *,
        log: NodeClient | None = None,
        region: str = NATIONAL,
    ) -> None:
        self.hub = hub
        self.pinned = dict(pinned or {})
        self.region = region
        #: the node whose log is checked (the hub itself unless an issuer's is)
        self.node = log or hub
        self.log_id = "yimatong-hub" if region == NATIONAL else f"yimatong-issuer-{region}"

    def check(
        self, state: AuditState, on_entry: Callable[[int, bytes], None] | None = None
    ) -> AuditResult:
        """One round against ``state`` (updated in place when every check passed);
        ``on_entry`` sees each new entry as served, before the root is compared."""
        known = {**{k: load_verifying_key(v) for k, v in state.keys.items()}, **self.pinned}
        document = self.node.get_json("/v1/log/sth", anonymous=True)
        head = self._verified_head(document, known)
        size, root = head["tree_size"], head["root_hash"]
        edge = CompactRange(state.tree_size, state.edge)
        if state.tree_size:
            self._consistent(state, size, root)
        start = state.tree_size
        for index, entry in self._entries(start, size):
            edge.append(leaf_hash(entry))
            if on_entry is not None:
                on_entry(index, entry)
        if edge.root() != root:
            raise LogProblem(self._locate(start, size, root))
        previous = state.tree_size
        state.tree_size, state.root_hash, state.timestamp = size, root, head["timestamp"]
        state.edge = list(edge.hashes)
        state.keys = {kid: key.spki_der() for kid, key in known.items()}
        return AuditResult(size, root, head["timestamp"], previous, size - previous)

    # ---------------------------------------------------------------- helpers
    def _verified_head(self, document: Any, known: dict[bytes, VerifyingKey]) -> dict[str, Any]:
        _kid_of(document)
        signers = self._learn_keys(known)
        try:
            payload = verify_document(document, signers)
        except BadDocument as exc:
            raise LogProblem(f"the {self._whose} tree head does not verify: {exc}") from None
        if payload.get("log", self.log_id) != self.log_id:
            raise LogProblem(f"the tree head is of log {payload.get('log')}, not {self.log_id}")
        try:
            size = int(payload["tree_size"])
            root = base64.b64decode(payload["root_hash"], validate=True)
            stamp = str(payload["timestamp"])
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise LogProblem("the hub's tree head is malformed") from None
        if payload.get("type") != "tree-head" or size < 0 or len(root) != 32:
            raise LogProblem("the hub's tree head is malformed")
        return {"tree_size": size, "root_hash": root, "timestamp": stamp}

    @property
    def _whose(self) -> str:
        return "hub's" if self.region == NATIONAL else f"issuer {self.region}'s"

    def _learn_keys(self, known: dict[bytes, VerifyingKey]) -> dict[bytes, VerifyingKey]:
        """Add the hub's keys from its trust list, if a key already trusted signed it (or, with
        none trusted yet, the hub key that signed it: trust on first use). Every round: the
        hub announces its next key in a list signed by the current one, before it signs with
        it (``yimatong keys rotate --start-in-hours``), so a round within that time learns it;
        a list signed by a key not trusted teaches nothing.

        The keys that may sign the log's heads: the hub keys themselves for the hub's log; for
        an issuer's, that region's unrevoked keys in a trust list a trusted hub key signed
        (each round, so a key revoked at the hub stops counting)."""
        document = self.hub.get_json("/v1/trust-list", anonymous=True)
        try:
            keys = document["payload"]["keys"]
            listed = {
                bytes.fromhex(k["kid"]): k
                for k in keys
                if k.get("region") == NATIONAL and not k.get("revoked_at")
            }
            regional = {
                bytes.fromhex(k["kid"]): k
                for k in keys
                if k.get("region") == self.region and not k.get("revoked_at")
            }
        except (KeyError, TypeError, ValueError):
            raise LogProblem("the hub's trust list is malformed") from None
        if not known:
            signer = listed.get(_kid_of(document))
            if signer is None:
                raise LogProblem("the hub's trust list is not signed by a hub key it lists")
            known[_kid_of(document)] = _key(signer)
        try:
            verify_document(document, known)
        except BadDocument:
            if self.region != NATIONAL:
                raise LogProblem("the hub's trust list does not verify with its keys") from None
            return known  # the head is checked against the keys trusted already
        for kid, entry in listed.items():
            known.setdefault(kid, _key(entry))
        if self.region == NATIONAL:
            return known
        return {kid: _key(entry) for kid, entry in regional.items()}

    def _consistent(self, state: AuditState, size: int, root: bytes) -> None:
        seen = state.tree_size
        if size < seen:
            raise LogProblem(
                f"fork: the hub's head has {size} entries, fewer than the {seen} seen before"
            )
        if size == seen:
            if root != state.root_hash:
                raise LogProblem(f"fork: two different roots for the same {size} entries")
            return
        proof = self.node.get_json(
            "/v1/log/proof/consistency", params={"first": seen, "second": size}, anonymous=True
        )
        try:
            path = [base64.b64decode(p, validate=True) for p in proof["consistency_path"]]
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise LogProblem("the hub's consistency proof is malformed") from None
        if not verify_consistency(seen, size, state.root_hash, root, path):
            raise LogProblem(
                f"fork: the log of {size} entries is not an extension of the {seen} seen "
                "before (an earlier entry changed)"
            )

    def _entries(self, start: int, size: int) -> Any:
        """(index, bytes) of entries start ≤ index < size, as served, in order."""
        index = start
        while index < size:
            try:
                page = self.node.get_json(
                    "/v1/log/entries",
                    params={"start": index, "end": min(size, index + PAGE)},
                    anonymous=True,
                )
            except NotFound:
                page = None
            items = page.get("entries") if isinstance(page, dict) else None
            if not items:
                raise LogProblem(f"entry {index} is missing: the hub's head has {size}")
            for item in items:
                try:
                    served = int(item["index"])
                    raw = base64.b64decode(item["leaf_input"], validate=True)
                except (KeyError, TypeError, ValueError, binascii.Error):
                    raise LogProblem(f"entry {index} is malformed") from None
                if served != index:
                    raise LogProblem(f"entry {index} is missing: the hub served {served} next")
                yield index, raw
                index += 1
                if index == size:
                    break

    def _locate(self, start: int, size: int, root: bytes) -> str:
        """The readable line for entries that do not reach the signed root: the first one whose
        inclusion proof fails, where it can be found."""
        for index, entry in self._entries(start, min(size, start + LOCATE_AT_MOST)):
            try:
                proof = self.node.get_json(
                    "/v1/log/proof/inclusion",
                    params={"index": index, "size": size},
                    anonymous=True,
                )
                path = [base64.b64decode(p, validate=True) for p in proof["inclusion_path"]]
            except (YimatongError, KeyError, TypeError, ValueError, binascii.Error):
                break
            if not verify_inclusion(index, size, leaf_hash(entry), path, root):
                return f"entry {index} as served is not the one the signed head covers (altered)"
        return (
            f"entries {start} to {size - 1} as served do not hash to the signed root: "
            "an entry is missing or altered"
        )


def _kid_of(document: Any) -> bytes:
    try:
        return bytes.fromhex(document["signature"]["kid"])
    except (KeyError, TypeError, ValueError):
        raise LogProblem("the hub's document is not a signed document") from None


def _key(entry: Mapping[str, Any]) -> VerifyingKey:
    try:
        return load_verifying_key(base64.b64decode(entry["public_key"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise LogProblem("the hub's trust list holds a malformed key") from None
