"""The issuer's shared state and the steps its use cases share.

``IssuerCore`` holds what a node is built from (region, database, cipher, phone book, ruleset,
divisions, clock, retention), its caches (the signing key and keyring that ``codes`` uses, the
risk areas that assessment reads), and the machinery the use-case groups stand on: loading a
subject's facts, ``reassess`` (assess and store the online ``Status``), authorising a citizen
for a subject, the audit log, area-code checks and the age of the hub's data.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from yimatong.adapters import keystore
from yimatong.adapters.crypto import FieldCipher, SigningKey, VerifyingKey
from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.limits import Limiter
from yimatong.adapters.db.risk import RiskCache
from yimatong.adapters.db.tables import (
    case_facts,
    contact_facts,
    declarations,
    feed_quarantine,
    identity_checks,
    links,
    quarantine_orders,
    stays,
    summaries,
    sync_state,
    test_results,
)
from yimatong.adapters.translog import TransparencyLog
from yimatong.adapters.wire.code import Keyring
from yimatong.credentials import Caller, require_role
from yimatong.domain import identity
from yimatong.domain.assessment import (
    Assessment,
    IdentityMismatchCondition,
    RuleSet,
    StayCondition,
    StayWithoutDataCondition,
    assess_at,
)
from yimatong.domain.errors import InvalidInput, NotFound, Unavailable
from yimatong.domain.facts import (
    CaseFact,
    CaseStatus,
    Colour,
    ContactFact,
    ContactKind,
    Declaration,
    IdentityCheck,
    QuarantineOrder,
    RiskLevel,
    RiskMap,
    SharedSummary,
    Stay,
    StaySource,
    SubjectFacts,
    TestOutcome,
    TestResult,
)
from yimatong.domain.overrides import DEFAULT_HOURLY_LIMIT, ActiveOverride, apply_overrides
from yimatong.domain.regions import Divisions, area_prefix
from yimatong.domain.travel import TravelParams
from yimatong.issuer.accounts import PhoneBook

__all__ = ["CHINA_TZ", "Access", "IssuerCore", "Status"]

#: Birth dates and "today" for document checks are reckoned in Beijing time.
CHINA_TZ = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class Access:
    """What a citizen's account may do for one subject: its link, and what the link grants.

    The person's own account (``self``) sees everything. A proxy (代办) sees the code and
    colour, declares and makes codes; the itinerary and the test history only when granted.
    """

    relationship: str
    consent: str
    itinerary: bool
    tests: bool

    @property
    def is_self(self) -> bool:
        return self.relationship == "self"


@dataclass(frozen=True)
class Status:
    """An assessment and since when the subject has had its colour."""

    assessment: Assessment
    colour_since: datetime

    def view(self) -> dict[str, Any]:
        body = self.assessment.to_dict()
        body["colour_since"] = self.colour_since
        return body


class IssuerCore:
    """What an issuer node is built from, and the steps its use cases share.

    ``services.IssuerService`` is this class with the use-case groups of ``subjects``,
    ``codes`` and ``corrections`` mixed in; each group subclasses it, so all share one state.
    """

    def __init__(
        self,
        *,
        region: str,
        db: Database,
        cipher: FieldCipher,
        federation_secret: bytes,
        phonebook: PhoneBook,
        ruleset: RuleSet,
        divisions: Divisions,
        clock: Callable[[], datetime],
        retention: timedelta = timedelta(days=30),
        limits: Limiter | None = None,
        travel: TravelParams | None = None,
    ) -> None:
        self.region = region
        #: how long and how far back the travel code (行程码) looks (issuer/travel.py)
        self.travel_params = travel or TravelParams()
        self.db = db
        #: per-client limits (one-time codes, sign-in), counted in this node's database
        self.limits = limits or Limiter(db, clock)
        self.cipher = cipher
        self.secret = federation_secret
        self.phonebook = phonebook
        self.ruleset = ruleset
        self.divisions = divisions
        self.clock = clock
        self.retention = retention
        # Caches: the signing key and keyring (filled by codes.py), the risk areas (reassess).
        self._lock = threading.Lock()
        self._signing = keystore.SigningKeyCache(cipher)
        #: this issuer's own transparency log (docs/transparency.md), its heads signed by the
        #: issuer's signing key (the one the hub's trust list has) and witnessed by the hub
        self.translog = TransparencyLog(db, clock, self._log_key, f"yimatong-issuer-{region}")
        self._keyring: tuple[float, Keyring] | None = None
        self._risk = RiskCache()
        #: seconds spent by reassess_many reading, applying the rules and writing (a bench
        #: prints them), and the subjects it assessed
        self.reassess_timings = {"read": 0.0, "rules": 0.0, "write": 0.0, "subjects": 0.0}
        #: called after a new subject is stored (the hub link fetches its national data)
        self.on_new_subject: Callable[[str], None] | None = None
        #: people under manual colours per hour above which the hub must approve too
        self.override_hourly_limit = DEFAULT_HOURLY_LIMIT
        #: the hub's keys (pinned, or learnt by the hub link), for its signed approvals
        self.hub_keys: Callable[[], Mapping[bytes, VerifyingKey]] = dict

    def _log_key(self) -> SigningKey:
        """The key that signs this issuer's log heads: its active signing key."""
        with self.db.read() as conn:
            key = self._signing.get(conn, region=self.region, now=self.clock())
        if key is None:
            raise Unavailable("this issuer has no active signing key; run `yimatong keys new`")
        return key

    def data_age(self, now: datetime) -> dict[str, Any]:
        """How fresh the national data behind assessments is (None: this node has no hub).

        ``hub_error`` is the last sync round's trouble with the feed (or the rows it had to
        quarantine); ``hub_quarantined`` counts the feed rows that could not be applied, so a
        lab result that never arrived shows here rather than nowhere.
        """
        with self.db.read() as conn:
            row = conn.execute(
                select(sync_state.c.synced_at, sync_state.c.error).where(
                    sync_state.c.name == "feed"
                )
            ).first()
            quarantined = conn.execute(select(func.count()).select_from(feed_quarantine)).scalar()
        synced = row.synced_at if row is not None else None
        return {
            "data_as_of": synced,
            "data_age_seconds": int((now - synced).total_seconds()) if synced else None,
            "hub_error": row.error if row is not None else None,
            "hub_quarantined": int(quarantined or 0),
        }

    def sync_figures(self) -> tuple[int, int]:
        """(feed rows quarantined, lists whose last sync round failed): for ``/metrics``."""
        with self.db.read() as conn:
            quarantined = conn.execute(select(func.count()).select_from(feed_quarantine)).scalar()
            failing = conn.execute(
                select(func.count()).select_from(sync_state).where(sync_state.c.error.is_not(None))
            ).scalar()
        return int(quarantined or 0), int(failing or 0)

    # ------------------------------------------------------------------ helpers
    def _authorise_citizen(self, conn: Connection, caller: Caller, sid: str) -> str:
        """The caller's relationship to ``sid``; NotFound (not Forbidden) if there is none."""
        return self._access(conn, caller, sid).relationship

    def _access(
        self, conn: Connection, caller: Caller, sid: str, *, action: str | None = None
    ) -> Access:
        """The caller's link to ``sid`` and its grants; NotFound (not Forbidden) if none.

        Only a link gives access (a pending link request gives none), so a removed proxy loses
        access with its next request. With ``action``, a proxy's use is written to the audit
        log: every read of a person's data by anyone but that person is audited.
        """
        require_role(caller, "citizen")
        row = conn.execute(
            select(
                links.c.relationship,
                links.c.consent,
                links.c.grant_itinerary,
                links.c.grant_tests,
            ).where(links.c.account_id == caller.account_id, links.c.sid == sid)
        ).first()
        if row is None:
            raise NotFound("no such subject on your account")
        own = row.relationship == "self"
        access = Access(
            relationship=str(row.relationship),
            consent=str(row.consent),
            itinerary=own or bool(row.grant_itinerary),
            tests=own or bool(row.grant_tests),
        )
        if action is not None and not own:
            self._audit(conn, caller, action, sid, f"代办 ({access.relationship})", self.clock())
        return access

    def _document(self, id_type: str, id_number: str, now: datetime) -> tuple[str, str, str]:
        """(document type code, normalised number, sid) of a document a caller typed in."""
        try:
            doc_type = identity.DocumentType(id_type)
        except ValueError:
            valid = ", ".join(d.value for d in identity.DocumentType)
            raise InvalidInput(f"id_type must be one of {valid}", field="id_type") from None
        number = identity.validate_document(
            doc_type, id_number, today=now.astimezone(CHINA_TZ).date()
        )
        return doc_type.value, number, identity.subject_id(self.secret, doc_type, number)

    def _audit(
        self,
        conn: Connection,
        caller: Caller,
        action: str,
        sid: str | None,
        purpose: str,
        now: datetime,
    ) -> None:
        audit(conn, caller, action, [sid], purpose, now)

    def _area(self, code: str, field: str) -> str:
        try:
            self.divisions.validate_area(code)
        except InvalidInput as exc:
            raise type(exc)(exc.message, field=field) from None
        return code

    def area_name(self, code: str) -> str:
        """A region's full name ("浙江省 杭州市 西湖区 西湖街道"), or its code if unknown."""
        return self._area_name(code)

    def _area_name(self, code: str) -> str:
        try:
            return " ".join(r.name for r in reversed(self.divisions.ancestors(code)))
        except InvalidInput:
            return code

    def _facts(self, conn: Connection, sid: str, now: datetime) -> SubjectFacts:
        return self._facts_many(conn, [sid], now)[sid]

    def _facts_many(
        self, conn: Connection, sids: Sequence[str], now: datetime, *, with_stays: bool = True
    ) -> dict[str, SubjectFacts]:
        """The facts of every subject in ``sids``: one query a table, whatever their number
        (``with_stays=False``: every fact but the stays)."""
        wanted = list(dict.fromkeys(sids))
        found: dict[str, dict[str, list[Any]]] = {
            sid: {name: [] for name in _FACT_KINDS} for sid in wanted
        }

        if conn.dialect.name == "postgresql":
            # one array parameter: a list of thousands of parameters costs PostgreSQL more to
            # plan (on every partition) than the query costs to run
            listed = bindparam("sids", wanted, type_=ARRAY(String))

            def among(column: Any) -> Any:
                return column == any_(listed)
        else:

            def among(column: Any) -> Any:
                return column.in_(wanted)

        def gather(name: str, query: Any) -> None:
            for row in conn.execute(query):
                found[row.sid][name].append(row)

        gather(
            "declarations",
            select(declarations)
            .where(among(declarations.c.sid))
            .order_by(declarations.c.sid, declarations.c.declared_at.desc()),
        )
        if with_stays:
            gather(
                "stays",
                select(stays.c.sid, stays.c.area, stays.c.arrived, stays.c.left_at, stays.c.source)
                .where(among(stays.c.sid), stays.c.voided_at.is_(None)),
            )  # fmt: skip
        gather("tests", select(test_results).where(among(test_results.c.sid)))
        gather("cases", select(case_facts).where(among(case_facts.c.sid)))
        gather("contacts", select(contact_facts).where(among(contact_facts.c.sid)))
        gather("quarantines", select(quarantine_orders).where(among(quarantine_orders.c.sid)))
        gather(
            "summaries",
            select(summaries).where(among(summaries.c.sid), summaries.c.region != self.region),
        )
        if any(isinstance(r.condition, IdentityMismatchCondition) for r in self.ruleset.rules):
            gather(  # only a rule set that uses the police's checks reads them
                "identity_checks",
                select(identity_checks).where(among(identity_checks.c.sid)),
            )
        return {sid: _subject_facts(rows) for sid, rows in found.items()}

    def reassess(self, conn: Connection, sid: str, now: datetime) -> Status:
        """Assess ``sid`` from its facts and store the result as the online status."""
        return self.reassess_many(conn, [sid], now)[sid]

    def reassess_many(
        self, conn: Connection, sids: Sequence[str], now: datetime
    ) -> dict[str, Status]:
        """Assess every subject in ``sids`` and store the results: set-based, a few statements
        for the whole set (their facts a query a table, the rules in memory, the writes in
        bulk), so a risk-area change over many people costs queries per batch, not per person.

        Only the facts a rule can look at are read: a stay counts for the rules only where
        its area lies under a code with a medium or high period and it ended inside the
        longest stay rule's window, so the other stays are left in the table. Subjects with no
        such fact at all share one assessment, made once per call. The colours and reasons are
        exactly those of :func:`assess_at` over all of the subject's facts
        (tests/unit/test_reassess_bulk.py compares the two on random populations).

        A new colour is marked for sharing with the hub (``pushed_at`` cleared), and
        ``review_at`` records when the colour may change with no new fact, so the sync loop
        (and 验码) can reassess on time. The subject's own record is kept for the retention
        period after it was last assessed: a person still in the programme is not purged.
        Callers keep ``sids`` to a few thousand per call (one transaction, one IN list).
        """
        wanted = list(dict.fromkeys(sids))
        if not wanted:
            return {}
        started = time.perf_counter()
        driver = _Driver(conn)
        driver.rows(
            "UPDATE subjects SET expires_at = ? WHERE sid IN ({})",
            wanted,
            [driver.time(now + self.retention)],
            fetch=False,
        )
        risk = self._risk.load(conn)
        facts = self._assessment_facts(conn, wanted, now, risk)
        priors = {
            row[0]: (row[1], row[2])
            for row in driver.rows(
                "SELECT sid, colour, colour_since FROM assessments WHERE sid IN ({})", wanted
            )
        }
        read = time.perf_counter()
        shared: Assessment | None = None  # of every subject with no fact a rule looks at
        assessed: list[tuple[str, Assessment]] = []
        for sid in wanted:
            found = facts.get(sid)
            if found is not None:
                assessed.append((sid, assess_at(found, risk, self.ruleset, now)))
                continue
            if shared is None:
                shared = assess_at(_NO_FACTS, risk, self.ruleset, now)
            assessed.append((sid, shared))
        reviews = self._apply_overrides(driver, assessed, now)
        rules = time.perf_counter()
        statuses = self._store_assessments(driver, assessed, priors, now, reviews)
        done = time.perf_counter()
        timings = self.reassess_timings
        timings["read"] += read - started
        timings["rules"] += rules - read
        timings["write"] += done - rules
        timings["subjects"] += len(wanted)
        return statuses

    def _store_assessments(
        self,
        driver: _Driver,
        assessed: list[tuple[str, Assessment]],
        priors: dict[str, tuple[str, Any]],
        now: datetime,
        ends: Mapping[str, datetime] | None = None,
    ) -> dict[str, Status]:
        """Insert or update the ``assessments`` rows of ``assessed``: the driver's executemany.

        A stored colour that changes (or a first one that is not green) is also a row of
        ``colour_changes``, with the reasons behind it: the person's history of their colour.
        ``ends`` moves a subject's ``review_at`` to when an override of theirs ends.
        """
        ruleset = f"{self.ruleset.id}@{self.ruleset.version}"
        at_now = driver.time(now)
        kept = driver.time(now + self.retention)
        bodies: dict[int, str] = {}  # one JSON text per distinct assessment
        reasons: dict[int, str] = {}  # and one of its reasons
        reviews: dict[datetime | None, Any] = {}
        statuses: dict[str, Status] = {}
        new_rows: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        same: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        for sid, assessment in assessed:
            key = id(assessment)
            body = bodies.get(key)
            if body is None:
                body = bodies[key] = json.dumps(assessment.to_dict())
            review = _review_at(assessment, now)
            end = ends.get(sid) if ends else None
            if end is not None and (review is None or end < review):
                review = end
            review_value = reviews.get(review)
            if review_value is None:
                review_value = reviews[review] = driver.time(review)
            colour = assessment.colour.value
            prior = priors.get(sid)
            if prior is None:
                new_rows.append((sid, colour, at_now, at_now, ruleset, body, review_value))
                since = now
            elif prior[0] == colour:
                same.append((colour, prior[1], at_now, ruleset, body, review_value, sid))
                since = driver.read_time(prior[1])
            else:
                changed.append((colour, at_now, at_now, ruleset, body, review_value, sid))
                since = now
            if since is now and (prior is not None or assessment.colour is not Colour.GREEN):
                why = reasons.get(key)
                if why is None:
                    why = reasons[key] = json.dumps([r.to_dict() for r in assessment.reasons])
                before = prior[0] if prior is not None else None
                history.append((sid, at_now, before, colour, ruleset, why, kept))
            statuses[sid] = Status(assessment, since)
        if new_rows:
            driver.many(_INSERT_ASSESSMENT, new_rows)
        if same:
            driver.many(_UPDATE_ASSESSMENT, same)
        if changed:  # a new colour is to be shared again
            driver.many(_UPDATE_ASSESSMENT_CHANGED, changed)
        if history:
            driver.many(_INSERT_COLOUR_CHANGE, history)
        return statuses

    def _apply_overrides(
        self, driver: _Driver, assessed: list[tuple[str, Assessment]], now: datetime
    ) -> dict[str, datetime]:
        """Apply the overrides in force (domain/overrides.py) to ``assessed`` in place; the
        moment each overridden subject's override ends (its colour is reassessed then)."""
        at_now = driver.time(now)
        if not driver.rows(_ANY_OVERRIDE, [], [at_now, at_now]):
            return {}  # the usual case: one indexed probe per call
        sids = [sid for sid, _ in assessed]
        found: dict[str, list[ActiveOverride]] = {}
        read = driver.read_time
        for row in driver.rows(_ACTIVE_OVERRIDES, sids, [at_now, at_now]):
            sid, oid, colour, reason, fact_kind, fact_seq, effective, expires, index = row
            found.setdefault(sid, []).append(
                ActiveOverride(
                    id=int(oid),
                    colour=Colour(colour),
                    reason=reason,
                    fact_kind=fact_kind,
                    fact_seq=int(fact_seq),
                    effective_at=read(effective),
                    expires_at=read(expires),
                    log_index=None if index is None else int(index),
                )
            )
        if not found:
            return {}
        for i, (sid, assessment) in enumerate(assessed):
            mine = found.get(sid)
            if mine:
                assessed[i] = (sid, apply_overrides(assessment, mine, now))
        return {sid: min(o.expires_at for o in mine) for sid, mine in found.items()}

    def _assessment_facts(
        self, conn: Connection, sids: list[str], now: datetime, risk: RiskMap
    ) -> dict[str, SubjectFacts]:
        """The facts the rules can look at, of the subjects in ``sids`` that have any.

        Every table but ``stays`` is read whole for them. Of the stays only those that can
        give a stay rule a match: begun by ``now``, ended after the longest stay rule's window
        opened, in an area under a code that has a medium or high period (the only places a
        stay has a part at risk). A subject left out has no fact any rule reads.
        """
        found = {
            sid: facts
            for sid, facts in self._facts_many(conn, sids, now, with_stays=False).items()
            if facts != _NO_FACTS
        }
        windows = [
            r.condition.within_days
            for r in self.ruleset.rules
            if isinstance(r.condition, StayCondition | StayWithoutDataCondition)
        ]
        # where a stay can give a rule a match: at risk, or in an area with no data
        prefixes = _outermost(
            [
                *_risk_prefixes(risk),
                *(
                    area_prefix(area)
                    for r in self.ruleset.rules
                    if isinstance(r.condition, StayWithoutDataCondition)
                    for area in r.condition.areas
                ),
            ]
        )
        if not windows or not prefixes:
            return found
        driver = _Driver(conn)
        sql = _RULE_STAYS_SQLITE if driver.sqlite else _RULE_STAYS
        params: list[Any] = [driver.time(now), driver.time(now - timedelta(days=max(windows)))]
        if len(prefixes) <= _MAX_AREA_RANGES:
            # a code and everything inside it share the prefix: a range (':' sorts after '9')
            sql += " AND (" + " OR ".join(["(area >= ? AND area < ?)"] * len(prefixes)) + ")"
            for prefix in prefixes:
                params += [prefix, prefix + ":"]
        sql += " AND sid IN ({})"
        by_sid: dict[str, list[Stay]] = {}
        rows = driver.rows(sql, sids, params)
        if driver.sqlite:  # naive UTC text
            parse = datetime.fromisoformat
            for sid, area, arrived, left, source in rows:
                stay = Stay(
                    area,
                    parse(arrived + "+00:00"),
                    None if left is None else parse(left + "+00:00"),
                    _SOURCES[source],
                )
                by_sid.setdefault(sid, []).append(stay)
        else:
            read = driver.read_time
            for sid, area, arrived, left, source in rows:
                stay = Stay(
                    area, read(arrived), None if left is None else read(left), _SOURCES[source]
                )
                by_sid.setdefault(sid, []).append(stay)
        for sid, stays_of in by_sid.items():
            known = found.get(sid)
            found[sid] = (
                replace(known, stays=tuple(stays_of))
                if known
                else SubjectFacts(stays=tuple(stays_of))
            )
        return found


_FACT_KINDS = (
    "declarations", "stays", "tests", "cases", "contacts", "quarantines", "summaries",
    "identity_checks",
)  # fmt: skip
#: The newest declarations the rules look at.
_DECLARATIONS_KEPT = 20
#: A subject with no facts (most people, for most rules).
_NO_FACTS = SubjectFacts()
_SOURCES = {s.value: s for s in StaySource}
#: Above this many risk prefixes the stays are read by time alone (a statement stays small).
_MAX_AREA_RANGES = 64


def _risk_prefixes(risk: RiskMap) -> list[str]:
    """The code prefixes under which a stay can be at medium or high risk, none inside another."""
    return _outermost(area_prefix(p.area) for p in risk.periods if p.level is not RiskLevel.LOW)


def _outermost(prefixes: Iterable[str]) -> list[str]:
    """The prefixes, sorted, leaving out any inside another."""
    codes = sorted(set(prefixes), key=len)
    kept: list[str] = []
    for code in codes:
        if not any(code.startswith(k) for k in kept):
            kept.append(code)
    return sorted(kept)


#: The stays a stay rule can look at, of a list of subjects (see _assessment_facts).
_RULE_STAYS = (
    "SELECT sid, area, arrived, left_at, source FROM stays WHERE voided_at IS NULL"
    " AND arrived <= ? AND (left_at IS NULL OR left_at > ?)"
)
# By subject: SQLite would otherwise take the area index for a province-wide change and walk
# all of it for every batch.
_RULE_STAYS_SQLITE = _RULE_STAYS.replace(
    "stays WHERE", "stays INDEXED BY ix_stays_sid_arrived WHERE"
)
_INSERT_ASSESSMENT = (
    "INSERT INTO assessments (sid, colour, colour_since, assessed_at, ruleset, body, review_at,"
    " pushed_at) VALUES (?, ?, ?, ?, ?, ?j, ?, NULL)"
)
_UPDATE_ASSESSMENT = (
    "UPDATE assessments SET colour = ?, colour_since = ?, assessed_at = ?, ruleset = ?,"
    " body = ?j, review_at = ? WHERE sid = ?"
)
_UPDATE_ASSESSMENT_CHANGED = _UPDATE_ASSESSMENT.replace(" WHERE", ", pushed_at = NULL WHERE")
_INSERT_COLOUR_CHANGE = (
    "INSERT INTO colour_changes (sid, at, colour_from, colour_to, ruleset, reasons, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?j, ?)"
)
#: Whether any override is in force (then the subjects' own are read).
_ANY_OVERRIDE = (
    "SELECT 1 FROM overrides WHERE status = 'active' AND effective_at <= ? AND expires_at > ?"
    " LIMIT 1"
)
_ACTIVE_OVERRIDES = (
    "SELECT s.sid, o.id, o.colour, o.reason, s.fact_kind, s.fact_seq, o.effective_at,"
    " o.expires_at, o.log_index FROM override_subjects s JOIN overrides o"
    " ON o.id = s.override_id WHERE o.status = 'active' AND o.effective_at <= ?"
    " AND o.expires_at > ? AND s.lifted_at IS NULL AND s.sid IN ({})"
)


class _Driver:
    """Statements straight on the database driver inside ``conn``'s transaction, for bulk
    reads and writes: no per-row SQLAlchemy objects or type processing.

    SQL is written with ``?`` placeholders (``?j`` for a JSON text) and ``{}`` for an IN
    list; times go in and come out as the column type stores them (SQLite: UTC text;
    PostgreSQL: ``timestamptz``).
    """

    def __init__(self, conn: Connection) -> None:
        if not conn.in_transaction():
            conn.begin()  # so that the caller's commit is the driver's too
        raw = conn.connection.dbapi_connection
        if raw is None:
            raise RuntimeError("the connection is closed")
        self.raw = raw
        self.sqlite = conn.dialect.name == "sqlite"
        if not self.sqlite:  # times come back in UTC (timezone.utc), for this transaction only
            conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")

    def _sql(self, sql: str) -> str:
        if self.sqlite:
            return sql.replace("?j", "?")
        return sql.replace("%", "%%").replace("?j", "?::json").replace("?", "%s")

    def time(self, value: datetime | None) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else value

    def read_time(self, value: Any) -> datetime:
        if isinstance(value, str):  # SQLite: naive UTC text
            return datetime.fromisoformat(value + "+00:00")
        when: datetime = value
        return when if when.tzinfo is UTC else when.astimezone(UTC)

    def rows(
        self, sql: str, keys: Sequence[str], params: Sequence[Any] = (), *, fetch: bool = True
    ) -> list[Any]:
        """``sql`` with its ``{}`` the list ``keys`` (after ``params``), every row fetched."""
        if "{}" not in sql:
            text_ = self._sql(sql)
            args: Sequence[Any] = params
        elif self.sqlite:
            text_ = sql.format(",".join("?" * len(keys)))
            args = [*params, *keys]
        else:
            text_ = self._sql(sql.replace("IN ({})", "= ANY(?)"))
            args = [*params, list(keys)]
        cursor = self.raw.cursor()
        try:
            cursor.execute(text_, args)
            return list(cursor.fetchall()) if fetch else []
        finally:
            cursor.close()

    def many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        cursor = self.raw.cursor()
        try:
            cursor.executemany(self._sql(sql), rows)
        finally:
            cursor.close()


def _subject_facts(rows: dict[str, list[Any]]) -> SubjectFacts:
    """One subject's facts from its rows of each table (declarations newest first)."""
    return SubjectFacts(
        declarations=tuple(
            Declaration(
                declared_at=d.declared_at,
                temperature=d.temperature,
                symptoms=tuple(d.symptoms),
                residence=d.residence,
                contact_with_case=d.contact_with_case,
                proxy_relationship=d.proxy_relationship,
            )
            for d in rows["declarations"][:_DECLARATIONS_KEPT]
        ),
        stays=tuple(
            Stay(area=s.area, arrived=s.arrived, left=s.left_at, source=StaySource(s.source))
            for s in rows["stays"]
        ),
        tests=tuple(
            TestResult(
                sampled_at=t.sampled_at,
                reported_at=t.reported_at,
                outcome=TestOutcome(t.outcome),
                lab=t.lab,
            )
            for t in rows["tests"]
        ),
        cases=tuple(CaseFact(status=CaseStatus(c.status), since=c.since) for c in rows["cases"]),
        contacts=tuple(
            ContactFact(kind=ContactKind(c.kind), last_exposure=c.last_exposure)
            for c in rows["contacts"]
        ),
        quarantines=tuple(
            QuarantineOrder(start=q.starts_at, end=q.ends_at, kind=q.kind)
            for q in rows["quarantines"]
        ),
        summaries=tuple(
            SharedSummary(
                region=m.region,
                colour=Colour(m.colour),
                reasons=tuple(m.reasons),
                assessed_at=m.assessed_at,
            )
            for m in rows["summaries"]
        ),
        identity_checks=tuple(
            IdentityCheck(checked_at=c.checked_at, matched=c.matched, department=c.department)
            for c in rows["identity_checks"]
        ),
    )


def _review_at(assessment: Assessment, now: datetime) -> datetime | None:
    """The next moment the colour may change by itself: a recovery date or a lapse."""
    turn = assessment.turns_green
    if turn is None:
        return None
    times = [t for t in (turn.not_before, turn.lapses_at) if t is not None and t > now]
    return min(times) if times else now + timedelta(hours=1)
