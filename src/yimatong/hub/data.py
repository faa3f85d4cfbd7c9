"""The hub's national data plane: one ordered, pseudonymous feed of everything about subjects.

Health authorities post cases, contacts and quarantine orders; labs post test results
(``hub.labs``); issuer nodes post Mode 1 colour summaries; checkpoints post scans. Each becomes
one ``hub_feed`` row with a ``seq`` from the ``feed`` counter. The counter's row lock is held
until commit, so seqs become visible in order and an issuer that mirrors "everything after
seq N" never misses a row committed late (a plain sequence hands values out before commit).

An issuer registers the subjects it holds (``subject_regions``); the feed answers it only the
rows of those subjects, and a subject's earlier rows can be fetched at once after it registers
a newcomer (``GET /v1/subjects/{sid}/facts``, ``/test-results``, ``/summary``).

Personal data: feed rows carry the pseudonym ``sid`` and the fact itself, never a name, ID
number or phone. An ID number given by an authority or a lab is used only to compute the
``sid`` (the federation-wide keyed hash) and is then dropped. Every row has ``expires_at``;
:func:`purge_expired` deletes what has passed it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select

from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.tables import feed_batches, hub_feed, scan_places, subject_regions
from yimatong.adapters.db.tallies import Key, add_counts, tally_feed
from yimatong.adapters.db.upsert import dialect_insert
from yimatong.credentials import Caller, require_role
from yimatong.domain.edge import CLOCK_SKEW, check_event, format_time
from yimatong.domain.errors import Forbidden, InvalidInput, NotFound
from yimatong.domain.identity import DocumentChecks, DocumentType, Pseudonyms, is_sid
from yimatong.domain.regions import default_divisions
from yimatong.hub import translog
from yimatong.hub.context import HubContext
from yimatong.hub.data_risk import area_within

__all__ = [
    "FACT_KINDS",
    "MAX_FACTS",
    "MAX_FEED_PAGE",
    "MAX_SCANS",
    "MAX_SIDS",
    "Fact",
    "NationalData",
    "Scan",
    "Summary",
    "append_feed",
    "append_feed_rows",
    "copy_feed",
    "feed_item",
    "index_scans",
    "purge_expired",
    "register_subjects",
    "resolve_sid",
]

MAX_FACTS = 10_000
MAX_SIDS = 10_000
MAX_SCANS = 10_000
MAX_FEED_PAGE = 5000
FACT_KINDS = ("case", "contact", "quarantine")


# ------------------------------------------------------------------------------- inputs
@dataclass(frozen=True, slots=True)
class Fact:
    """One authority fact as posted; exactly one of ``subject`` or the document is given."""

    kind: str  # case | contact | quarantine
    subject: str | None = None
    id_type: str | None = None
    id_number: str | None = field(default=None, repr=False)
    status: str | None = None  # case: confirmed | suspected | asymptomatic | recovered
    since: datetime | None = None
    contact_kind: str | None = None  # contact: close | secondary
    last_exposure: datetime | None = None
    start: datetime | None = None  # quarantine
    end: datetime | None = None
    quarantine_kind: str | None = None  # central | home
    id: str | None = None  # optional client id: a retried upload lands once


@dataclass(frozen=True, slots=True)
class Summary:
    """A Mode 1 colour summary of one subject by its issuer."""

    sid: str
    colour: str
    reasons: tuple[str, ...]
    colour_since: datetime | None
    assessed_at: datetime


@dataclass(frozen=True, slots=True)
class Scan:
    """A checkpoint scan; ``id`` is the checkpoint's own uuid for it."""

    id: str
    sid: str
    at: datetime
    area: str
    decision: str  # PASS | DENY | CHECK
    checkpoint: str
    temperature: float | None = None


# ------------------------------------------------------------------------------ helpers
def _iso(value: datetime | None) -> str | None:
    """A time for a feed row: RFC 3339 in UTC, in range (what every issuer can apply)."""
    return format_time(value) if value is not None else None


def resolve_sid(
    pseudonyms: Pseudonyms,
    documents: DocumentChecks,
    *,
    subject: str | None,
    id_type: str | None,
    id_number: str | None,
    where: str,
) -> str:
    """The subject's pseudonym: given, or computed from the document (which is then dropped).

    ``pseudonyms`` holds the federation secret and ``documents`` today's date, each made once
    per request. ``where`` names the item in errors (``facts[3]``); no error repeats the number.
    """
    if subject is not None:
        if id_type is not None or id_number is not None:
            raise InvalidInput(
                f"{where}: give either subject or id_type and id_number, not both",
                field=f"{where}.subject",
            )
        if not is_sid(subject):
            raise InvalidInput(
                f"{where}: subject must be 32 lower-case hex characters", field=f"{where}.subject"
            )
        return subject
    if id_type is None or id_number is None:
        raise InvalidInput(
            f"{where}: give subject, or id_type and id_number", field=f"{where}.subject"
        )
    try:
        doc_type = DocumentType(id_type)
    except ValueError:
        codes = ", ".join(d.value for d in DocumentType)
        raise InvalidInput(
            f"{where}: id_type must be one of {codes}", field=f"{where}.id_type"
        ) from None
    try:
        number = documents.normal(doc_type, id_number)
    except InvalidInput as exc:
        raise type(exc)(f"{where}: {exc.message}", field=f"{where}.id_number") from None
    return pseudonyms.sid(doc_type, number)


def record_batch(
    conn: Connection, first: int, last: int, log_index: int, kind: str, now: datetime
) -> None:
    """Remember which log entry holds the batch that took feed seqs ``first``..``last`` (one
    block of the ``feed`` counter, so batches never overlap): a fact's provenance."""
    conn.execute(
        insert(feed_batches).values(
            first_seq=first, last_seq=last, log_index=log_index, kind=kind, created_at=now
        )
    )


#: The feed rows whose provenance is a batch of facts, results or a department's records.
_FACT_ROWS = ("case", "contact", "quarantine", "test", "stay", "identity")


def append_feed(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Append ``rows`` (without ``seq``) to the feed in one INSERT; the seqs that landed.

    Seqs are one block from the ``feed`` counter (taken here, as late as possible, so its
    lock is held briefly). A row whose ``dedupe`` key is in the feed already is skipped and
    its seq left unused: the feed has gaps, never repeats. The rows that landed are counted
    for the dashboards in the same transaction (``adapters.db.tallies``).
    """
    return [v["seq"] for v in append_feed_rows(conn, rows)]


def append_feed_rows(
    conn: Connection, rows: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """:func:`append_feed`, answering the rows that landed (with their ``seq``), in seq order."""
    if not rows:
        return []
    last = next_value(conn, "feed", by=len(rows))
    first = last - len(rows) + 1
    values: list[Mapping[str, Any]] = [{**row, "seq": first + i} for i, row in enumerate(rows)]
    if not any(row.get("dedupe") for row in rows):
        conn.execute(dialect_insert(conn, hub_feed), values)
        tally_feed(conn, values)
        return values
    stmt = (
        dialect_insert(conn, hub_feed)
        .on_conflict_do_nothing(index_elements=[hub_feed.c.dedupe])
        .returning(hub_feed.c.seq)
    )
    landed = sorted(int(s) for s in conn.execute(stmt, values).scalars().all())
    tally_feed(conn, (values[seq - first] for seq in landed))
    return [values[seq - first] for seq in landed]


_FEED_COLUMNS = ("seq", "sid", "kind", "region", "body", "dedupe", "created_at", "expires_at")


def copy_feed(
    conn: Connection,
    *,
    kind: str,
    region: str | None,
    sids: Sequence[str],
    bodies: Sequence[str],
    created_at: datetime,
    expires_at: datetime,
    counts: Mapping[Key, int],
) -> tuple[int, int]:
    """Append rows of one kind and region (no ``dedupe``) in bulk; their first and last seq.

    ``bodies`` are the rows' JSON text, as the ``body`` column's own serializer writes it.
    The rows go through the driver's bulk path on the connection's own transaction — ``COPY``
    on PostgreSQL, the sqlite3 cursor's ``executemany`` on SQLite — with the two times
    converted once for all of them, not bound row by row. Seqs are one block from the
    ``feed`` counter as in :func:`append_feed`, and ``counts`` (by :func:`feed_tally` key,
    counted by the caller once per distinct key) go to the dashboards in the same transaction.
    """
    if len(sids) != len(bodies):
        raise ValueError("one body per sid")
    if not sids:
        return 0, 0
    last = next_value(conn, "feed", by=len(sids))
    first = last - len(sids) + 1
    dialect = conn.dialect
    # What the columns' own bind processing makes of the two times (on SQLite, the text
    # SQLAlchemy writes there), once for every row.
    at, until = (
        _bound(hub_feed.c.created_at, created_at, dialect),
        _bound(hub_feed.c.expires_at, expires_at, dialect),
    )
    raw = conn.connection.driver_connection  # the same connection, in its open transaction
    assert raw is not None
    cursor = raw.cursor()
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY {hub_feed.name} ({', '.join(_FEED_COLUMNS)}) FROM STDIN") as cp:
                write = cp.write_row
                for seq, sid, body in zip(range(first, last + 1), sids, bodies, strict=True):
                    write((seq, sid, kind, region, body, None, at, until))
        else:
            cursor.executemany(  # our own table and column names, nothing from the input
                f"INSERT INTO {hub_feed.name} ({', '.join(_FEED_COLUMNS)}) "  # noqa: S608
                f"VALUES ({', '.join('?' * len(_FEED_COLUMNS))})",
                [
                    (seq, sid, kind, region, body, None, at, until)
                    for seq, sid, body in zip(range(first, last + 1), sids, bodies, strict=True)
                ],
            )
    finally:
        cursor.close()
    add_counts(conn, counts)
    return first, last


def _bound(column: Any, value: datetime, dialect: Any) -> Any:
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value


def feed_item(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "sid": row.sid,
        "kind": row.kind,
        "region": row.region,
        "body": row.body,
        "created_at": row.created_at,
    }


def index_scans(conn: Connection, landed: Sequence[Mapping[str, Any]]) -> None:
    """The scans among feed rows that just landed, into ``scan_places`` (place and time), in
    the same transaction: what contact tracing (``hub.tracing``) queries."""
    values = [
        {
            "sid": row["sid"],
            "seq": row["seq"],
            "at": datetime.fromisoformat(row["body"]["at"]),
            "area": row["body"]["area"],
            "checkpoint": row["body"]["checkpoint"],
            "region": row["region"],
            "expires_at": row["expires_at"],
        }
        for row in landed
        if row["kind"] == "scan"
    ]
    if values:
        conn.execute(insert(scan_places), values)


def purge_expired(conn: Connection, now: datetime) -> int:
    """Delete the feed rows whose ``expires_at`` has passed; how many went."""
    return int(conn.execute(delete(hub_feed).where(hub_feed.c.expires_at <= now)).rowcount or 0)


def register_subjects(conn: Connection, sids: Iterable[str], region: str, now: datetime) -> int:
    """Record that ``region``'s issuer holds ``sids``; how many were new (idempotent)."""
    values = [{"sid": s, "region": region, "created_at": now} for s in dict.fromkeys(sids)]
    if not values:
        return 0
    stmt = (
        dialect_insert(conn, subject_regions)
        .on_conflict_do_nothing(index_elements=[subject_regions.c.sid, subject_regions.c.region])
        .returning(subject_regions.c.sid)
    )
    return len(conn.execute(stmt, values).all())


def _not_own_summary(region: str) -> Any:
    """Feed rows a region should get: all but the summaries it sent itself."""
    return or_(
        hub_feed.c.kind != "summary",
        hub_feed.c.region.is_(None),
        hub_feed.c.region != region,
    )


def _node_region(caller: Caller) -> str:
    require_role(caller, "node")
    if not caller.scope:
        raise Forbidden("this node credential has no region")
    return caller.scope


# ------------------------------------------------------------------------------ service
class NationalData:
    """Use cases of the feed: facts, subjects, summaries, scans and the reads of issuers."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.retention = timedelta(days=ctx.settings.retention_days)

    # ------------------------------------------------------------- authorities
    def add_facts(self, caller: Caller, facts: Sequence[Fact]) -> dict[str, Any]:
        """POST /v1/facts: cases, contacts and quarantine orders, one feed row each."""
        require_role(caller, "authority")
        if not facts:
            raise InvalidInput("facts must not be empty", field="facts")
        if len(facts) > MAX_FACTS:
            raise InvalidInput(f"at most {MAX_FACTS} facts in one request", field="facts")
        now = self.ctx.clock()
        expires = now + self.retention
        rows = []
        pseudonyms = Pseudonyms(self.ctx.federation_secret)
        documents = DocumentChecks(now.date())
        for i, fact in enumerate(facts):
            where = f"facts[{i}]"
            sid = resolve_sid(
                pseudonyms,
                documents,
                subject=fact.subject,
                id_type=fact.id_type,
                id_number=fact.id_number,
                where=where,
            )
            rows.append(
                {
                    "sid": sid,
                    "kind": fact.kind,
                    "region": caller.scope,
                    "body": self._fact_body(fact, where, now),
                    "dedupe": f"fact:{fact.id}" if fact.id else None,
                    "created_at": now,
                    "expires_at": expires,
                }
            )
        with self.db.uow() as uow:
            seqs = append_feed(uow.conn, rows)
            index = translog.append(
                uow.conn,
                "facts.batch",
                now,
                by=translog.actor(caller),
                rows=len(rows),
                accepted=len(seqs),
                kinds=dict(sorted(Counter(fact.kind for fact in facts).items())),
                first_seq=seqs[0] if seqs else None,
                last_seq=seqs[-1] if seqs else None,
                sha256=translog.batch_digest((r["sid"], r["kind"], r["body"]) for r in rows),
            )
            if seqs:
                record_batch(uow.conn, seqs[0], seqs[-1], index, "facts.batch", now)
            uow.commit()
        return {
            "accepted": len(seqs),
            "duplicates": len(rows) - len(seqs),
            "first_seq": seqs[0] if seqs else None,
            "last_seq": seqs[-1] if seqs else None,
        }

    def fact_provenance(self, caller: Caller, seq: int) -> dict[str, Any]:
        """GET /v1/facts/{seq}/provenance: who put a fact (or a lab result) into the feed, and
        the hub's log entry that holds its batch's digest, with the inclusion proof of that
        entry in the newest signed head. Never whose fact it is: no pseudonym, no content."""
        require_role(caller, "node", "authority", "admin")
        with self.db.read() as conn:
            row = conn.execute(
                select(hub_feed.c.kind, hub_feed.c.region, hub_feed.c.created_at).where(
                    hub_feed.c.seq == seq
                )
            ).first()
            if row is None or row.kind not in _FACT_ROWS:
                raise NotFound(f"the feed has no fact {seq}")
            batch = conn.execute(
                select(feed_batches)
                .where(feed_batches.c.first_seq <= seq)
                .order_by(feed_batches.c.first_seq.desc())
                .limit(1)
            ).first()
        answer: dict[str, Any] = {
            "seq": seq,
            "kind": row.kind,
            "region": row.region,
            "recorded_at": row.created_at,
            "batch": None,
        }
        if batch is None or batch.last_seq < seq:
            return answer  # recorded before migration 0014: the log has the batch, unlinked
        log = self.ctx.translog
        entry = log.entries(int(batch.log_index), int(batch.log_index) + 1)["entries"][0]
        head = log.latest_head()
        size = int(head["payload"]["tree_size"])
        answer["batch"] = {
            "log": translog.LOG_ID,
            "log_index": int(batch.log_index),
            "first_seq": int(batch.first_seq),
            "last_seq": int(batch.last_seq),
            "entry": entry["entry"],
            "leaf_input": entry["leaf_input"],
            # against the newest signed head (None until one covers the entry)
            "head": head if batch.log_index < size else None,
            "inclusion": log.inclusion(int(batch.log_index), size)
            if batch.log_index < size
            else None,
        }
        return answer

    @staticmethod
    def _fact_body(fact: Fact, where: str, now: datetime) -> dict[str, Any]:
        def need(name: str, value: Any) -> Any:
            if value is None:
                raise InvalidInput(
                    f"{where}: a {fact.kind} fact needs {name}", field=f"{where}.{name}"
                )
            return value

        def not_future(name: str, value: datetime) -> datetime:
            if value > now + CLOCK_SKEW:
                raise InvalidInput(f"{where}: {name} is in the future", field=f"{where}.{name}")
            return value

        if fact.kind == "case":
            since = not_future("since", need("since", fact.since))
            return {"status": need("status", fact.status), "since": _iso(since)}
        if fact.kind == "contact":
            exposure = not_future("last_exposure", need("last_exposure", fact.last_exposure))
            return {"contact_kind": fact.contact_kind or "close", "last_exposure": _iso(exposure)}
        if fact.kind == "quarantine":
            start, end = need("start", fact.start), need("end", fact.end)
            if end <= start:
                raise InvalidInput(f"{where}: end must be after start", field=f"{where}.end")
            return {
                "start": _iso(start),
                "end": _iso(end),
                "quarantine_kind": fact.quarantine_kind or "central",
            }
        raise InvalidInput(
            f"{where}: kind must be one of {', '.join(FACT_KINDS)}", field=f"{where}.kind"
        )

    # ------------------------------------------------------------------ issuers
    def register_subjects(self, caller: Caller, sids: Sequence[str]) -> dict[str, Any]:
        """POST /v1/subjects/register: the caller's issuer holds these subjects.

        The answer carries what the hub already has about them (``items``, feed rows as
        ``GET /v1/feed`` gives them), so a new subject's earlier national data arrives in the
        same round trip; from now on the feed carries the rest.
        """
        region = _node_region(caller)
        if len(sids) > MAX_SIDS:
            raise InvalidInput(f"at most {MAX_SIDS} sids in one request", field="sids")
        for i, sid in enumerate(sids):
            if not is_sid(sid):
                raise InvalidInput(
                    f"sids[{i}] must be 32 lower-case hex characters", field=f"sids[{i}]"
                )
        now = self.ctx.clock()
        with self.db.uow() as uow:
            new = register_subjects(uow.conn, sids, region, now)
            rows = uow.conn.execute(
                select(hub_feed)
                .where(
                    hub_feed.c.sid.in_(set(sids)),
                    hub_feed.c.expires_at > now,
                    _not_own_summary(region),
                )
                .order_by(hub_feed.c.seq)
            ).all()
            why = f"earlier national data of subjects registered to {region}"
            audit(uow.conn, caller, "subject.register", (r.sid for r in rows), why, now)
            uow.commit()
        return {
            "region": region,
            "registered": new,
            "known": len(set(sids)) - new,
            "items": [feed_item(r) for r in rows],
        }

    def add_summaries(self, caller: Caller, summaries: Sequence[Summary]) -> dict[str, Any]:
        """POST /v1/summaries: Mode 1, an issuer shares the colours of its subjects."""
        region = _node_region(caller)
        if not summaries:
            raise InvalidInput("summaries must not be empty", field="summaries")
        if len(summaries) > MAX_SIDS:
            raise InvalidInput(f"at most {MAX_SIDS} summaries in one request", field="summaries")
        now = self.ctx.clock()
        expires = now + self.retention
        rows = []
        for i, s in enumerate(summaries):
            if not is_sid(s.sid):
                raise InvalidInput(
                    f"summaries[{i}].sid must be 32 lower-case hex characters",
                    field=f"summaries[{i}].sid",
                )
            rows.append(
                {
                    "sid": s.sid,
                    "kind": "summary",
                    "region": region,
                    "body": {
                        "colour": s.colour,
                        "reasons": list(s.reasons),
                        "colour_since": _iso(s.colour_since),
                        "assessed_at": _iso(s.assessed_at),
                    },
                    "dedupe": None,
                    "created_at": now,
                    "expires_at": expires,
                }
            )
        with self.db.uow() as uow:
            seqs = append_feed(uow.conn, rows)  # first: every feed writer queues on the counter
            register_subjects(uow.conn, (s.sid for s in summaries), region, now)
            uow.commit()
        return {"accepted": len(seqs), "first_seq": seqs[0], "last_seq": seqs[-1]}

    def feed(self, caller: Caller, since: int = 0, limit: int = 1000) -> dict[str, Any]:
        """GET /v1/feed: rows after ``since`` about the caller's subjects, oldest first.

        The caller's own summaries are left out (it sent them). ``next`` is the cursor for
        the following call; ``more`` says whether there is more right away.
        """
        region = _node_region(caller)
        if not 1 <= limit <= MAX_FEED_PAGE:
            raise InvalidInput(f"limit must be 1 to {MAX_FEED_PAGE}", field="limit")
        now = self.ctx.clock()
        stmt = (
            select(hub_feed)
            .join(
                subject_regions,
                and_(subject_regions.c.sid == hub_feed.c.sid, subject_regions.c.region == region),
            )
            .where(
                hub_feed.c.seq > since,
                hub_feed.c.expires_at > now,
                _not_own_summary(region),
            )
            .order_by(hub_feed.c.seq)
            .limit(limit + 1)
        )
        with self.db.uow() as uow:
            rows = uow.conn.execute(stmt).all()
            why = f"national feed of the subjects registered to {region}"
            audit(uow.conn, caller, "feed.read", (r.sid for r in rows[:limit]), why, now)
            uow.commit()
        more = len(rows) > limit
        items = [feed_item(r) for r in rows[:limit]]
        return {
            "since": since,
            "next": items[-1]["seq"] if items else since,
            "more": more,
            "items": items,
        }

    def subject_rows(self, caller: Caller, sid: str, what: str) -> dict[str, Any]:
        """GET /v1/subjects/{sid}/facts | test-results | summary for a subject of the caller.

        ``summary`` answers the latest summary of each other region; the others answer every
        row of those kinds, oldest first. A subject not registered to the caller's region is
        NotFound (the hub does not say whether it knows it).
        """
        region = _node_region(caller)
        kinds = {"facts": FACT_KINDS, "test-results": ("test",), "summary": ("summary",)}[what]
        now = self.ctx.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            held = conn.execute(
                select(subject_regions.c.sid).where(
                    subject_regions.c.sid == sid, subject_regions.c.region == region
                )
            ).first()
            if held is None:
                raise NotFound("no such subject is registered to your region")
            stmt = (
                select(hub_feed)
                .where(
                    hub_feed.c.sid == sid,
                    hub_feed.c.kind.in_(kinds),
                    hub_feed.c.expires_at > now,
                )
                .order_by(hub_feed.c.seq)
            )
            if what == "summary":
                stmt = stmt.where(hub_feed.c.region != region)
            rows = conn.execute(stmt).all()
            why = f"{what} of a subject registered to {region}"
            audit(conn, caller, f"subject.{what}", [sid], why, now)
            uow.commit()
        if what == "summary":
            latest: dict[str | None, Any] = {}
            for r in rows:  # by seq: the last of each region wins
                latest[r.region] = r
            rows = sorted(latest.values(), key=lambda r: r.seq)
        return {"sid": sid, "items": [feed_item(r) for r in rows]}

    # -------------------------------------------------------------- checkpoints
    def add_scans(self, caller: Caller, scans: Sequence[Scan]) -> dict[str, Any]:
        """POST /v1/scans: a checkpoint's scans, each landing once however often it is sent.

        A ``node`` (an issuer relaying its checkpoint pages' scans, ``issuer/relay.py``) may
        send them too, within its region; the scans name the checkpoint.
        """
        require_role(caller, "checkpoint", "node")
        if not scans:
            raise InvalidInput("scans must not be empty", field="scans")
        if len(scans) > MAX_SCANS:
            raise InvalidInput(f"at most {MAX_SCANS} scans in one request", field="scans")
        now = self.ctx.clock()
        expires = now + self.retention
        divisions = default_divisions()
        rows: dict[str, dict[str, Any]] = {}
        for i, scan in enumerate(scans):
            where = f"scans[{i}]"
            if not is_sid(scan.sid):
                raise InvalidInput(
                    f"{where}.sid must be 32 lower-case hex characters", field=f"{where}.sid"
                )
            try:
                divisions.validate_area(scan.area)
            except InvalidInput as exc:
                raise type(exc)(f"{where}: {exc.message}", field=f"{where}.area") from None
            if not area_within(scan.area, caller.scope):
                raise Forbidden(
                    f"{where}: a checkpoint of {caller.scope} scans only within it, "
                    f"not in {scan.area}"
                )
            at = check_event(scan.at, now, f"{where}.at")
            key = f"scan:{scan.id}"
            rows.setdefault(
                key,
                {
                    "sid": scan.sid,
                    "kind": "scan",
                    "region": caller.scope,
                    "body": {
                        "id": scan.id,
                        "at": _iso(at),
                        "area": scan.area,
                        "decision": scan.decision,
                        "temperature": scan.temperature,
                        "checkpoint": scan.checkpoint,
                    },
                    "dedupe": key,
                    "created_at": now,
                    "expires_at": expires,
                },
            )
        with self.db.uow() as uow:
            landed = append_feed_rows(uow.conn, list(rows.values()))
            index_scans(uow.conn, landed)
            uow.commit()
        return {"accepted": len(landed), "duplicates": len(scans) - len(landed)}
