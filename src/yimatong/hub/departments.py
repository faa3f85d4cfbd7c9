"""Departmental feeds at the hub: police identity checks, rail and aviation manifests, telecom
stays (docs/travel.md, docs/operations.md).

A department is registered by the hub's administrator like a lab (``hub.labs``): its kind
(``police``, ``rail``, ``aviation`` or ``telecom``), its region and its public key; it gets a
credential (role ``department``, scope = its id). It uploads records in signed batches
(``POST /v1/department-records``): the signature, by the department's own key, is over
``adapters.messages.department_batch_message``, the canonical JSON of ``{"department_id",
"batch_id", "kind", "records"}`` exactly as sent. The kind of a batch is the department's.

A batch is taken once (``department_batches``, keyed by ``batch_id``, with the SHA-256 of the
signed message): the same batch sent again changes nothing and gets the same answer (with
``"duplicate": true``); another body under the same id is a 409. Each row is checked on its
own: a bad row is reported in ``rejected`` with its index and a reason (which names fields,
never repeats a value) and the others are stored.

Personal data is never stored in clear. A document number is turned into the subject's
``sid`` (``Pseudonyms``, the federation-wide keyed hash every node uses) and dropped; a name
(police) and a phone (telecom) are kept only as a keyed index (HMAC-SHA256 under the
federation secret, with its own label), which says "the same name / phone" to whoever holds
the secret and nothing to anyone else. A telecom row links to its subject through the SIM's
real-name registration (实名制): it carries the holder's document (or sid) beside the phone,
because the link from a phone to a person lives at the issuer that holds it, under that
issuer's own key.

Each stored row of ``department_records`` keeps its provenance (department, batch, row; the
batch keeps the signature and its entry in the hub's transparency log) and its own
``expires_at``; the retention purge deletes it with the feed rows. The rows go in through the
driver's bulk path (``write_records``: COPY on PostgreSQL, executemany on SQLite) and, for the
issuers, into the feed the same way (``hub.data.copy_feed``): a manifest leg as two instants,
departure and arrival (``stay``, source ``rail``/``aviation``), a telecom stay as one stay with
its two times (source ``telecom``), an identity check as ``identity`` (match or not, never the
name).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from yimatong.adapters.crypto import VerifyingKey, load_verifying_key
from yimatong.adapters.db.tables import department_batches, department_records, departments
from yimatong.adapters.messages import department_batch_message
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

__all__ = [
    "DEPARTMENT_KINDS",
    "MAX_RECORDS",
    "RECORD_KIND",
    "Departments",
    "keyed_index",
    "seat_row",
    "write_records",
]

#: Most records in one signed batch (tens of thousands per request).
MAX_RECORDS = 20_000
DEPARTMENT_KINDS = ("police", "rail", "aviation", "telecom")
#: The kind of record each kind of department sends.
RECORD_KIND = {"police": "identity", "rail": "rail", "aviation": "aviation", "telecom": "telecom"}
DEPARTMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_TRIP = re.compile(r"[A-Z0-9]{2,8}")  # G1234, D301, CA1501, MU5101
_CARRIAGE = re.compile(r"[0-9A-Z]{1,4}")
_SEAT = re.compile(r"([0-9]{1,3})([A-Z]{0,2})")  # 12F, 05A, 3; the digits are the row
_PHONE = re.compile(r"1[3-9][0-9]{9}")

_SUBJECT = ("subject", "id_type", "id_number")
_FIELDS = {
    "identity": frozenset({*_SUBJECT, "name", "match", "checked_at"}),
    "rail": frozenset(
        {*_SUBJECT, "trip", "date", "from", "to", "departs_at", "arrives_at", "carriage", "seat"}
    ),
    "telecom": frozenset({*_SUBJECT, "phone", "city", "from", "to"}),
}
_FIELDS["aviation"] = _FIELDS["rail"]


def keyed_index(secret: bytes, label: str, value: str) -> bytes:
    """A blind index of ``value`` (a name, a phone): HMAC-SHA256 under the federation secret
    with its own label, of the NFKC form without spaces. Equal values give equal indexes;
    without the secret nothing can be learnt or checked from it."""
    text = "".join(unicodedata.normalize("NFKC", value).split())
    return hmac.new(secret, label.encode() + b"\x00" + text.encode(), "sha256").digest()


def seat_row(seat: str | None) -> int | None:
    """The row of a seat as a manifest writes it (``12F`` → 12); None without one."""
    if not seat:
        return None
    found = _SEAT.fullmatch(seat)
    return int(found.group(1)) if found else None


class _Refused(ValueError):
    """One row refused; the message names fields only."""


class KeyedIndex:
    """:func:`keyed_index` under one secret and label for the many values of a batch: the
    HMAC is keyed once (its label already fed) and each value costs a copy and its bytes."""

    __slots__ = ("_base",)

    def __init__(self, secret: bytes, label: str) -> None:
        self._base = hmac.new(secret, label.encode() + b"\x00", "sha256")

    def __call__(self, value: str) -> bytes:
        # NFKC leaves ASCII as it is
        text = value if value.isascii() else unicodedata.normalize("NFKC", value)
        mac = self._base.copy()
        mac.update("".join(text.split()).encode())
        return mac.digest()


_RECORD_COLUMNS = tuple(c.name for c in department_records.columns if c.name != "id")
# The order of a record's values, as _Rows writes them (a list, one per column).
assert _RECORD_COLUMNS == (  # the literals in _Rows follow this order
    "sid", "kind", "department_id", "batch_id", "row", "feed_seq", "matched", "name_index",
    "phone_index", "trip", "carriage", "seat", "seat_row", "from_area", "area", "starts_at",
    "ends_at", "created_at", "expires_at",
)  # fmt: skip
_FEED_SEQ = _RECORD_COLUMNS.index("feed_seq")


@dataclass(slots=True)
class _Batch:
    """A batch's rows as stored: the records, the feed rows, and the rows refused."""

    #: each record's values in the order of ``_RECORD_COLUMNS`` (``feed_seq`` set on storing)
    records: list[list[Any]] = field(default_factory=list)
    feed_sids: list[str] = field(default_factory=list)
    feed_bodies: list[str] = field(default_factory=list)
    #: each feed row's ``[sid, kind, body]`` in RFC 8785 text, for the log's digest
    feed_canonical: list[str] = field(default_factory=list)
    #: the index of each record's first feed row in ``feed_sids``
    feed_index: list[int] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def digest(self) -> str:
        """``translog.batch_digest`` of the feed rows ``[sid, kind, body]``."""
        return hashlib.sha256(f"[{','.join(self.feed_canonical)}]".encode()).hexdigest()


class Departments:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.retention = timedelta(days=ctx.settings.retention_days)
        self._signers = SignerKeys(ctx.db, departments, "department_id", "department")

    # ---------------------------------------------------------------- registry
    def register(
        self,
        caller: Caller,
        *,
        department_id: str,
        kind: str,
        name: str,
        region: str,
        public_key: str,
    ) -> dict[str, Any]:
        """POST /v1/departments (hub admin): register a department; its credential, once."""
        require_role(caller, "admin")
        if not DEPARTMENT_ID.fullmatch(department_id):
            raise InvalidInput(
                "department_id is 1 to 32 letters, digits, '.', '_' or '-'", field="department_id"
            )
        if kind not in DEPARTMENT_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(DEPARTMENT_KINDS)}", field="kind")
        check_text(name, "name")
        try:
            default_divisions().validate_area(region)
        except InvalidInput as exc:
            raise type(exc)(exc.message, field="region") from None
        if len(region) != 6:
            raise InvalidInput("region must be a six-digit region code", field="region")
        try:
            key = load_verifying_key(base64.b64decode(public_key, validate=True))
        except (ValueError, TypeError):
            raise InvalidInput(
                "public_key must be a base64 DER SubjectPublicKeyInfo", field="public_key"
            ) from None
        now = self.ctx.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            known = select(departments.c.department_id).where(
                departments.c.department_id == department_id
            )
            if conn.execute(known).first():
                raise Conflict(f"department {department_id} is registered already")
            conn.execute(
                insert(departments).values(
                    department_id=department_id,
                    kind=kind,
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
                conn,
                name=f"department-{department_id}",
                role="department",
                now=now,
                rng=self.ctx.rng,
                scope=department_id,
            )
            translog.append(
                conn,
                "department.registered",
                now,
                by=translog.actor(caller),
                department_id=department_id,
                department_kind=kind,
                name=name,
                region=region,
                kid=key.kid.hex(),
                alg=key.alg.value,
            )
            uow.commit()
        return {
            "department_id": department_id,
            "kind": kind,
            "name": name,
            "region": region,
            "kid": key.kid.hex(),
            "credential": token,
        }

    def registered(self, caller: Caller) -> list[dict[str, Any]]:
        """GET /v1/departments (hub admin): every registered department with its key's kid."""
        require_role(caller, "admin")
        with self.db.read() as conn:
            rows = conn.execute(select(departments).order_by(departments.c.department_id)).all()
        return [
            {
                "department_id": r.department_id,
                "kind": r.kind,
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
        """POST /v1/department-records: one signed batch of up to MAX_RECORDS records."""
        require_role(caller, "department")
        department_id, batch_id, kind, records, signature = _envelope(body)
        if caller.scope != department_id:
            raise Forbidden("this credential belongs to another department")
        dept, key = self._department(department_id)
        if RECORD_KIND[dept.kind] != kind:
            raise InvalidInput(
                f"a {dept.kind} department sends {RECORD_KIND[dept.kind]} records", field="kind"
            )
        message = verified(
            key,
            signature,
            lambda: department_batch_message(department_id, batch_id, kind, records),
            rows="records",
            signer="department",
        )
        digest = hashlib.sha256(message).hexdigest()
        seen = self._seen(batch_id, department_id, digest)
        if seen is not None:
            return seen

        now = self.ctx.clock()
        expires = now + self.retention
        checked = _Rows(self.ctx.federation_secret, now, dept, batch_id, expires).check(
            kind, records
        )
        answer: dict[str, Any] = {
            "batch_id": batch_id,
            "kind": kind,
            "rows": len(records),
            "accepted": len(checked.records),
            "rejected": checked.rejected,
            "duplicate": False,
            "first_seq": None,
            "last_seq": None,
        }
        with self.db.uow() as uow:
            conn = uow.conn
            try:
                # First, and a write: a concurrent copy of this batch waits here, then fails.
                conn.execute(
                    insert(department_batches).values(
                        batch_id=batch_id,
                        department_id=department_id,
                        kind=kind,
                        sha256=digest,
                        signature=signature,
                        rows=len(records),
                        accepted=len(checked.records),
                        answer=answer,
                        received_at=now,
                        expires_at=expires,
                    )
                )
            except IntegrityError:
                conn.rollback()
                seen = self._seen(batch_id, department_id, digest)
                if seen is None:  # pragma: no cover - the row that conflicted is there
                    raise
                return seen
            if checked.records:
                first, last = copy_feed(
                    conn,
                    kind="identity" if kind == "identity" else "stay",
                    region=dept.region,
                    sids=checked.feed_sids,
                    bodies=checked.feed_bodies,
                    created_at=now,
                    expires_at=expires,
                    counts={},
                )
                for record, offset in zip(checked.records, checked.feed_index, strict=True):
                    record[_FEED_SEQ] = first + offset
                write_records(conn, checked.records)
                index = translog.append(
                    conn,
                    "department.batch",
                    now,
                    by=translog.actor(caller),
                    department_id=department_id,
                    batch_id=batch_id,
                    record_kind=kind,
                    rows=len(records),
                    accepted=len(checked.records),
                    rejected=len(checked.rejected),
                    first_seq=first,
                    last_seq=last,
                    sha256=checked.digest(),
                    signed=digest,
                )
                record_batch(conn, first, last, index, "department.batch", now)
                answer = {**answer, "first_seq": first, "last_seq": last}
                conn.execute(
                    department_batches.update()
                    .where(department_batches.c.batch_id == batch_id)
                    .values(answer=answer, first_seq=first, last_seq=last, log_index=index)
                )
            uow.commit()
        return answer

    # ----------------------------------------------------------------- helpers
    def _seen(self, batch_id: str, department_id: str, digest: str) -> dict[str, Any] | None:
        """The answer to a batch taken already, or None; Conflict if the id means another."""
        with self.db.read() as conn:
            row = conn.execute(
                select(
                    department_batches.c.department_id,
                    department_batches.c.sha256,
                    department_batches.c.answer,
                ).where(department_batches.c.batch_id == batch_id)
            ).first()
        if row is None:
            return None
        if row.department_id != department_id:
            raise Conflict(f"batch_id {batch_id} was used by another department; choose another")
        if row.sha256 != digest:
            raise Conflict(
                f"batch {batch_id} was taken with another body; a new body needs a new batch_id"
            )
        return {**row.answer, "duplicate": True}

    def _department(self, department_id: str) -> tuple[Any, VerifyingKey]:
        return self._signers.get(department_id)


def write_records(conn: Connection, records: list[list[Any]]) -> None:
    """Store ``records`` (each a list of values in the order of the table's columns, without
    ``id``) through the driver's bulk path on the connection's own transaction: ``COPY`` on
    PostgreSQL, the sqlite3 cursor's ``executemany`` on SQLite (as ``hub.data.copy_feed``).
    A column whose type converts values (the times; booleans on SQLite) is converted by its
    own bind processing, column by column, each distinct value once (a batch's rows share a
    few departure and arrival times); the lists are converted in place."""
    if not records:
        return
    dialect = conn.dialect
    for i, name in enumerate(_RECORD_COLUMNS):
        convert = department_records.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if convert is None:
            continue
        seen: dict[Any, Any] = {}
        for record in records:
            value = record[i]
            if value is None:
                continue
            found = seen.get(value)
            if found is None:
                found = seen[value] = convert(value)
            record[i] = found
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    columns = ", ".join(f'"{c}"' for c in _RECORD_COLUMNS)
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY {department_records.name} ({columns}) FROM STDIN") as copy:
                write = copy.write_row
                for record in records:
                    write(record)
        else:
            cursor.executemany(  # our own table and column names, nothing from the input
                f"INSERT INTO {department_records.name} ({columns}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(_RECORD_COLUMNS))})",
                records,
            )
    finally:
        cursor.close()


def _envelope(body: Any) -> tuple[str, str, str, list[Any], bytes]:
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    unknown = body.keys() - {"department_id", "batch_id", "kind", "records", "signature"}
    if unknown:
        raise InvalidInput(f"unknown fields {', '.join(sorted(unknown))}")
    department_id = body.get("department_id")
    if not isinstance(department_id, str) or not DEPARTMENT_ID.fullmatch(department_id):
        raise InvalidInput("department_id is missing or malformed", field="department_id")
    batch_id = batch_id_of(body)
    kind = body.get("kind")
    if kind not in _FIELDS:
        raise InvalidInput(f"kind must be one of {', '.join(sorted(_FIELDS))}", field="kind")
    records = body.get("records")
    if not isinstance(records, list) or not records:
        raise InvalidInput("records must be a non-empty list", field="records")
    if len(records) > MAX_RECORDS:
        raise InvalidInput(f"at most {MAX_RECORDS} records in one batch", field="records")
    return department_id, batch_id, str(kind), records, signature_of(body)


class _Rows:
    """The checks of a batch's rows, each on its own: the good ones become records.

    Every row passes the same checks as ever, a bad one reported by its index with the reason
    it always had; what repeats within a batch is done once. A manifest row of the usual shape
    (an object with known fields only, a resident ID number as machines write it, text fields)
    is read through caches keyed by its values: the leg of a trip (number, date, places and
    times) is checked once and its two feed bodies serialised once (as JSON for the feed, as
    RFC 8785 text for the log's digest), a carriage and seat once, an ID number's area code
    and birth date once (``domain.identity.DocumentChecks``), the pseudonym and the keyed
    indexes keyed once per batch (``Pseudonyms``, :class:`KeyedIndex`). A row that any of that
    leaves in doubt goes through the general checks (:meth:`_one`), in their order.
    """

    def __init__(
        self, secret: bytes, now: datetime, dept: Any, batch_id: str, expires: datetime
    ) -> None:
        self.now = now
        self.times = EventTimes(now)
        self.documents = DocumentChecks(now.date())
        self.pseudonyms = Pseudonyms(secret)
        self.names = KeyedIndex(secret, "name")
        self.phones = KeyedIndex(secret, "phone")
        self.divisions = default_divisions()
        self.dept = dept
        self.batch_id = batch_id
        self.expires = expires
        self._areas: dict[str, bool] = {}
        self._provenance = {"department": dept.department_id, "batch_id": batch_id}
        self._bodies: dict[str, tuple[str, str]] = {}  # a body's JSON -> (its JSON, its JCS)

    def check(self, kind: str, records: list[Any]) -> _Batch:
        out = _Batch()
        if kind in ("rail", "aviation"):
            self._manifests(kind, records, out)
        else:
            for i, row in enumerate(records):
                self._general(kind, i, row, out)
        return out

    def _general(self, kind: str, i: int, row: Any, out: _Batch) -> None:
        """Row ``i`` by the general checks: stored in ``out`` or reported there."""
        try:
            sid, record, feed = self._one(kind, row)
        except (_Refused, BadValue, InvalidInput) as exc:
            out.rejected.append({"row": i, "reason": str(getattr(exc, "message", exc))})
            return
        record[0:5] = (sid, kind, self.dept.department_id, self.batch_id, i)
        out.records.append(record)
        out.feed_index.append(len(out.feed_sids))
        feed_kind = "identity" if kind == "identity" else "stay"
        for body in feed:
            text, jcs = self._serialised(body)
            out.feed_sids.append(sid)
            out.feed_bodies.append(text)
            out.feed_canonical.append(f'["{sid}","{feed_kind}",{jcs}]')

    def _serialised(self, body: dict[str, Any]) -> tuple[str, str]:
        """A feed body with the provenance as JSON (the column's serializer) and RFC 8785."""
        body.update(self._provenance)
        text = json.dumps(body)
        found = self._bodies.get(text)
        if found is None:
            found = self._bodies[text] = (text, canonical(body).decode())
        return found

    def _one(self, kind: str, row: Any) -> tuple[str, list[Any], list[dict[str, Any]]]:
        if not isinstance(row, dict):
            raise _Refused("a record must be an object")
        if "photo" in row:
            raise _Refused("photo: the hub never takes a photo; leave the field out")
        unknown = row.keys() - _FIELDS[kind]
        if unknown:
            raise _Refused(f"unknown fields {', '.join(sorted(unknown))}")
        sid = self._sid(row)
        if kind == "identity":
            record, feed = self._identity(row)
        elif kind == "telecom":
            record, feed = self._telecom(row)
        else:
            record, feed = self._manifest(row, kind)
        return sid, record, feed

    def _record(self) -> list[Any]:
        """A record's values with its times of storing; the caller fills in the rest."""
        record: list[Any] = [None] * len(_RECORD_COLUMNS)
        record[-2:] = (self.now, self.expires)
        return record

    # -------------------------------------------------------------- manifests
    def _manifests(self, kind: str, records: list[Any], out: _Batch) -> None:
        """Manifest rows through the caches; any row in doubt by :meth:`_general`."""
        fields = _FIELDS[kind]
        resident, sid_of = self.documents.resident, self.pseudonyms.resident
        legs: dict[tuple[Any, ...], Any] = {}
        seats: dict[tuple[Any, Any], Any] = {}
        department_id, batch_id, now, expires = (
            self.dept.department_id,
            self.batch_id,
            self.now,
            self.expires,
        )
        o_records, o_sids, o_bodies, o_canonical, o_index = (
            out.records,
            out.feed_sids,
            out.feed_bodies,
            out.feed_canonical,
            out.feed_index,
        )
        for i, row in enumerate(records):
            if type(row) is not dict or not row.keys() <= fields or "subject" in row:
                self._general(kind, i, row, out)
                continue
            get = row.get
            number = resident(get("id_number")) if get("id_type") == "111" else None
            key = (
                get("trip"),
                get("date"),
                get("from"),
                get("to"),
                get("departs_at"),
                get("arrives_at"),
            )
            place = (get("carriage"), get("seat"))
            try:
                leg = legs.get(key, False)
                if leg is False:
                    leg = legs[key] = self._leg(kind, key)
                seat = seats.get(place, False)
                if seat is False:
                    seat = seats[place] = self._seat(place)
            except TypeError:  # a value that is not hashable: the general checks say why
                leg = None
            if number is None or leg is None or seat is None:
                self._general(kind, i, row, out)
                continue
            sid = sid_of(number)
            trip, origin, destination, departs, arrives, departure, arrival = leg
            carriage, seat_text, seat_number = seat
            o_records.append([
                sid, kind, department_id, batch_id, i, None, None, None, None, trip,
                carriage, seat_text, seat_number, origin, destination, departs, arrives,
                now, expires,
            ])  # fmt: skip
            o_index.append(len(o_sids))
            o_sids += (sid, sid)
            o_bodies += (departure[0], arrival[0])
            o_canonical += (f'["{sid}","stay",{departure[1]}]', f'["{sid}","stay",{arrival[1]}]')

    def _leg(self, kind: str, key: tuple[Any, ...]) -> Any:
        """A trip's leg as the records and feed rows of its passengers take it, or None if
        the general checks must read it (not all text, or refused)."""
        if not all(type(v) is str for v in key):
            return None
        row = dict(
            zip(("trip", "date", "from", "to", "departs_at", "arrives_at"), key, strict=True)
        )
        try:
            record, feed = self._manifest(row, kind)
        except (_Refused, BadValue, InvalidInput):
            return None
        return (
            record[_TRIP_AT],
            record[_FROM_AT],
            record[_AREA_AT],
            record[_STARTS_AT],
            record[_ENDS_AT],
            *map(self._serialised, feed),
        )

    def _seat(self, place: tuple[Any, Any]) -> tuple[str | None, str | None, int | None] | None:
        """A carriage and seat as stored, or None if the general checks must read them."""
        if not all(v is None or type(v) is str for v in place):
            return None
        try:
            carriage, seat = (
                self._text(place[0], "carriage", _CARRIAGE),
                self._text(place[1], "seat", _SEAT),
            )
        except _Refused:
            return None
        return carriage, seat, seat_row(seat)

    # ------------------------------------------------------------------ fields
    def _sid(self, row: dict[str, Any]) -> str:
        values = [row.get(k) for k in _SUBJECT]
        for name, value in zip(_SUBJECT, values, strict=True):
            if value is not None and not isinstance(value, str):
                raise _Refused(f"{name} must be a string")
        try:
            return resolve_sid(
                self.pseudonyms,
                self.documents,
                subject=values[0],
                id_type=values[1],
                id_number=values[2],
                where="record",
            )
        except InvalidInput as exc:
            raise _Refused(exc.message.removeprefix("record: ")) from None

    def _time(self, row: dict[str, Any], name: str) -> datetime:
        try:
            return self.times.get(row.get(name), name)
        except BadValue as exc:
            raise _Refused(exc.message) from None

    def _area(self, row: dict[str, Any], name: str) -> str:
        value = row.get(name)
        if not isinstance(value, str):
            raise _Refused(f"{name} must be a region code")
        ok = self._areas.get(value)
        if ok is None:
            try:
                self.divisions.validate_area(value)
                ok = True
            except InvalidInput:
                ok = False
            self._areas[value] = ok
        if not ok:
            raise _Refused(f"{name} is not a known region or township code")
        return value

    @staticmethod
    def _text(value: Any, name: str, pattern: re.Pattern[str]) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not pattern.fullmatch(value.strip().upper()):
            raise _Refused(f"{name} is malformed")
        return value.strip().upper()

    # ------------------------------------------------------------------- kinds
    def _identity(self, row: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
        name = row.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _Refused("name is missing")
        check_text(name, "name")
        match = row.get("match")
        if type(match) is not bool:
            raise _Refused("match must be true or false")
        checked = self._time(row, "checked_at")
        record = self._record()
        record[_MATCHED_AT], record[_NAME_AT], record[_STARTS_AT] = match, self.names(name), checked
        body = {"match": match, "id_type": row.get("id_type"), "checked_at": checked.isoformat()}
        return record, [body]

    def _manifest(self, row: dict[str, Any], kind: str) -> tuple[list[Any], list[dict[str, Any]]]:
        trip = self._text(row.get("trip"), "trip", _TRIP)
        if trip is None:
            raise _Refused("trip (the train or flight number) is missing")
        day = row.get("date")
        try:
            if not isinstance(day, str):
                raise ValueError
            travel_date = date.fromisoformat(day)
        except ValueError:
            raise _Refused("date must be the trip's date, YYYY-MM-DD") from None
        origin, destination = self._area(row, "from"), self._area(row, "to")
        departs, arrives = self._time(row, "departs_at"), self._time(row, "arrives_at")
        if arrives < departs:
            raise _Refused("arrives_at is before departs_at")
        if arrives - departs > timedelta(days=3):
            raise _Refused("arrives_at is more than 3 days after departs_at")
        carriage = self._text(row.get("carriage"), "carriage", _CARRIAGE)
        seat = self._text(row.get("seat"), "seat", _SEAT)
        record = self._record()
        record[_TRIP_AT:_ENDS_AT + 1] = (
            f"{kind}:{trip}:{travel_date.isoformat()}", carriage, seat, seat_row(seat),
            origin, destination, departs, arrives,
        )  # fmt: skip
        leg = {"source": kind, "trip": trip, "date": travel_date.isoformat()}
        return record, [
            {**leg, "area": origin, "at": departs.isoformat(), "leg": "departure"},
            {**leg, "area": destination, "at": arrives.isoformat(), "leg": "arrival"},
        ]

    def _telecom(self, row: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
        phone = row.get("phone")
        if not isinstance(phone, str) or not _PHONE.fullmatch(phone.replace(" ", "")):
            raise _Refused("phone must be a mainland mobile number (11 digits)")
        city = self._area(row, "city")
        start, end = self._time(row, "from"), self._time(row, "to")
        if end < start:
            raise _Refused("to is before from")
        record = self._record()
        record[_PHONE_AT], record[_AREA_AT] = self.phones(phone), city
        record[_STARTS_AT], record[_ENDS_AT] = start, end
        body = {
            "source": "telecom",
            "area": city,
            "at": start.isoformat(),
            "until": end.isoformat(),
        }
        return record, [body]


_MATCHED_AT, _NAME_AT, _PHONE_AT, _TRIP_AT, _FROM_AT, _AREA_AT, _STARTS_AT, _ENDS_AT = map(
    _RECORD_COLUMNS.index,
    ("matched", "name_index", "phone_index", "trip", "from_area", "area", "starts_at", "ends_at"),
)
