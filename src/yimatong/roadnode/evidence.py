"""What a department checks of a finding (docs/road.md, "Shared evidence"), from outside the
node: ``check_finding(head, key, entry, proof, finding)`` returns the problems (none: it holds).

1. The signed tree head verifies under the road node's key (pinned by the department).
2. The finding's log entry is in that tree: its leaf hash and the RFC 9162 inclusion path lead
   to the head's root.
3. The entry says what the finding says: the same cell, type, level, confirmation time and
   evidence digest.
4. The evidence holds: each observation's digest is the SHA-256 of its signed bytes (its
   payload's RFC 8785 form after ``ymt-road-obs/1``), and the evidence digest is the SHA-256
   of their sorted digests.

So a finding, its observations or its log entry changed after the fact fails here.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from yimatong.adapters.crypto import VerifyingKey
from yimatong.adapters.signed import BadDocument, verify_document
from yimatong.domain.errors import InvalidInput
from yimatong.domain.merkle import leaf_hash, verify_inclusion
from yimatong.road.observations import Bump, Observation
from yimatong.roadnode.service import evidence_digest

__all__ = ["check_finding"]

#: What the log entry and the finding must agree on.
_SAME = ("cell", "defect", "confirmed_at", "evidence")


def check_finding(
    head: Mapping[str, Any],
    key: VerifyingKey,
    entry: Mapping[str, Any],
    proof: Mapping[str, Any],
    finding: Mapping[str, Any],
) -> list[str]:
    """The problems with ``finding`` (as ``GET /v1/road/findings`` gives it), given the node's
    head (``/v1/log/sth``), the entry at its ``log_index`` (one of ``/v1/log/entries``) and
    the inclusion proof of that index in the head's tree (``/v1/log/proof/inclusion``)."""
    problems = []
    try:
        payload = verify_document(head, {key.kid: key})
    except BadDocument as exc:  # UntrustedDocument is one
        return [f"the tree head does not verify: {exc}"]
    size, root = int(payload["tree_size"]), base64.b64decode(payload["root_hash"])
    index = finding.get("log_index")
    if index is None or entry.get("index") != index or proof.get("leaf_index") != index:
        return ["the finding has no log entry, or the entry or proof is for another index"]
    raw = base64.b64decode(str(entry["leaf_input"]))
    path = [base64.b64decode(h) for h in proof.get("inclusion_path", [])]
    if proof.get("tree_size") != size or not verify_inclusion(
        index, size, leaf_hash(raw), path, root
    ):
        problems.append(f"log entry {index} is not in the signed tree of {size} entries")
    logged = entry.get("entry", {})
    if logged.get("kind") not in ("road.finding.confirmed", "road.finding.worsened"):
        problems.append(f"log entry {index} is not a finding")
    for name in _SAME:
        if logged.get(name) != finding.get(name):
            problems.append(f"the finding's {name} differs from its log entry's")
    digests = []
    for obs in finding.get("evidence_observations", []):
        try:
            data = obs["payload"]
            item = (
                Bump.from_payload(data)
                if data.get("kind") == "bump"
                else Observation.from_payload(data)
            )
        except (InvalidInput, KeyError, TypeError, AttributeError):
            problems.append("an observation of the evidence is malformed")
            continue
        digest = hashlib.sha256(item.signing_bytes()).digest()
        if digest.hex() != obs.get("digest"):
            problems.append(f"observation {item.device_id}/{item.seq} differs from its digest")
        digests.append(digest)
    if evidence_digest(digests).hex() != finding.get("evidence"):
        problems.append("the observations shown are not the evidence the log holds")
    return problems
