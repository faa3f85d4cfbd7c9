"""Laboratories and the national registry of nucleic-acid results (核酸检测结果).

A lab is registered by the hub's administrator with its public key and receives a credential
(role ``lab``, scope = its lab id). It uploads results in signed batches: the signature, by
the lab's own key, is over ``adapters.messages.batch_message``: the canonical JSON of
``{"lab_id", "batch_id", "results"}`` exactly as sent, so a result carries the lab's word,
not just the word of whoever held its token.

A batch is taken once (``uploads``, keyed by ``batch_id``): a repeat is acknowledged as a
duplicate and nothing is stored twice, so a lab can retry after a timeout without thinking.
Rows are checked before anything is stored (a result reported before its sample was taken, in
the future or over a year old, is refused naming its first bad row), each once: a plain batch
is cleared column by column, with each distinct time text and each ID number's area code and
birth date read once and the pseudonym HMAC keyed once per batch, and any row in doubt is
checked the general way. The rows then go to the feed through the driver's bulk path
(``hub.data.copy_feed``: COPY on PostgreSQL, the sqlite3 cursor's executemany on SQLite) in
the transaction that records the batch, and are counted for the dashboards once per outcome.

An ID number in a row is used only to compute the subject's ``sid`` and is never stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import operator
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from yimatong.adapters.crypto import load_verifying_key
from yimatong.adapters.db.tables import labs, uploads
from yimatong.adapters.db.tallies import Key, feed_tally
from yimatong.adapters.messages import batch_message
from yimatong.adapters.signed import canonical
from yimatong.credentials import Caller, add_credential, require_role
from yimatong.domain.edge import BadValue, EventTimes, check_text
from yimatong.domain.errors import Conflict, Forbidden, InvalidInput
from yimatong.domain.identity import DocumentChecks, Pseudonyms
from yimatong.domain.regions import default_divisions
from yimatong.hub import translog
from yimatong.hub.context import HubContext
from yimatong.hub.data import copy_feed, record_batch, resolve_sid
from yimatong.hub.signed_batches import SignerKeys, batch_id_of, signature_of, verified

__all__ = ["LAB_ID", "MAX_RESULTS", "OUTCOMES", "Labs"]

MAX_RESULTS = 20_000
OUTCOMES = ("negative", "positive")
_OUTCOME_SET = frozenset(OUTCOMES)
_TIME: Any = operator.itemgetter(0)  # the time of EventTimes' (time, text)
LAB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_ROW_KEYS = frozenset({"subject", "id_type", "id_number", "sampled_at", "reported_at", "result"})


class Labs:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.retention = timedelta(days=ctx.settings.retention_days)
        self._signers = SignerKeys(ctx.db, labs, "lab_id", "lab")

    # ---------------------------------------------------------------- registry
    def register(
        self, caller: Caller, *, lab_id: str, name: str, region: str, public_key: str
    ) -> dict[str, Any]:
        """POST /v1/labs (hub admin): register a lab and return its credential, once."""
        require_role(caller, "admin")
        if not LAB_ID.fullmatch(lab_id):
            raise InvalidInput("lab_id is 1 to 32 letters, digits, '.', '_' or '-'", field="lab_id")
        check_text(name, "name")
        if len(region) != 6:
            raise InvalidInput("region must be a six-digit region code", field="region")
        try:
            default_divisions().validate_area(region)
        except InvalidInput as exc:
            raise type(exc)(exc.message, field="region") from None
        try:
            key = load_verifying_key(base64.b64decode(public_key, validate=True))
        except (ValueError, TypeError):
            raise InvalidInput(
                "public_key must be a base64 DER SubjectPublicKeyInfo", field="public_key"
            ) from None
        now = self.ctx.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            if conn.execute(select(labs.c.lab_id).where(labs.c.lab_id == lab_id)).first():
                raise Conflict(f"lab {lab_id} is registered already")
            conn.execute(
                insert(labs).values(
                    lab_id=lab_id,
                    name=name,
                    region=region,
                    kid=key.kid,
                    alg=key.alg.value,
                    public_der=key.spki_der(),
                    status="active",
                    created_at=now,
                )
            )
            token = add_credential(
                conn, name=f"lab-{lab_id}", role="lab", now=now, rng=self.ctx.rng, scope=lab_id
            )
            translog.append(
                conn,
                "lab.registered",
                now,
                by=translog.actor(caller),
                lab_id=lab_id,
                name=name,
                region=region,
                kid=key.kid.hex(),
                alg=key.alg.value,
            )
            uow.commit()
        return {
            "lab_id": lab_id,
            "name": name,
            "region": region,
            "kid": key.kid.hex(),
            "credential": token,
        }

    def registered(self, caller: Caller) -> list[dict[str, Any]]:
        """GET /v1/labs (hub admin): every registered lab, by id, with its key's kid."""
        require_role(caller, "admin")
        with self.db.read() as conn:
            rows = conn.execute(select(labs).order_by(labs.c.lab_id)).all()
        return [
            {
                "lab_id": r.lab_id,
                "name": r.name,
                "region": r.region,
                "kid": r.kid.hex(),
                "alg": r.alg,
                "status": r.status,
                "created_at": r.created_at,
            }
            for r in rows
        ]

    # ------------------------------------------------------------------ upload
    def upload(self, caller: Caller, body: Any) -> dict[str, Any]:
        """POST /v1/test-results: one signed batch of up to 20,000 results."""
        require_role(caller, "lab")
        lab_id, batch_id, results, signature = self._envelope(body)
        if caller.scope != lab_id:
            raise Forbidden("this credential belongs to another lab")
        lab, key = self._signers.get(lab_id)
        verified(
            key,
            signature,
            lambda: batch_message(lab_id, batch_id, results),
            rows="results",
            signer="lab",
        )
        with self.db.read() as conn:  # a retry after a timeout: answer it before any work
            seen = conn.execute(select(uploads.c.lab_id).where(uploads.c.batch_id == batch_id))
            repeat = seen.first() is not None
        if repeat:
            return self._duplicate(lab_id, batch_id)

        now = self.ctx.clock()
        checked = _Rows(self.ctx.federation_secret, now, lab, lab_id).check(results)
        with self.db.uow() as uow:
            try:
                # First, and a write: a concurrent copy of this batch waits here, then fails.
                uow.conn.execute(
                    insert(uploads).values(
                        batch_id=batch_id,
                        lab_id=lab_id,
                        rows=len(checked.sids),
                        first_seq=None,
                        received_at=now,
                    )
                )
            except IntegrityError:
                uow.conn.rollback()
                return self._duplicate(lab_id, batch_id)
            first, last = copy_feed(
                uow.conn,
                kind="test",
                region=lab.region,
                sids=checked.sids,
                bodies=checked.bodies,
                created_at=now,
                expires_at=now + self.retention,
                counts=checked.counts,
            )
            uow.conn.execute(
                uploads.update().where(uploads.c.batch_id == batch_id).values(first_seq=first)
            )
            index = translog.append(
                uow.conn,
                "results.batch",
                now,
                by=translog.actor(caller),
                lab_id=lab_id,
                batch_id=batch_id,
                rows=len(checked.sids),
                first_seq=first,
                last_seq=last,
                sha256=checked.digest,
            )
            record_batch(uow.conn, first, last, index, "results.batch", now)
            uow.commit()
        return {
            "batch_id": batch_id,
            "accepted": len(checked.sids),
            "duplicate": False,
            "first_seq": first,
            "last_seq": last,
        }

    # ----------------------------------------------------------------- helpers
    def _duplicate(self, lab_id: str, batch_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            row = conn.execute(select(uploads).where(uploads.c.batch_id == batch_id)).one()
        if row.lab_id != lab_id:
            raise Conflict(f"batch_id {batch_id} was used by another lab; choose another")
        return {"batch_id": batch_id, "accepted": row.rows, "duplicate": True}

    @staticmethod
    def _envelope(body: Any) -> tuple[str, str, list[Any], bytes]:
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object")
        unknown = body.keys() - {"lab_id", "batch_id", "results", "signature"}
        if unknown:
            raise InvalidInput(f"unknown fields {', '.join(sorted(unknown))}")
        lab_id = body.get("lab_id")
        if not isinstance(lab_id, str) or not LAB_ID.fullmatch(lab_id):
            raise InvalidInput("lab_id is missing or malformed", field="lab_id")
        batch_id = batch_id_of(body)
        results = body.get("results")
        if not isinstance(results, list) or not results:
            raise InvalidInput("results must be a non-empty list", field="results")
        if len(results) > MAX_RESULTS:
            raise InvalidInput(f"at most {MAX_RESULTS} results in one batch", field="results")
        return lab_id, batch_id, results, signature_of(body)


@dataclass(slots=True)
class _Checked:
    """A batch's rows as the feed takes them: sids, body texts, and the tally counts."""

    sids: list[str]
    bodies: list[str]
    counts: dict[Key, int]
    #: the transparency log's digest of the rows (``translog.batch_digest``)
    digest: str


class _Rows:
    """The checks of a batch's rows, each row checked once and in order.

    Every row passes the same checks as ever, with the first bad one refused by its index;
    what repeats within a batch is done once: a time text is parsed once
    (``domain.edge.EventTimes``), a resident ID's area and birth date are looked up once
    (``domain.identity.DocumentChecks``), the HMAC of the pseudonyms is keyed once
    (``Pseudonyms``), the body's constant part is serialised once, and the tallies are
    counted per outcome.
    """

    def __init__(self, secret: bytes, now: datetime, lab: Any, lab_id: str) -> None:
        self.now = now
        self.times = EventTimes(now)
        self.documents = DocumentChecks(now.date())
        self.pseudonyms = Pseudonyms(secret)
        common = {"lab": lab.name, "lab_id": lab_id, "lab_region": lab.region}
        # The body's JSON text as the column's serializer (json.dumps) writes the whole dict
        # {"sampled_at", "reported_at", "outcome", **common}: the times are isoformat() and
        # the outcome one of OUTCOMES, none of which json.dumps escapes.
        self._tail = ", " + json.dumps(common)[1:]
        # The same body's RFC 8785 form up to its outcome (keys sorted: lab, lab_id,
        # lab_region, outcome, reported_at, sampled_at), for the transparency log's digest.
        self._canonical_head = canonical(common)[:-1].decode() + ',"outcome":"'
        self._tally = {
            outcome: feed_tally(
                {
                    "kind": "test",
                    "region": lab.region,
                    "body": {"lab_id": lab_id, "outcome": outcome},
                    "created_at": now,
                }
            )
            for outcome in OUTCOMES
        }

    def check(self, results: list[Any]) -> _Checked:
        """The rows as the feed takes them; InvalidInput naming the first bad row.

        The plain batch (objects with known fields only, the usual times, resident ID numbers
        as machines write them) is read column by column; a row that any of that leaves in
        doubt goes through :meth:`_row`, the general checks, in order, so that the first bad
        row is the one refused, with the reason it always had.
        """
        size = len(results)
        sids: list[Any] = [None] * size
        reports: list[Any] = [None] * size
        samples: list[Any] = [None] * size
        outcomes: list[Any] = [None] * size
        clean = False
        # One pass in C over the whole batch: all objects, no unknown field in any of them.
        if set(map(type, results)) == {dict} and set().union(*results) <= _ROW_KEYS:
            reports = self.times.known([r.get("reported_at") for r in results])
            samples = self.times.known([r.get("sampled_at") for r in results])
            outcomes = [r.get("result") for r in results]
            resident, sid_of = self.documents.resident, self.pseudonyms.resident
            sids = [
                sid_of(number) if (number := resident(r.get("id_number"))) is not None else None
                for r in results
                if r.get("id_type") == "111" and r.get("subject") is None
            ]
            # Whether every row passed, each check over a whole column (in C where it can be).
            clean = (
                len(sids) == size
                and None not in sids
                and None not in reports
                and None not in samples
                and set(map(type, outcomes)) == {str}
                and set(outcomes) <= _OUTCOME_SET
                and all(map(operator.ge, map(_TIME, reports), map(_TIME, samples)))
            )
            if len(sids) != size:
                sids = [None] * size  # a row of another shape: each row the general way
        if not clean:
            for i, (sid, rep, smp, out) in enumerate(
                zip(sids, reports, samples, outcomes, strict=True)
            ):
                if (
                    sid is None
                    or rep is None
                    or smp is None
                    or rep[0] < smp[0]
                    or out not in OUTCOMES  # a tuple: a value that is not hashable is refused
                ):
                    sids[i], reports[i], samples[i], outcomes[i] = self._row(i, results[i])
        per_outcome = Counter(outcomes)
        tail = self._tail
        bodies = [
            f'{{"sampled_at": "{smp[1]}", "reported_at": "{rep[1]}", "outcome": "{out}"{tail}'
            for smp, rep, out in zip(samples, reports, outcomes, strict=True)
        ]
        counts: dict[Key, int] = {}
        for outcome, n in per_outcome.items():
            key = self._tally[outcome]
            if n and key is not None:
                counts[key] = counts.get(key, 0) + n
        # translog.batch_digest of [sid, "test", body] per row, written straight as the RFC 8785
        # text: sids are hex, times isoformat() and outcomes plain words, none of which JCS
        # escapes (test_translog recomputes it from the feed rows).
        head = self._canonical_head
        canonical_rows = ",".join(
            f'["{sid}","test",{head}{out}","reported_at":"{rep[1]}","sampled_at":"{smp[1]}"}}]'
            for sid, smp, rep, out in zip(sids, samples, reports, outcomes, strict=True)
        )
        digest = hashlib.sha256(f"[{canonical_rows}]".encode()).hexdigest()
        return _Checked(sids, bodies, counts, digest)

    def _row(self, i: int, row: Any) -> tuple[str, tuple[datetime, str], tuple[datetime, str], str]:
        """One row by the general checks, in their order; InvalidInput naming the row."""
        where = f"results[{i}]"
        _shape(where, row)
        try:
            reported = self.times.timed(row.get("reported_at"), "reported_at")
            sampled = self.times.timed(row.get("sampled_at"), "sampled_at")
        except BadValue as exc:
            raise InvalidInput(f"{where}: {exc.message}", field=f"{where}.{exc.field}") from None
        if reported[0] < sampled[0]:
            raise InvalidInput(
                f"{where}: reported_at is before sampled_at", field=f"{where}.reported_at"
            )
        outcome = row.get("result")
        if outcome not in OUTCOMES:
            raise InvalidInput(
                f"{where}: result must be negative or positive", field=f"{where}.result"
            )
        sid = resolve_sid(
            self.pseudonyms,
            self.documents,
            subject=_str_or_none(row.get("subject"), where, "subject"),
            id_type=_str_or_none(row.get("id_type"), where, "id_type"),
            id_number=_str_or_none(row.get("id_number"), where, "id_number"),
            where=where,
        )
        return sid, reported, sampled, outcome


def _shape(where: str, row: Any) -> None:
    """A row is an object with only the known fields; InvalidInput naming it otherwise."""
    if not isinstance(row, dict):
        raise InvalidInput(f"{where} must be an object", field=where)
    unknown = row.keys() - _ROW_KEYS
    if unknown:
        # a stray "name" or "phone" column must not travel further than this
        raise InvalidInput(f"{where}: unknown fields {', '.join(sorted(unknown))}", field=where)


def _str_or_none(value: Any, where: str, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(f"{where}: {name} must be a string", field=f"{where}.{name}")
