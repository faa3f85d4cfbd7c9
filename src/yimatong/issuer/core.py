"""The issuer's shared state and the steps its use cases share.

``IssuerCore`` holds what a node is built from (region, database, cipher, phone book, ruleset,
divisions, clock, retention), its caches (the signing key and keyring that ``codes`` uses, the
risk areas that assessment reads), and the machinery the use-case groups stand on: loading a
subject's facts, ``reassess`` (assess and store the online ``Status``), authorising a citizen
for a subject, the audit log, area-code checks and the age of the hub's data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from yimatong.adapters import keystore
from yimatong.adapters.crypto import FieldCipher
from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.limits import Limiter
from yimatong.adapters.db.risk import RiskCache
from yimatong.adapters.db.tables import (
    assessments,
    case_facts,
    contact_facts,
    declarations,
    feed_quarantine,
    links,
    quarantine_orders,
    stays,
    subjects,
    summaries,
    sync_state,
    test_results,
)
from yimatong.adapters.wire.code import Keyring
from yimatong.credentials import Caller, require_role
from yimatong.domain import identity
from yimatong.domain.assessment import Assessment, RuleSet, assess_at
from yimatong.domain.errors import InvalidInput, NotFound
from yimatong.domain.facts import (
    CaseFact,
    CaseStatus,
    Colour,
    ContactFact,
    ContactKind,
    Declaration,
    QuarantineOrder,
    SharedSummary,
    Stay,
    StaySource,
    SubjectFacts,
    TestOutcome,
    TestResult,
)
from yimatong.domain.regions import Divisions
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
    ) -> None:
        self.region = region
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
        self._keyring: tuple[float, Keyring] | None = None
        self._risk = RiskCache()
        #: called after a new subject is stored (the hub link fetches its national data)
        self.on_new_subject: Callable[[str], None] | None = None

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
        self, conn: Connection, sids: Sequence[str], now: datetime
    ) -> dict[str, SubjectFacts]:
        """The facts of every subject in ``sids``: one query a table, whatever their number."""
        wanted = list(dict.fromkeys(sids))
        found: dict[str, dict[str, list[Any]]] = {
            sid: {name: [] for name in _FACT_KINDS} for sid in wanted
        }

        def gather(name: str, query: Any) -> None:
            for row in conn.execute(query):
                found[row.sid][name].append(row)

        gather(
            "declarations",
            select(declarations)
            .where(declarations.c.sid.in_(wanted))
            .order_by(declarations.c.sid, declarations.c.declared_at.desc()),
        )
        gather(
            "stays",
            select(stays.c.sid, stays.c.area, stays.c.arrived, stays.c.left_at, stays.c.source)
            .where(stays.c.sid.in_(wanted), stays.c.voided_at.is_(None)),
        )  # fmt: skip
        gather("tests", select(test_results).where(test_results.c.sid.in_(wanted)))
        gather("cases", select(case_facts).where(case_facts.c.sid.in_(wanted)))
        gather("contacts", select(contact_facts).where(contact_facts.c.sid.in_(wanted)))
        gather("quarantines", select(quarantine_orders).where(quarantine_orders.c.sid.in_(wanted)))
        gather(
            "summaries",
            select(summaries).where(summaries.c.sid.in_(wanted), summaries.c.region != self.region),
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

        A new colour is marked for sharing with the hub (``pushed_at`` cleared), and
        ``review_at`` records when the colour may change with no new fact, so the sync loop
        (and 验码) can reassess on time. The subject's own record is kept for the retention
        period after it was last assessed: a person still in the programme is not purged.
        Callers keep ``sids`` to a few hundred per call (one transaction, one IN list).
        """
        wanted = list(dict.fromkeys(sids))
        if not wanted:
            return {}
        conn.execute(
            update(subjects)
            .where(subjects.c.sid.in_(wanted))
            .values(expires_at=now + self.retention)
        )
        facts = self._facts_many(conn, wanted, now)
        risk = self._risk.load(conn)
        priors = {
            row.sid: row
            for row in conn.execute(
                select(assessments.c.sid, assessments.c.colour, assessments.c.colour_since).where(
                    assessments.c.sid.in_(wanted)
                )
            )
        }
        ruleset = f"{self.ruleset.id}@{self.ruleset.version}"
        statuses: dict[str, Status] = {}
        new_rows: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        same: list[dict[str, Any]] = []
        for sid in wanted:
            assessment = assess_at(facts[sid], risk, self.ruleset, now)
            colour = assessment.colour.value
            values: dict[str, Any] = {
                "b_sid": sid,
                "colour": colour,
                "colour_since": now,
                "assessed_at": now,
                "ruleset": ruleset,
                "body": assessment.to_dict(),
                "review_at": _review_at(assessment, now),
            }
            prior = priors.get(sid)
            if prior is None:
                new_rows.append(values)
            elif prior.colour == colour:
                values["colour_since"] = prior.colour_since
                same.append(values)
            else:
                changed.append(values)
            statuses[sid] = Status(assessment, values["colour_since"])
        if new_rows:
            conn.execute(
                insert(assessments),
                [{**_without_key(v), "sid": v["b_sid"], "pushed_at": None} for v in new_rows],
            )
        columns = ("colour", "colour_since", "assessed_at", "ruleset", "body", "review_at")
        if same:
            conn.execute(_bulk_update(columns), same)
        if changed:
            conn.execute(  # a new colour is to be shared again
                _bulk_update(columns).values(pushed_at=None), changed
            )
        return statuses


_FACT_KINDS = (
    "declarations", "stays", "tests", "cases", "contacts", "quarantines", "summaries",
)  # fmt: skip
#: The newest declarations the rules look at.
_DECLARATIONS_KEPT = 20


def _without_key(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "b_sid"}


def _bulk_update(columns: Sequence[str]) -> Any:
    """``UPDATE assessments SET col = :col, ... WHERE sid = :b_sid``, for executemany."""
    return (
        update(assessments)
        .where(assessments.c.sid == bindparam("b_sid"))
        .values({name: bindparam(name) for name in columns})
    )


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
    )


def _review_at(assessment: Assessment, now: datetime) -> datetime | None:
    """The next moment the colour may change by itself: a recovery date or a lapse."""
    turn = assessment.turns_green
    if turn is None:
        return None
    times = [t for t in (turn.not_before, turn.lapses_at) if t is not None and t > now]
    return min(times) if times else now + timedelta(hours=1)
