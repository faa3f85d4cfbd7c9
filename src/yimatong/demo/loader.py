"""Load a synthetic population into the demo's nodes.

Native issuers get their residents as if each had signed up and applied: an account per
phone, the subject (encrypted as always), their self-declared itinerary and an assessment;
about one in twenty of the elderly is on a younger relative's account (代办), linked as if
with their consent. What the authority and the labs know (cases, contacts, test results) is
*not* written here: the demo posts it to the hub over HTTP, like a real authority and lab,
and the issuers receive it through their feed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from yimatong.adapters.db.tables import accounts, links, stays, subjects
from yimatong.demo.population import Person
from yimatong.domain import identity
from yimatong.issuer.services import IssuerService

__all__ = ["RELATIONSHIPS", "load_native", "subject_id_of"]

RELATIONSHIPS = {"1": "父亲", "2": "母亲"}


def subject_id_of(secret: bytes, person: Person) -> str:
    return identity.subject_id(secret, person.id_type, person.id_number)


def load_native(
    service: IssuerService,
    people: Sequence[Person],
    *,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    chunk: int = 500,
) -> list[str]:
    """Store ``people`` at ``service``'s node; returns their sids in order."""
    secret = service.secret
    cipher = service.cipher
    phonebook = service.phonebook
    sids = [subject_id_of(secret, p) for p in people]
    expires = now + service.retention
    account_of: dict[int, int] = {}
    for start in range(0, len(people), chunk):
        part = range(start, min(start + chunk, len(people)))
        with service.db.uow() as uow:
            conn = uow.conn
            subject_rows: list[dict[str, Any]] = []
            stay_rows: list[dict[str, Any]] = []
            for i in part:
                person, sid = people[i], sids[i]
                aad = sid.encode()
                subject_rows.append(
                    {
                        "sid": sid,
                        "region": service.region,
                        "doc_type": person.id_type.value,
                        "enc_name": cipher.encrypt(person.name, aad=aad),
                        "enc_id_number": cipher.encrypt(person.id_number, aad=aad),
                        "enc_phone": cipher.encrypt(person.phone, aad=aad),
                        "enc_address": None,
                        "masked_name": identity.mask_name(person.name),
                        "masked_id": identity.mask_id(person.id_number),
                        "birth_year": person.birth_date.year,
                        "backfilled_at": None,
                        "created_at": now,
                        "expires_at": expires,
                    }
                )
                for stay in person.stays:
                    stay_rows.append(
                        {
                            "sid": sid,
                            "area": stay.area,
                            "arrived": stay.arrived,
                            "left_at": stay.left,
                            "source": stay.source.value,
                            "created_at": now,
                            "expires_at": expires,
                        }
                    )
            known = {
                r.sid
                for r in conn.execute(
                    select(subjects.c.sid).where(
                        subjects.c.sid.in_([r["sid"] for r in subject_rows])
                    )
                )
            }
            fresh = [r for r in subject_rows if r["sid"] not in known]
            if fresh:
                conn.execute(insert(subjects), fresh)
                new_sids = {r["sid"] for r in fresh}
                rows = [r for r in stay_rows if r["sid"] in new_sids]
                if rows:
                    conn.execute(insert(stays), rows)
            for i in part:
                if sids[i] not in known:
                    account_of[i] = _account(conn, phonebook, cipher, people[i].phone, now)
            for i in part:
                if sids[i] in known:
                    continue
                conn.execute(
                    insert(links).values(
                        account_id=account_of[i],
                        sid=sids[i],
                        relationship="self",
                        created_at=now,
                        consent="registered",
                    )
                )
            for i in part:
                if sids[i] not in known:
                    service.reassess(conn, sids[i], now)
            uow.commit()
        if progress is not None:
            progress(len(part))
    # 代办: an elderly person also appears on the account of the younger relative who helps,
    # as if the parent had passed on the code their phone was sent (issuer/proxies.py); the
    # helper sees the code and colour, not the itinerary or the tests, as by default.
    with service.db.uow() as uow:
        for i, person in enumerate(people):
            helper = person.proxy_index
            if helper is None or helper not in account_of or i not in account_of:
                continue
            relationship = RELATIONSHIPS.get(person.sex.value, "亲属")
            uow.conn.execute(
                insert(links).values(
                    account_id=account_of[helper],
                    sid=sids[i],
                    relationship=relationship,
                    created_at=now,
                    consent="sms",
                )
            )
        uow.commit()
    return sids


def _account(conn: Any, phonebook: Any, cipher: Any, phone: str, now: datetime) -> int:
    ph = phonebook.phone_hash(phone)
    row = conn.execute(select(accounts.c.id).where(accounts.c.phone_hash == ph)).first()
    if row is not None:
        return int(row.id)
    return int(
        conn.execute(
            insert(accounts).values(
                phone_hash=ph, enc_phone=cipher.encrypt(phone, aad=ph), created_at=now
            )
        ).inserted_primary_key[0]
    )
