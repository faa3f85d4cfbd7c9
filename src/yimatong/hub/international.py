"""International trust at the hub: EU DCC document signers and SMART Health Card issuers.

The hub administrator imports the EU gateway's DSC list (``PUT /v1/international-trust/dcc``,
``yimatong trust import-dcc FILE [--csca CSCA_FILE]``; given the gateway's CSCAs in the same
list, each DSC must chain to its country's CSCA, or is refused alone) and a VCI directory snapshot
(``PUT /v1/international-trust/shc``, ``yimatong trust import-shc FILE``) with the issuers' Card
Revocation Lists it carries, and the EU gateway's DCC revocation batches
(``PUT /v1/international-trust/dcc-revocation``, ``yimatong trust import-dcc-revocation FILE``);
each import replaces that family whole (a trust list is a snapshot: a DSC the gateway dropped
must stop verifying). ``GET /v1/international-trust`` serves all three as one document signed
by the hub's list key, like the trust list, with an ETag; checkpoints cache it and verify
``HC1:`` and ``shc:/`` codes offline against it (``verifier/lists.build_international``; the
page reads the members ``hub/dsc_summary`` adds to each DSC instead of the DER).
Revocations travel inside the same document, not beside it: a batch names the kids of the DSC
list it goes with, one signed document keeps the two consistent on every device, and the
checkpoint's cache, ETag and refresh stay one. Payload::

    {"type": "international-trust", "version": n, "since": 0, "issued_at": RFC 3339,
     "dcc": [{"kid": hex, "country": "AT", "certificate": base64 DER,
              "key_type", "public_key", "not_before", "not_after", "usages"}, ...],
     "dcc_revocation": [{"batch": id, "country": "AT", "kid": hex | null, "hash_type":
                         "UCI" | "COUNTRYCODEUCI" | "SIGNATURE", "expires": RFC 3339,
                         "hashes": [base64 of 16 bytes, ...]}, ...],
     "shc": [{"iss": URL, "name": text, "keys": [JWK, ...],
              "crls": [{"kid", "method": "rid", "rids": [...]}, ...]}, ...]}

A revocation batch already expired when the document is signed is left out of it.

Every import is an entry of the transparency log (how many entries, and the SHA-256 of the
canonical list), so what a checkpoint was told to trust, and when, can be shown afterwards.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, select

from yimatong.adapters.db.counters import current_value, next_value
from yimatong.adapters.db.tables import international_trust
from yimatong.adapters.signed import canonical, sign_document
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import InvalidInput
from yimatong.hub import translog
from yimatong.hub.context import HubContext
from yimatong.hub.dsc_summary import dsc_summary
from yimatong.verifier.trustlists import (
    TrustListError,
    check_dsc_chains,
    parse_gateway_cscas,
    parse_gateway_dscs,
    parse_gateway_revocation,
    parse_vci_directory,
)

__all__ = ["InternationalTrust"]


def _shc_row(iss: str, name: str, data: str) -> dict[str, Any]:
    stored = orjson.loads(data)
    if isinstance(stored, list):  # imported before CRLs were kept: the keys alone
        stored = {"keys": stored, "crls": []}
    return {"iss": iss, "name": name, "keys": stored["keys"], "crls": stored["crls"]}


_COUNTER = "international"
#: the family of the DCC revocation batches (key: batch id, label: country, data: JSON)
_REVOCATION = "dcr"


class InternationalTrust:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx

    @staticmethod
    def require_admin(caller: Caller) -> None:
        require_role(caller, "admin")

    def import_dcc(self, caller: Caller, document: Any) -> dict[str, Any]:
        require_role(caller, "admin")
        try:
            entries = parse_gateway_dscs(document)
        except TrustListError as exc:
            raise InvalidInput(f"not a DSC list of the EU gateway's format: {exc}") from None
        cscas, refused = parse_gateway_cscas(document)
        if cscas:  # given CSCAs, a DSC must chain to its country's
            given = len(entries)
            entries, unchained = check_dsc_chains(entries, cscas)
            refused += unchained
            if given and not entries:  # the trust in place is kept: this is no feed of theirs
                raise InvalidInput(f"no DSC chains to a CSCA given: {unchained[0]}")
        rows = [
            {"key": e.kid.hex(), "label": e.country, "data": base64.b64encode(e.der).decode()}
            for e in entries
        ]
        result = self._replace(caller, "dcc", rows)
        result["cscas"] = len(cscas)
        result["refused"] = refused
        return result

    def import_shc(self, caller: Caller, document: Any) -> dict[str, Any]:
        require_role(caller, "admin")
        try:
            issuers = parse_vci_directory(document)
        except TrustListError as exc:
            raise InvalidInput(f"not a VCI directory: {exc}") from None
        rows = [
            {
                "key": i.iss,
                "label": i.name,
                "data": orjson.dumps({"keys": list(i.keys), "crls": list(i.crls)}).decode(),
            }
            for i in issuers
        ]
        return self._replace(caller, "shc", rows)

    def import_dcc_revocation(self, caller: Caller, document: Any) -> dict[str, Any]:
        """Replace the DCC revocation batches; a bad batch is refused with its reason in
        ``refused`` and the others are imported."""
        require_role(caller, "admin")
        try:
            batches, refused = parse_gateway_revocation(document, self.ctx.clock())
        except TrustListError as exc:
            raise InvalidInput(f"not a revocation list of the EU gateway's format: {exc}") from None
        rows = [
            {
                "key": b.batch_id,
                "label": b.country,
                "data": orjson.dumps(
                    {
                        "kid": None if b.kid is None else b.kid.hex(),
                        "hash_type": b.hash_type,
                        "expires": b.expires.isoformat(),
                        "hashes": [base64.b64encode(h).decode() for h in b.hashes],
                    }
                ).decode(),
            }
            for b in batches
        ]
        result = self._replace(caller, _REVOCATION, rows)
        result["hashes"] = sum(len(b.hashes) for b in batches)
        result["refused"] = refused
        return result

    def _replace(self, caller: Caller, family: str, rows: list[dict[str, str]]) -> dict[str, Any]:
        now = self.ctx.clock()
        digest = hashlib.sha256(canonical(rows)).hexdigest()
        with self.ctx.db.uow() as uow:
            conn = uow.conn
            version = next_value(conn, _COUNTER)
            conn.execute(delete(international_trust).where(international_trust.c.family == family))
            if rows:
                conn.execute(
                    insert(international_trust),
                    [{**r, "family": family, "version": version, "imported_at": now} for r in rows],
                )
            translog.append(
                conn,
                f"international.{family}",
                now,
                by=translog.actor(caller),
                version=version,
                entries=len(rows),
                sha256=digest,
            )
            uow.commit()
        return {"family": family, "version": version, "entries": len(rows), "sha256": digest}

    def version(self) -> int:
        with self.ctx.db.read() as conn:
            return current_value(conn, _COUNTER)

    def signed(self) -> tuple[int, dict[str, Any]]:
        with self.ctx.db.read() as conn:
            version = current_value(conn, _COUNTER)
            rows = conn.execute(
                select(international_trust).order_by(
                    international_trust.c.family, international_trust.c.key
                )
            ).all()
        now = self.ctx.clock()
        revocation = []
        for r in rows:
            if r.family == _REVOCATION:
                batch = orjson.loads(r.data)
                if datetime.fromisoformat(batch["expires"]) > now:
                    revocation.append({"batch": r.key, "country": r.label, **batch})
        payload = {
            "type": "international-trust",
            "version": version,
            "since": 0,
            "issued_at": now.isoformat(),
            "dcc": [
                {
                    "kid": r.key,
                    "country": r.label,
                    "certificate": r.data,
                    **dsc_summary(r.data, r.key),
                }
                for r in rows
                if r.family == "dcc"
            ],
            "dcc_revocation": revocation,
            "shc": [_shc_row(r.key, r.label, r.data) for r in rows if r.family == "shc"],
        }
        return version, sign_document(payload, self.ctx.hub_key())
