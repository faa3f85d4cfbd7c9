"""Mode 3: the hub hosts the issuer service of a region without a system (Tibet, 540000).

The hosted region is a full issuer under ``/regions/540000`` with its own accounts, data and
keys; its keys are in the hub's trust list, so its codes verify at the hub (Mode 2) and
everywhere. On each database backend (PostgreSQL needs ``YMT_HOSTED_DB_540000``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import FakeClock
from tests.integration.conftest import Inbox, make_id
from tests.integration.modes_support import (
    Databases,
    Federation,
    bearer,
    federation,
    hub_settings,
)
from yimatong.adapters import keystore
from yimatong.adapters.crypto import Algorithm
from yimatong.adapters.db.tables import issuer_keys, issuers, subjects
from yimatong.adapters.wire.code import peek_code, verify_code_at
from yimatong.config import ConfigError
from yimatong.domain.errors import InvalidCode
from yimatong.hub.app import build_hub
from yimatong.hub.hosting import HostedIssuer, hosted_db_url
from yimatong.verifier.lists import build_trust

TIBET = "540000"
PREFIX = f"/regions/{TIBET}"


@pytest.fixture(scope="module")
def databases() -> Iterator[Databases]:
    pool = Databases()
    yield pool
    pool.close()


def hosted_env(db_url: str, tmp_path: Path, databases: Databases) -> dict[str, str]:
    if db_url.startswith("sqlite"):
        return {}  # a SQLite file beside the hub's
    return {"YMT_HOSTED_DB_540000": databases.url(db_url, tmp_path, "xz")}


@pytest.fixture
def fed(
    db_url: str, tmp_path: Path, clock: FakeClock, databases: Databases
) -> Iterator[Federation]:
    with federation(
        hub_db=db_url,
        zj_db=databases.url(db_url, tmp_path, "zj"),
        legacy_db=databases.url(db_url, tmp_path, "hb"),
        state=tmp_path,
        clock=clock,
        hosted=(TIBET,),
        hub_extra=hosted_env(db_url, tmp_path, databases),
    ) as f:
        yield f


def hosted(fed: Federation) -> HostedIssuer:
    found: HostedIssuer = fed.ctx.hosted_services[TIBET]
    return found


def tibetan(fed: Federation, phone: str = "13700000001") -> tuple[dict[str, str], str]:
    """A citizen signs in at the hosted region's own accounts and applies: (headers, sid)."""
    r = fed.http.post(f"{PREFIX}/v1/auth/otp", json={"phone": phone})
    assert r.status_code == 202, r.text
    r = fed.http.post(
        f"{PREFIX}/v1/auth/session", json={"phone": phone, "otp": fed.inbox.last_code(phone)}
    )
    assert r.status_code == 200, r.text
    me = bearer(r.json()["token"])
    body = {"name": "扎西次仁", "id_type": "111", "id_number": make_id("540102")}
    r = fed.http.post(f"{PREFIX}/v1/applications", json=body, headers=me)
    assert r.status_code == 201, r.text
    return me, r.json()["sid"]


def code_for(fed: Federation, me: dict[str, str], sid: str, kind: str = "dynamic") -> str:
    r = fed.http.post(f"{PREFIX}/v1/codes", json={"subject": sid, "kind": kind}, headers=me)
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    return code


def trust_list(fed: Federation) -> dict[str, Any]:
    payload: dict[str, Any] = fed.http.get("/v1/trust-list").json()["payload"]
    return payload


# ------------------------------------------------------------------------------ the tests


def test_a_citizen_of_a_hosted_region_gets_a_code_that_the_hub_recognises(
    fed: Federation,
) -> None:
    me, sid = tibetan(fed)
    code = code_for(fed, me, sid)
    assert peek_code(code).issuer == TIBET

    r = fed.verify(code)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["issuer"], answer["issuer_kind"], answer["status"]) == (
        TIBET,
        "hosted",
        "online",
    )
    assert answer["sid"] == sid
    assert answer["colour"] == "green"
    assert answer["display"]["masked_name"] == "扎***"


def test_the_hosted_region_follows_its_own_data(fed: Federation) -> None:
    me, sid = tibetan(fed)
    code = code_for(fed, me, sid)
    r = fed.http.post(
        f"{PREFIX}/v1/declarations", json={"subject": sid, "temperature": 38.2}, headers=me
    )
    assert r.status_code == 201, r.text
    answer = fed.verify(code).json()
    assert (answer["colour"], answer["claimed_colour"]) == ("yellow", "green")
    # A hosted code converts like any other.
    national = fed.http.post("/v1/codes/convert", json={"code": code}).json()
    assert (national["source_issuer"], national["source_issuer_kind"]) == (TIBET, "hosted")
    assert national["colour"] == "yellow"


def test_the_hosted_regions_keys_are_in_the_trust_list(fed: Federation) -> None:
    payload = trust_list(fed)
    entry = next(i for i in payload["issuers"] if i["region"] == TIBET)
    assert entry["kind"] == "hosted"
    assert entry["endpoint"] == PREFIX
    assert entry["status"] == "active"
    own = fed.http.get(f"{PREFIX}/v1/keys").json()
    assert own["issuer"] == TIBET
    published = {k["kid"]: k["public_key"] for k in payload["keys"] if k["region"] == TIBET}
    assert published == {k["kid"]: k["public_key"] for k in own["keys"]}
    assert len(published) == 1


def test_a_hosted_region_has_its_own_docs_and_its_own_accounts(fed: Federation) -> None:
    r = fed.http.get(f"{PREFIX}/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"] == f"yimatong issuer {TIBET}"
    assert "/v1/applications" in r.json()["paths"]
    assert fed.http.get(f"{PREFIX}/healthz").json()["region"] == TIBET
    # The hub's credentials are not the hosted region's, and the other way round.
    r = fed.http.get(f"{PREFIX}/v1/corrections", headers=fed.as_("admin"))
    assert r.status_code == 401
    me, _ = tibetan(fed)
    assert fed.http.post("/v1/codes/verify", json={"code": "x"}, headers=me).status_code == 401
    # A hosted route that does not exist is a problem detail from the hosted node.
    r = fed.http.get(f"{PREFIX}/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_in_a_hosted_region_an_id_number_alone_links_nobody_the_persons_code_does(
    fed: Federation,
) -> None:
    """The Mode 3 region runs the issuer's own consent flow (issuer/proxies.py)."""
    holder, sid = tibetan(fed)  # 13700000001 is the phone on record
    r = fed.http.post(f"{PREFIX}/v1/auth/otp", json={"phone": "13700000002"})
    assert r.status_code == 202
    r = fed.http.post(
        f"{PREFIX}/v1/auth/session",
        json={"phone": "13700000002", "otp": fed.inbox.last_code("13700000002")},
    )
    other = bearer(r.json()["token"])
    body = {
        "name": "扎西次仁",
        "id_type": "111",
        "id_number": make_id("540102"),
        "for_relative": {"relationship": "父亲"},
    }
    r = fed.http.post(f"{PREFIX}/v1/applications", json=body, headers=other)
    assert r.status_code == 202, r.text
    assert sid not in r.text
    assert fed.http.get(f"{PREFIX}/v1/subjects/{sid}/health", headers=other).status_code == 404
    r = fed.http.post(
        f"{PREFIX}/v1/link-requests/{r.json()['request']}/confirm",
        json={"code": fed.inbox.last_code("13700000001")},
        headers=other,
    )
    assert r.status_code == 200, r.text
    seen = fed.http.get(f"{PREFIX}/v1/subjects/{sid}/health", headers=other).json()
    assert seen["grants"] == {"itinerary": False, "tests": False}
    proxies = fed.http.get(f"{PREFIX}/v1/subjects/{sid}/proxies", headers=holder).json()
    assert [(p["relationship"], p["consent"]) for p in proxies] == [("父亲", "sms")]


def test_the_hosted_regions_data_stays_in_its_own_database(fed: Federation) -> None:
    _, sid = tibetan(fed)
    with hosted(fed).node.db.read() as conn:
        assert conn.execute(select(subjects.c.region).where(subjects.c.sid == sid)).scalar() == (
            TIBET
        )
    with fed.hub.db.read() as conn:
        assert conn.execute(select(subjects.c.sid)).first() is None


def test_a_new_hosted_key_is_published_when_its_first_code_arrives(fed: Federation) -> None:
    me, sid = tibetan(fed)
    node = hosted(fed).node
    with node.db.uow() as uow:
        new = keystore.create_key(
            uow.conn, node.service.cipher, Algorithm.EDDSA, region=TIBET, now=fed.clock()
        )
        uow.commit()
    code = code_for(fed, me, sid)
    assert peek_code(code).kid == new.kid
    version = trust_list(fed)["version"]

    r = fed.verify(code)
    assert r.status_code == 200, r.text
    payload = trust_list(fed)
    assert payload["version"] > version
    kids = {k["kid"]: k for k in payload["keys"] if k["region"] == TIBET}
    assert new.kid.hex() in kids
    assert sum(k["not_after"] is None for k in kids.values()) == 1  # the old one retired


def test_a_hosted_key_revoked_at_the_hub_is_revoked_in_the_hosted_node_too(
    fed: Federation,
) -> None:
    me, sid = tibetan(fed)
    code = code_for(fed, me, sid)
    kid = peek_code(code).kid
    r = fed.http.delete(f"/v1/issuers/{TIBET}/keys/{kid.hex()}", headers=fed.as_("admin"))
    assert r.status_code == 200, r.text
    assert fed.verify(code).status_code == 422

    # The revocation reached the hosted keystore with the request: a fresh key signs.
    with hosted(fed).node.db.read() as conn:
        keys = {k.kid: k for k in keystore.list_keys(conn, TIBET)}
    assert keys[kid].revoked_at is not None
    assert len(keys) == 2
    # Never un-revoked by a later sync; nothing is left for it to do.
    fed.clock.advance(seconds=1)
    assert hosted(fed).sync_keys() is False
    with fed.hub.db.read() as conn:
        row = conn.execute(select(issuer_keys).where(issuer_keys.c.kid == kid)).one()
    assert row.revoked_at is not None


def test_revoking_a_hosted_key_over_http_moves_its_signer_to_a_published_key_at_once(
    fed: Federation,
) -> None:
    """The report's 22 minutes: a code made right after the revocation verifies everywhere."""
    me, sid = tibetan(fed)
    old = code_for(fed, me, sid)
    kid = peek_code(old).kid
    r = fed.http.delete(f"/v1/issuers/{TIBET}/keys/{kid.hex()}", headers=fed.as_("admin"))
    assert r.status_code == 200, r.text

    fresh = code_for(fed, me, sid)  # same instant: no sync, no cache expiry, no restart
    assert peek_code(fresh).kid != kid
    # Offline, against a trust list fetched now (before any verify could trigger a sync).
    hub_key = fed.ctx.hub_key().public
    state = build_trust([fed.http.get("/v1/trust-list").json()], {hub_key.kid: hub_key})
    assert verify_code_at(fresh, state.keyring, fed.clock()).issuer == TIBET
    with pytest.raises(InvalidCode):
        verify_code_at(old, state.keyring, fed.clock())
    # And at the hub (Mode 2), which asks the hosted node for the status in-process.
    r = fed.verify(fresh)
    assert r.status_code == 200, r.text
    assert r.json()["issuer"] == TIBET
    assert fed.verify(old).status_code == 422


def test_the_hub_starts_again_on_the_same_databases(
    fed: Federation, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    tibetan(fed)
    version = trust_list(fed)["version"]
    settings = hub_settings(db_url, tmp_path / "hub", **fed.hub.settings.extra)
    again = build_hub(settings, clock=clock, rng=random.Random(9), hosted=(TIBET,), sms=Inbox())
    try:
        with TestClient(again.app) as http:
            payload = http.get("/v1/trust-list").json()["payload"]
            assert payload["version"] == version  # nothing to publish: no new version
            r = http.post(f"{PREFIX}/v1/auth/otp", json={"phone": "13700000001"})
            assert r.status_code == 202
    finally:
        for h in again.service.hosted_services.values():
            h.node.close()
        again.close()
    with fed.hub.db.read() as conn:
        rows = conn.execute(select(issuers.c.region).where(issuers.c.kind == "hosted")).all()
    assert [r.region for r in rows] == [TIBET]


def test_a_region_registered_as_native_cannot_also_be_hosted(
    fed: Federation, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    settings = hub_settings(db_url, tmp_path / "hub", **fed.hub.settings.extra)
    with pytest.raises(ConfigError, match="registered at this hub as a native issuer"):
        build_hub(settings, clock=clock, hosted=("330000",))


def test_on_postgresql_a_hosted_region_needs_its_own_database(tmp_path: Path) -> None:
    settings = hub_settings("postgresql://db.invalid/hub", tmp_path)
    with pytest.raises(ConfigError, match="YMT_HOSTED_DB_540000"):
        hosted_db_url(settings, TIBET)
    settings = hub_settings(
        "postgresql://db.invalid/hub",
        tmp_path,
        YMT_HOSTED_DB_540000="postgresql://db.invalid/xz",
    )
    assert hosted_db_url(settings, TIBET) == "postgresql://db.invalid/xz"
    assert hosted_db_url(hub_settings("sqlite:///x.db", tmp_path), TIBET) == (
        f"sqlite:///{tmp_path / 'hosted-540000.db'}"
    )


def test_every_route_of_the_hub_and_of_a_hosted_region_refuses_anonymous_callers(
    fed: Federation,
) -> None:
    """Deny by default, at the hub and under /regions/540000 alike (public paths excepted)."""
    from yimatong.hub.app import HUB_PUBLIC_PATHS
    from yimatong.web_common import PUBLIC_PATHS

    def walk(prefix: str, public: frozenset[str]) -> int:
        checked = 0
        paths = fed.http.get(f"{prefix}/openapi.json").json()["paths"]
        for template, operations in paths.items():
            for method in operations:
                if f"{method.upper()} {template}" in public:
                    continue
                path = template.replace("{", "").replace("}", "")
                r = fed.http.request(method.upper(), prefix + path)
                assert r.status_code == 401, (method, prefix + template, r.status_code)
                checked += 1
        return checked

    assert walk("", frozenset(HUB_PUBLIC_PATHS)) > 5
    assert walk(PREFIX, PUBLIC_PATHS) > 5
    # ...and the public conversion really is public.
    r = fed.http.post("/v1/codes/convert", json={"code": "YMT1:AAAA"})
    assert r.status_code == 422


def test_a_hosted_regions_docs_load_from_under_its_prefix(fed: Federation) -> None:
    from tests.integration.test_docs import assert_docs_are_self_contained

    assert_docs_are_self_contained(fed.http, PREFIX)
