"""The issuer node's use cases (GB/T 38963 service list), as one ``IssuerService``.

Each public method is one use case: it takes the caller and plain values, opens a unit of
work, commits on a visible line and returns plain data. Routes in ``api.py`` only parse and
map errors. Time comes from ``clock`` (and the one-time codes' randomness from the
``PhoneBook``'s ``rng``), so tests are exact.

The use cases are grouped by subject, one module each, all on one shared state:

- ``core``: construction, facts, ``reassess`` and ``Status``, authorisation, audit, area
  checks, ``data_age``;
- ``subjects``: applications (self and 代办), ``my_subjects``, declarations, itineraries,
  the health query;
- ``proxies``: linking a person who already has a record only with their consent (a code to
  the phone on record, or staff in person), and the person's view and control of their
  proxies and what each sees (``subjects`` builds on it);
- ``codes``: 制码, 验码 (the hot path) and ``public_keys``;
- ``corrections``: 纠错, submitted by citizens and decided by staff;
- ``travel``: the travel code (行程码), its view and its signed code;
- ``activity``: what a person sees of the use of their data (who checked their code, which
  staff read it, other regions' summaries) and their own corrections.

Sign-in and risk areas are thin calls into ``accounts.PhoneBook`` and ``adapters.db.risk``,
so they stay here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from yimatong.adapters import translog
from yimatong.adapters.db.risk import risk_changes, set_risk_period
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import Forbidden, InvalidInput
from yimatong.domain.facts import RiskLevel
from yimatong.domain.regions import area_prefix
from yimatong.issuer.accounts import normalise_phone
from yimatong.issuer.activity import ActivityUseCases
from yimatong.issuer.codes import CodeUseCases
from yimatong.issuer.core import Status
from yimatong.issuer.corrections import CorrectionUseCases
from yimatong.issuer.subjects import CHINA_TZ, SubjectUseCases, TravelLeg
from yimatong.issuer.travel import TravelUseCases

__all__ = ["CHINA_TZ", "IssuerService", "Status", "TravelLeg", "set_risk_period"]


class IssuerService(
    ActivityUseCases, SubjectUseCases, TravelUseCases, CodeUseCases, CorrectionUseCases
):
    """Every use case of an issuer node; built once per node in ``bootstrap.py``."""

    # ------------------------------------------------------------------ sign-in
    def request_otp(self, phone: str, *, client: str) -> None:
        """Send a one-time code; limited per client address and per phone (429 over)."""
        self.limits.hit("otp.address", client, what="one-time codes asked from this address")
        phone = normalise_phone(phone)
        self.limits.hit(
            "otp.phone",
            self.phonebook.phone_hash(phone).hex(),
            what="one-time codes asked for this phone",
        )
        now = self.clock()
        with self.db.uow() as uow:
            self.phonebook.send_code(uow.conn, phone, now=now)
            uow.commit()
        # After the commit: a code whose hash was never stored is never sent. A gateway that
        # does not take it now leaves it queued for the job leader's next round.
        self.phonebook.outbox.deliver(now=now)

    def open_session(self, phone: str, otp: str, *, client: str) -> tuple[str, datetime]:
        """Phone + one-time code → a session; attempts are limited per client address."""
        self.limits.hit("signin.address", client, what="sign-in attempts from this address")
        with self.db.uow() as uow:
            token, expires = self.phonebook.sign_in(uow.conn, phone, otp, now=self.clock())
            uow.commit()
        return token, expires

    def end_session(self, token: str) -> None:
        """A citizen signs out (the pages' sign-out): the session ends on the server too."""
        with self.db.uow() as uow:
            self.phonebook.end_session(uow.conn, token)
            uow.commit()

    # -------------------------------------------------------------- risk areas
    def set_risk_area(
        self, caller: Caller, area: str, *, level: RiskLevel, start: datetime, end: datetime | None
    ) -> dict[str, Any]:
        """Set an area's level from ``start`` (until ``end``); the history is kept.

        Only areas within this issuer's region: another region's areas are that region's (or
        the hub's national list's) to set."""
        require_role(caller, "authority", "admin")
        self._area(area, "code")
        if not area.startswith(area_prefix(self.region)):
            raise Forbidden(f"this issuer sets risk areas only within {self.region}, not {area}")
        if end is not None and end <= start:
            raise InvalidInput("to must be after from", field="to")
        with self.db.uow() as uow:
            version = set_risk_period(uow.conn, area, level, start, end, caller.name)
            translog.append(
                uow.conn,
                "risk.set",
                self.clock(),
                by=translog.actor(caller),
                version=version,
                changes=[
                    {
                        "area": area,
                        "level": level.value,
                        "from": start.isoformat(),
                        "to": end.isoformat() if end else None,
                    }
                ],
            )
            uow.commit()
        return {"area": area, "level": level.value, "from": start, "to": end, "version": version}

    def risk_areas(self, since: int = 0) -> dict[str, Any]:
        with self.db.read() as conn:
            return risk_changes(conn, since)
