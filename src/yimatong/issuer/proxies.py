"""代办 with consent: who may act for a person, how that was agreed, and what a proxy sees.

Knowing an ID number proves nothing. An application (``subjects.apply``) for a person this node
has no record of creates the record and links it to the caller (consent ``registered``), as
it always did. An application for a person who already has a record — for oneself or for a
relative alike — links at once only when the caller's own phone, proved at sign-in, is the
phone on the record (``phone``). Otherwise it becomes a pending *link request* and gives no
access: a one-time code goes to the phone on record through the node's SMS gateway (kept only
as an HMAC, five minutes, five attempts, five codes an hour per person, as the sign-in code),
and the requester completes the link with the code the person tells them (``sms``); or staff
confirm it in person, having typed in the document they were shown, with a stated purpose that
goes to the audit log (``staff``). A person with no phone on record can be linked only in
person; the answer never says whether there is a phone, nor anything from the record.

A link is marked with its relationship, how consent was given and when (``links.created_at``).
The person's own account (``self``) lists every other account linked to them, removes any of
them (at once: access is checked on every request) and grants a proxy the itinerary and the
test history. By default a proxy sees the code and colour, with reason codes and what turns it
green, and may declare, add stays and make codes (代办). A person without an account of their
own grants through staff. Links made before consent existed are ``unverified``, with no grants.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from yimatong.adapters.db.database import inserted_id
from yimatong.adapters.db.tables import accounts, link_requests, links, subjects
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from yimatong.issuer.accounts import mask_phone
from yimatong.issuer.core import Access, IssuerCore

__all__ = ["CONSENTS", "LINK_REQUEST_TTL", "MAX_RELATIVES", "ProxyUseCases", "restrict_view"]

#: How many relatives one account may act for (代办), as Beijing allowed; pending requests count.
MAX_RELATIVES = 4

#: How long a link request waits for its code or the in-person check.
LINK_REQUEST_TTL = timedelta(days=3)

#: A proxy as the person (or staff) sees it: the link and the proxy's account.
_PROXY_VIEW = select(
    links.c.account_id,
    links.c.relationship,
    links.c.consent,
    links.c.created_at,
    links.c.grant_itinerary,
    links.c.grant_tests,
    accounts.c.phone_hash,
    accounts.c.enc_phone,
).join(accounts, accounts.c.id == links.c.account_id)

#: How a link was justified (``links.consent``).
CONSENTS = ("registered", "phone", "sms", "staff", "unverified")


def restrict_view(view: dict[str, Any], access: Access) -> dict[str, Any]:
    """A health view cut to what ``access`` grants: a proxy's default is the code and colour.

    Without the itinerary grant the stays, other regions' summaries and the reasons' details
    (areas, hours, times) go; without the tests grant the test history goes. What a code
    itself carries stays: colour, reason codes, hours since the last negative test, and what
    turns the colour green. ``withheld`` names what was left out.
    """
    if access.is_self:
        return view
    out = dict(view)
    withheld: list[str] = []
    if not (access.itinerary and access.tests):
        out["reasons"] = [
            {"code": r["code"], "rule_id": r["rule_id"], "colour": r["colour"]}
            for r in view.get("reasons", [])
        ]
        withheld.append("reason_details")
    if not access.itinerary:
        for key in ("itinerary", "shared"):
            if out.pop(key, None) is not None:
                withheld.append(key)
    if not access.tests:
        out.pop("last_negative_test_sampled_at", None)
        if out.pop("tests", None) is not None:
            withheld.append("tests")
    out["grants"] = {"itinerary": access.itinerary, "tests": access.tests}
    out["withheld"] = withheld
    return out


class ProxyUseCases(IssuerCore):
    """Link requests and their consent, and the person's view and control of their proxies."""

    # ------------------------------------------------------- linking a known subject
    def _check_room(
        self, conn: Connection, account_id: int, sid: str, relationship: str, now: datetime
    ) -> None:
        """Refuse a link the account may not have: a duplicate, a second self, a fifth relative."""
        held = conn.execute(
            select(links.c.sid, links.c.relationship).where(links.c.account_id == account_id)
        ).all()
        asked = conn.execute(
            select(link_requests.c.sid, link_requests.c.relationship).where(
                link_requests.c.account_id == account_id,
                link_requests.c.expires_at > now,
                link_requests.c.sid != sid,
            )
        ).all()
        if any(r.sid == sid for r in held):
            raise Conflict("this person is already on your account")
        both = [*held, *asked]
        if relationship == "self":
            if any(r.relationship == "self" for r in both):
                raise Conflict("your account already has your own application")
        elif sum(r.relationship != "self" for r in both) >= MAX_RELATIVES:
            raise Conflict(f"one account may act for at most {MAX_RELATIVES} relatives")

    def _link_existing(
        self,
        conn: Connection,
        caller: Caller,
        sid: str,
        relationship: str,
        own_phone: str,
        now: datetime,
    ) -> dict[str, Any]:
        """Link a subject who has a record if the caller holds its phone; else ask for consent."""
        assert caller.account_id is not None
        enc_phone = conn.execute(
            select(subjects.c.enc_phone).where(subjects.c.sid == sid)
        ).scalar_one()
        record_phone = self.cipher.decrypt(enc_phone, aad=sid.encode()) if enc_phone else None
        if record_phone is not None and hmac.compare_digest(record_phone, own_phone):
            self._insert_link(conn, caller.account_id, sid, relationship, "phone", now)
            return self._linked_view(conn, sid, relationship, "phone")
        return self._request_link(conn, caller.account_id, sid, relationship, record_phone, now)

    def _request_link(
        self,
        conn: Connection,
        account_id: int,
        sid: str,
        relationship: str,
        record_phone: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """Open (or renew) the account's request for ``sid`` and text the code, if a phone is on
        record. Everything else behaves the same without one, so the answer cannot tell."""
        policy = self.phonebook.policy
        # However many people ask, one person's phone gets few codes (the shared limiter).
        self.limits.hit("link_code.subject", sid, what="consent codes asked for this person")
        code_hash = None
        if record_phone is not None:
            requester = self.phonebook.account_phone(conn, account_id)
            # Sent after this transaction commits (the outbox), whatever the gateway does now.
            code_hash = self.phonebook.send_link_code(
                conn,
                record_phone,
                sid=sid,
                account_id=account_id,
                requester=requester,
                relationship=relationship,
                now=now,
            )
        values: dict[str, Any] = {
            "relationship": relationship,
            "code_hash": code_hash,
            "code_expires_at": now + policy.ttl,
            "attempts": 0,
            "expires_at": now + LINK_REQUEST_TTL,
        }
        row = conn.execute(
            select(link_requests.c.id).where(
                link_requests.c.sid == sid, link_requests.c.account_id == account_id
            )
        ).first()
        if row is None:
            request_id = inserted_id(
                conn.execute(
                    insert(link_requests).values(
                        sid=sid, account_id=account_id, created_at=now, **values
                    )
                )
            )
        else:
            request_id = int(row.id)
            conn.execute(
                update(link_requests).where(link_requests.c.id == request_id).values(**values)
            )
        return {
            "status": "pending",
            "request": request_id,
            "relationship": relationship,
            "expires_at": values["expires_at"],
            "code_expires_at": values["code_expires_at"],
            "next": (
                "this person already has a record: ask them for the code sent to the phone on "
                f"their record and POST it to /v1/link-requests/{request_id}/confirm, or go "
                "with them and their document to a service counter"
            ),
        }

    def _insert_link(
        self,
        conn: Connection,
        account_id: int,
        sid: str,
        relationship: str,
        consent: str,
        now: datetime,
        *,
        itinerary: bool = False,
        tests: bool = False,
    ) -> None:
        assert consent in CONSENTS
        conn.execute(
            insert(links).values(
                account_id=account_id,
                sid=sid,
                relationship=relationship,
                created_at=now,
                consent=consent,
                grant_itinerary=itinerary,
                grant_tests=tests,
            )
        )

    @staticmethod
    def _linked_view(conn: Connection, sid: str, relationship: str, consent: str) -> dict[str, Any]:
        masked = conn.execute(
            select(subjects.c.masked_name, subjects.c.masked_id).where(subjects.c.sid == sid)
        ).one()
        return {
            "status": "linked",
            "sid": sid,
            "masked_name": masked.masked_name,
            "masked_id": masked.masked_id,
            "relationship": relationship,
            "consent": consent,
        }

    def _complete(
        self,
        conn: Connection,
        request: Any,
        consent: str,
        now: datetime,
        *,
        itinerary: bool = False,
        tests: bool = False,
    ) -> dict[str, Any]:
        """Turn a request into a link (the account's limits are checked again)."""
        conn.execute(delete(link_requests).where(link_requests.c.id == request.id))
        self._check_room(conn, request.account_id, request.sid, request.relationship, now)
        self._insert_link(
            conn,
            request.account_id,
            request.sid,
            request.relationship,
            consent,
            now,
            itinerary=itinerary,
            tests=tests,
        )
        return self._linked_view(conn, request.sid, request.relationship, consent)

    # ------------------------------------------------------------------ use cases
    def link_requests(self, caller: Caller) -> list[dict[str, Any]]:
        """The caller's open link requests (no subject data: the record is not theirs yet)."""
        require_role(caller, "citizen")
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    link_requests.c.id,
                    link_requests.c.relationship,
                    link_requests.c.created_at,
                    link_requests.c.expires_at,
                )
                .where(
                    link_requests.c.account_id == caller.account_id,
                    link_requests.c.expires_at > self.clock(),
                )
                .order_by(link_requests.c.created_at)
            ).all()
        return [
            {
                "request": r.id,
                "relationship": r.relationship,
                "created_at": r.created_at,
                "expires_at": r.expires_at,
            }
            for r in rows
        ]

    def withdraw_link_request(self, caller: Caller, request_id: int) -> None:
        """The requester gives up a pending request (freeing its place among their relatives)."""
        require_role(caller, "citizen")
        with self.db.uow() as uow:
            gone = uow.conn.execute(
                delete(link_requests).where(
                    link_requests.c.id == request_id,
                    link_requests.c.account_id == caller.account_id,
                )
            ).rowcount
            if not gone:
                raise NotFound("no such link request")
            uow.commit()

    def confirm_link(self, caller: Caller, request_id: int, code: str) -> dict[str, Any]:
        """The requester completes a link with the code the person was sent."""
        require_role(caller, "citizen")
        now = self.clock()
        wrong = InvalidInput(
            "the code is wrong or has expired; apply again for a new one", field="code"
        )
        with self.db.uow() as uow:
            conn = uow.conn
            row = conn.execute(
                select(link_requests).where(
                    link_requests.c.id == request_id,
                    link_requests.c.account_id == caller.account_id,
                    link_requests.c.expires_at > now,
                )
            ).first()
            if row is None:
                raise NotFound("no such link request")
            if (
                row.code_hash is None
                or row.code_expires_at <= now
                or row.attempts >= self.phonebook.policy.max_attempts
            ):
                raise wrong
            expected = self.phonebook.link_code_hash(row.sid, row.account_id, code)
            if not hmac.compare_digest(row.code_hash, expected):
                conn.execute(
                    update(link_requests)
                    .where(link_requests.c.id == request_id)
                    .values(attempts=link_requests.c.attempts + 1)
                )
                uow.commit()  # a failed attempt counts even though we refuse
                raise wrong
            view = self._complete(conn, row, "sms", now)
            uow.commit()
        return view

    def confirm_in_person(
        self,
        caller: Caller,
        request_id: int,
        *,
        id_type: str,
        id_number: str,
        purpose: str | None,
        itinerary: bool = False,
        tests: bool = False,
    ) -> dict[str, Any]:
        """Staff saw the person and their document: link, with the grants the person gives.

        The document typed in must be the request's (staff prove they saw it; the record is
        not shown to them). For a ``self`` request, the account's phone becomes the phone on
        record: the holder stood at the counter, and the old phone was not theirs or is lost.
        """
        require_role(caller, "staff", "admin")
        stated = _purpose(purpose)
        now = self.clock()
        _, _, sid = self._document(id_type, id_number, now)
        with self.db.uow() as uow:
            conn = uow.conn
            row = conn.execute(
                select(link_requests).where(
                    link_requests.c.id == request_id, link_requests.c.expires_at > now
                )
            ).first()
            if row is None:
                raise NotFound("no such link request")
            if row.sid != sid:
                raise InvalidInput(
                    "the document shown is not the one this request is for", field="id_number"
                )
            if row.relationship == "self":
                phone = self.phonebook.account_phone(conn, row.account_id)
                conn.execute(
                    update(subjects)
                    .where(subjects.c.sid == sid)
                    .values(enc_phone=self.cipher.encrypt(phone, aad=sid.encode()))
                )
            view = self._complete(conn, row, "staff", now, itinerary=itinerary, tests=tests)
            self._audit(conn, caller, "link.confirm", sid, stated, now)
            uow.commit()
        return view

    def proxies(self, caller: Caller, sid: str, *, purpose: str | None) -> list[dict[str, Any]]:
        """Every other account linked to ``sid``: the person's own view, or staff's (audited)."""
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            mine = self._controller(conn, caller, sid, purpose, "proxies.read", now)
            rows = conn.execute(
                _PROXY_VIEW.where(links.c.sid == sid).order_by(
                    links.c.created_at, links.c.account_id
                )
            ).all()
            uow.commit()
        return [self._proxy_view(r) for r in rows if r.account_id != mine]

    def remove_proxy(
        self, caller: Caller, sid: str, account_id: int, *, purpose: str | None
    ) -> None:
        """Unlink ``account_id`` from ``sid`` (and drop its pending request): access ends now.

        The person's own account removes anyone; any account may remove its own link; staff
        remove with a stated purpose (audited), for a person with no account of their own.
        """
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            if caller.role == "citizen" and caller.account_id == account_id:
                self._access(conn, caller, sid)
            else:
                self._controller(conn, caller, sid, purpose, "proxy.remove", now)
            gone = conn.execute(
                delete(links).where(links.c.sid == sid, links.c.account_id == account_id)
            ).rowcount
            conn.execute(
                delete(link_requests).where(
                    link_requests.c.sid == sid, link_requests.c.account_id == account_id
                )
            )
            if not gone:
                raise NotFound("no such proxy")
            uow.commit()

    def set_grants(
        self,
        caller: Caller,
        sid: str,
        account_id: int,
        *,
        itinerary: bool,
        tests: bool,
        purpose: str | None,
    ) -> dict[str, Any]:
        """What a proxy sees beyond the code and colour: set by the person, or staff for them."""
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            self._controller(conn, caller, sid, purpose, "proxy.grants", now)
            row = conn.execute(
                select(links.c.relationship).where(
                    links.c.sid == sid, links.c.account_id == account_id
                )
            ).first()
            if row is None:
                raise NotFound("no such proxy")
            if row.relationship == "self":
                raise Conflict("a person's own account sees everything already")
            conn.execute(
                update(links)
                .where(links.c.sid == sid, links.c.account_id == account_id)
                .values(grant_itinerary=itinerary, grant_tests=tests)
            )
            view = conn.execute(
                _PROXY_VIEW.where(links.c.sid == sid, links.c.account_id == account_id)
            ).one()
            uow.commit()
        return self._proxy_view(view)

    # ------------------------------------------------------------------ helpers
    def _controller(
        self,
        conn: Connection,
        caller: Caller,
        sid: str,
        purpose: str | None,
        action: str,
        now: datetime,
    ) -> int | None:
        """Who may see and change a person's proxies: their own account, or staff (audited).

        Returns the caller's account id (None for staff). A proxy is refused; an account with
        no link to ``sid`` is told there is no such subject.
        """
        if caller.role == "citizen":
            if not self._access(conn, caller, sid).is_self:
                raise Forbidden("only the person's own account manages who acts for them")
            return caller.account_id
        require_role(caller, "staff", "admin")
        stated = _purpose(purpose)
        if conn.execute(select(subjects.c.sid).where(subjects.c.sid == sid)).first() is None:
            raise NotFound("no such subject")
        self._audit(conn, caller, action, sid, stated, now)
        return None

    def _proxy_view(self, row: Any) -> dict[str, Any]:
        own = row.relationship == "self"
        return {
            "account": row.account_id,
            "phone": mask_phone(self.cipher.decrypt(row.enc_phone, aad=row.phone_hash)),
            "relationship": row.relationship,
            "consent": row.consent,
            "linked_at": row.created_at,
            "grants": {
                "itinerary": own or bool(row.grant_itinerary),
                "tests": own or bool(row.grant_tests),
            },
        }


def _purpose(purpose: str | None) -> str:
    if not purpose or not purpose.strip():
        raise InvalidInput("staff must state the purpose of this", field="purpose")
    return purpose.strip()[:200]
