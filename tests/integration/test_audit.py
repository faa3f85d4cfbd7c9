"""Every read of a person's data by anyone but that person is audited (issue 7, item 11).

``PERSONAL_READS`` lists every route of the issuer and of the hub that answers a person's data
to a caller other than that person; ``NOT_PERSONAL`` and ``SELF_ONLY`` list the rest. The first
test checks that the three lists together are exactly the routes each node documents (a new
route must be put in one of them), the second that each personal read leaves its audit row
where it was read, with the caller, the purpose and the sid, and never a name or ID number.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from tests.conftest import FakeClock
from tests.integration.conftest import make_id
from tests.integration.modes_support import Databases, Federation, bearer, federation
from yimatong.adapters.db.tables import audit_log, contact_facts
from yimatong.bootstrap import Node
from yimatong.credentials import add_credential

#: "METHOD /path" → (node, who reads, the audit action): each must leave that row.
PERSONAL_READS = {
    # at the issuer
    "GET /v1/subjects/{sid}/health": ("issuer", "staff", "health.read"),
    "GET /v1/subjects/{sid}/travel": ("issuer", "staff", "travel.read"),
    "POST /v1/codes/verify": ("issuer", "staff, admin", "code.verify"),
    "GET /v1/corrections": ("issuer", "staff", "correction.list"),
    "GET /v1/corrections/{correction_id}": ("issuer", "staff", "correction.read"),
    "POST /v1/corrections/{correction_id}/decision": ("issuer", "staff", "correction.decide"),
    "POST /v1/subjects/{sid}/lookup": ("issuer", "node", "lookup.checkpoint"),
    "GET /v1/subjects/{sid}/proxies": ("issuer", "staff", "proxies.read"),
    # whether a person has the fact an override names is a read of their data
    "POST /v1/overrides": ("issuer", "authority", "override.request"),
    # at the hub
    "POST /v1/lookups": ("hub", "checkpoint", "lookup.id_number"),
    "POST /v1/subjects/register": ("hub", "node", "subject.register"),
    "GET /v1/subjects/{sid}/facts": ("hub", "node", "subject.facts"),
    "GET /v1/subjects/{sid}/test-results": ("hub", "node", "subject.test-results"),
    "GET /v1/subjects/{sid}/summary": ("hub", "node", "subject.summary"),
    "GET /v1/feed": ("hub", "node", "feed.read"),
    "POST /v1/codes/verify@hub": ("hub", "checkpoint", "code.verify"),
    "POST /v1/codes/convert": ("hub", "anyone", "code.convert"),
    "POST /v1/tracing/queries": ("hub", "authority", "tracing.query"),
}

#: Routes that answer a person's data only to that person (or their 代办 account).
SELF_ONLY = {
    "issuer": {
        "POST /v1/applications",
        "GET /v1/subjects",
        "POST /v1/declarations",
        "POST /v1/itineraries",
        "POST /v1/codes",
        # a proxy's travel code is audited (travel.code); the person's own is not
        "POST /v1/travel-codes",
        "POST /v1/corrections",
        "GET /v1/link-requests",
        "POST /v1/link-requests/{request_id}/confirm",
        "DELETE /v1/link-requests/{request_id}",
        # a proxy's read of these is audited (activity.read); the person's own is not
        "GET /v1/subjects/{sid}/activity",
        "GET /v1/subjects/{sid}/corrections",
    },
    "hub": set(),
}

#: Staff changes that show a person's data as they make them; each is audited, and the test
#: named checks its row (they need a link request or a proxy of their own to act on).
AUDITED_CHANGES = {
    "issuer": {
        "POST /v1/link-requests/{request_id}/in-person": "tests/integration/test_proxies.py::"
        "test_a_person_without_a_phone_is_linked_only_in_person_and_it_is_audited",
        "DELETE /v1/subjects/{sid}/proxies/{account}": "tests/integration/test_proxies.py::"
        "test_staff_remove_a_proxy_at_the_counter_and_it_is_audited",
        "PUT /v1/subjects/{sid}/proxies/{account}/grants": "tests/integration/test_proxies.py::"
        "test_a_proxy_who_registered_a_new_person_sees_code_and_colour_and_staff_grant_more",
    },
    "hub": {},
}

#: The issuer's relay of the hub's calls for its checkpoint pages (issuer/relay.py): a read of
#: a person's data through it is audited at the issuer (and at the hub, under the issuer's
#: node credential naming the checkpoint); the test named checks both rows (it needs an issuer
#: with a link to the hub).
RELAYED_READS = {
    "issuer": {
        "POST /v1/hub/codes/verify": "tests/integration/test_checkpoint_pages.py::"
        "test_the_relay_names_the_checkpoint_and_audits_reads_at_issuer_and_hub",
        "POST /v1/hub/lookups": "tests/integration/test_checkpoint_pages.py::"
        "test_the_relay_names_the_checkpoint_and_audits_reads_at_issuer_and_hub",
    },
    "hub": {},
}

#: Routes that answer nothing about a person (counts, keys, lists, policies, sign-in).
NOT_PERSONAL = {
    "issuer": {
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /problems/{slug}",
        "POST /v1/auth/otp",
        "POST /v1/auth/session",
        "GET /v1/keys",
        "GET /v1/risk-areas",
        "PUT /v1/risk-areas/{code}",
        # the relay: the hub's signed lists and the scan upload
        "GET /v1/hub/trust-list",
        "GET /v1/hub/risk-areas",
        "GET /v1/hub/international-trust",
        "GET /v1/hub/policies/{region}",
        "POST /v1/hub/scans",
        # The issuer's own transparency log holds no personal data (docs/transparency.md).
        "GET /v1/log/sth",
        "GET /v1/log/entries",
        "GET /v1/log/proof/inclusion",
        "GET /v1/log/proof/consistency",
        # Manual colours show people as counts and a digest, never who (docs/overrides.md);
        # deciding one reads nobody's data (the people are assessed again).
        "GET /v1/overrides",
        "GET /v1/overrides/{override_id}",
        "POST /v1/overrides/{override_id}/approval",
        "POST /v1/overrides/{override_id}/refusal",
        "POST /v1/overrides/{override_id}/hub-approval",
    },
    "hub": {
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /problems/{slug}",
        "GET /v1/trust-list",
        "POST /v1/issuers",
        "POST /v1/issuers/{region}/keys",
        "DELETE /v1/issuers/{region}/keys/{kid}",
        "GET /v1/risk-areas",
        "PUT /v1/risk-areas/{code}",
        "POST /v1/risk-areas/batch",
        "POST /v1/facts",
        "POST /v1/labs",
        "GET /v1/labs",
        "POST /v1/test-results",
        # registered departments and their writes: the answer is the batch's own report
        "POST /v1/departments",
        "GET /v1/departments",
        "POST /v1/department-records",
        "POST /v1/summaries",
        "POST /v1/scans",
        "PUT /v1/policies/{region}",
        "GET /v1/policies/{region}",
        "GET /v1/policies/{region}/history",
        "GET /v1/registry/changes",
        "GET /v1/stats/{figure}",
        # The transparency log holds no personal data (docs/transparency.md).
        "GET /v1/log/sth",
        "GET /v1/log/entries",
        "GET /v1/log/proof/inclusion",
        "GET /v1/log/proof/consistency",
        "POST /v1/log/read-digests",
        "POST /v1/log/witness",
        "POST /v1/overrides/approvals",  # an override as counts and a digest
        "GET /v1/facts/{seq}/provenance",  # who recorded a fact, never whose it is
        # the EU DCC signers and SHC issuers the hub trusts: keys, no people
        "GET /v1/international-trust",
        "PUT /v1/international-trust/dcc",
        "PUT /v1/international-trust/shc",
        "PUT /v1/international-trust/dcc-revocation",
    },
    # The road node (docs/road.md) holds no personal data: vehicles are an organisation's,
    # and a citizen's phone is known only by the random id its app chose — served back only
    # to whoever names it (its points), shown as "citizen" in a cell's history, and kept with
    # its positions only as the evidence of findings (departments and the administrator).
    "road": {
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /problems/{slug}",
        "POST /v1/road/observations",
        "GET /v1/road/cells",
        "GET /v1/road/cells/{cell}",
        "GET /v1/road/network",
        "GET /v1/road/ruleset",
        "GET /v1/road/dashboard",
        "GET /v1/road/log-key",
        "GET /v1/road/points/{device_id}",
        "POST /v1/road/devices",
        "GET /v1/road/work-orders",
        "GET /v1/road/work-orders/{order_id}",
        "POST /v1/road/work-orders/{order_id}/steps",
        "GET /v1/road/findings",
        "GET /v1/road/feed",
        "GET /v1/log/sth",
        "GET /v1/log/entries",
        "GET /v1/log/proof/inclusion",
        "GET /v1/log/proof/consistency",
    },
}

NAME = "张三丰"  # what modes_support's citizen applies with


@pytest.fixture(scope="module")
def databases() -> Iterator[Databases]:
    pool = Databases()
    yield pool
    pool.close()


@dataclass
class World:
    fed: Federation
    me: dict[str, str]
    sid: str
    id_number: str
    correction: int
    tokens: dict[str, str]
    fact_seq: int

    def at(self, node: str) -> Node:
        return self.fed.hub if node == "hub" else self.fed.zj

    def http(self, node: str) -> httpx.Client:
        return self.fed.http if node == "hub" else self.fed.zj_http


@pytest.fixture
def world(db_url: str, tmp_path: Path, clock: FakeClock, databases: Databases) -> Iterator[World]:
    with federation(
        hub_db=db_url,
        zj_db=databases.url(db_url, tmp_path, "zj"),
        legacy_db=databases.url(db_url, tmp_path, "hb"),
        state=tmp_path,
        clock=clock,
    ) as fed:
        id_number = make_id("330106", "19800101", "321")
        me, sid = fed.zj_citizen(id_number=id_number)
        rng = random.Random(4)
        tokens: dict[str, str] = {}
        with fed.zj.db.uow() as uow:
            for role in ("staff", "admin"):
                tokens[f"zj-{role}"] = add_credential(
                    uow.conn, name=f"zj-{role}", role=role, now=clock(), rng=rng
                )
            tokens["zj-authority"] = add_credential(
                uow.conn, name="zj-override-asker", role="authority", now=clock(), rng=rng
            )
            uow.commit()
        with fed.hub.db.uow() as uow:
            tokens["hub-node"] = add_credential(
                uow.conn, name="zj-link", role="node", now=clock(), rng=rng, scope="330000"
            )
            tokens["hub-authority"] = add_credential(
                uow.conn, name="cdc", role="authority", now=clock(), rng=rng
            )
            uow.commit()
        fact = {"subject": sid, "kind": "contact", "last_exposure": clock().isoformat()}
        r = fed.http.post(
            "/v1/facts", json={"facts": [fact]}, headers=bearer(tokens["hub-authority"])
        )
        assert r.status_code == 200, r.text
        fact_seq = int(r.json()["first_seq"])
        with fed.zj.db.uow() as uow:  # Zhejiang's mirror of it (this federation has no link)
            uow.conn.execute(
                insert(contact_facts).values(
                    sid=sid,
                    kind="close",
                    last_exposure=clock(),
                    origin=fact_seq,
                    expires_at=clock() + timedelta(days=30),
                )
            )
            uow.commit()
        stays = fed.zj_http.post(
            "/v1/itineraries",
            json={"subject": sid, "region": "330106", "from": clock().isoformat()},
            headers=me,
        )
        assert stays.status_code == 201, stays.text
        r = fed.zj_http.post(
            "/v1/corrections",
            json={"subject": sid, "kind": "other", "statement": "我没去过那里"},
            headers=me,
        )
        assert r.status_code == 201, r.text
        yield World(fed, me, sid, id_number, r.json()["id"], tokens, fact_seq)


def _audit_rows(node: Node) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.id)).all())


def _reads(w: World) -> dict[str, list[tuple[str, str, Callable[[], httpx.Response]]]]:
    """Each personal read, done by each kind of reader it names: (actor, role, call)."""
    fed, sid = w.fed, w.sid
    zj, hub = fed.zj_http, fed.http
    staff, admin = bearer(w.tokens["zj-staff"]), bearer(w.tokens["zj-admin"])
    the_hub = bearer(fed.tokens["zj-outbound"])  # the hub's node credential at the issuer
    node = bearer(w.tokens["hub-node"])
    gate = fed.as_("checkpoint")

    def code() -> str:
        return str(fed.zj_code(w.me, sid)["code"])

    return {
        "GET /v1/subjects/{sid}/health": [
            (
                "zj-staff",
                "staff",
                lambda: zj.get(
                    f"/v1/subjects/{sid}/health", params={"purpose": "抽查"}, headers=staff
                ),
            )
        ],
        "GET /v1/subjects/{sid}/travel": [
            (
                "zj-staff",
                "staff",
                lambda: zj.get(
                    f"/v1/subjects/{sid}/travel", params={"purpose": "流调核实"}, headers=staff
                ),
            )
        ],
        "POST /v1/codes/verify": [
            (actor, role, lambda h=h: zj.post("/v1/codes/verify", json={"code": code()}, headers=h))
            for actor, role, h in (("zj-staff", "staff", staff), ("zj-admin", "admin", admin))
        ],
        "GET /v1/corrections": [
            ("zj-staff", "staff", lambda: zj.get("/v1/corrections", headers=staff))
        ],
        "POST /v1/overrides": [
            (
                "zj-override-asker",
                "authority",
                lambda: zj.post(
                    "/v1/overrides",
                    json={
                        "colour": "red",
                        "reason": "contact_upgraded",
                        "note": "流调",
                        "expires_at": (fed.clock() + timedelta(days=1)).isoformat(),
                        "subjects": [
                            {"subject": sid, "fact": {"kind": "contact", "seq": w.fact_seq}}
                        ],
                    },
                    headers=bearer(w.tokens["zj-authority"]),
                ),
            )
        ],
        "GET /v1/subjects/{sid}/proxies": [
            (
                "zj-staff",
                "staff",
                lambda: zj.get(
                    f"/v1/subjects/{sid}/proxies", params={"purpose": "柜台核实"}, headers=staff
                ),
            )
        ],
        "GET /v1/corrections/{correction_id}": [
            ("zj-staff", "staff", lambda: zj.get(f"/v1/corrections/{w.correction}", headers=staff))
        ],
        "POST /v1/corrections/{correction_id}/decision": [
            (
                "zj-staff",
                "staff",
                lambda: zj.post(
                    f"/v1/corrections/{w.correction}/decision",
                    json={"accept": False, "note": "核实无误"},
                    headers=staff,
                ),
            )
        ],
        "POST /v1/subjects/{sid}/lookup": [
            (
                "the-hub",
                "node",
                lambda: zj.post(
                    f"/v1/subjects/{sid}/lookup", json={"checkpoint": "东站"}, headers=the_hub
                ),
            )
        ],
        "POST /v1/lookups": [
            (
                "hub-checkpoint",
                "checkpoint",
                lambda: hub.post("/v1/lookups", json={"id_number": w.id_number}, headers=gate),
            )
        ],
        "POST /v1/subjects/register": [
            (
                "zj-link",
                "node",
                lambda: hub.post("/v1/subjects/register", json={"sids": [sid]}, headers=node),
            )
        ],
        "GET /v1/feed": [("zj-link", "node", lambda: hub.get("/v1/feed", headers=node))],
        "GET /v1/subjects/{sid}/facts": [
            ("zj-link", "node", lambda: hub.get(f"/v1/subjects/{sid}/facts", headers=node))
        ],
        "GET /v1/subjects/{sid}/test-results": [
            ("zj-link", "node", lambda: hub.get(f"/v1/subjects/{sid}/test-results", headers=node))
        ],
        "GET /v1/subjects/{sid}/summary": [
            ("zj-link", "node", lambda: hub.get(f"/v1/subjects/{sid}/summary", headers=node))
        ],
        "POST /v1/codes/verify@hub": [
            (
                "hub-checkpoint",
                "checkpoint",
                lambda: hub.post("/v1/codes/verify", json={"code": code()}, headers=gate),
            )
        ],
        "POST /v1/codes/convert": [
            ("anonymous", "anonymous", lambda: hub.post("/v1/codes/convert", json={"code": code()}))
        ],
        "POST /v1/tracing/queries": [
            (
                "cdc",
                "authority",
                lambda: hub.post(
                    "/v1/tracing/queries",
                    json={"subject": sid, "purpose": "流调 病例1"},
                    headers=bearer(w.tokens["hub-authority"]),
                ),
            )
        ],
    }


def _documented(http: httpx.Client) -> set[str]:
    paths = http.get("/openapi.json").json()["paths"]
    return {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}


def test_every_route_is_listed_as_a_personal_read_or_not(world: World) -> None:
    for node in ("issuer", "hub"):
        personal = {
            route.split("@")[0]
            for route, (where, _who, _a) in PERSONAL_READS.items()
            if where == node
        }
        listed = (
            personal
            | SELF_ONLY[node]
            | NOT_PERSONAL[node]
            | set(AUDITED_CHANGES[node])
            | set(RELAYED_READS[node])
        )
        assert _documented(world.http(node)) == listed, node


def test_every_road_route_is_listed_and_none_reads_a_persons_data(
    tmp_path: Path, clock: FakeClock
) -> None:
    from fastapi.testclient import TestClient

    from tests.road_support import road_settings
    from yimatong.roadnode.app import build_road

    node = build_road(
        road_settings(f"sqlite:///{tmp_path / 'road.db'}", tmp_path), clock=clock, start_jobs=False
    )
    try:
        assert _documented(TestClient(node.app)) == NOT_PERSONAL["road"]
    finally:
        node.close()


def test_every_read_of_a_persons_data_by_another_leaves_an_audit_row(world: World) -> None:
    reads = _reads(world)
    assert set(reads) == set(PERSONAL_READS)
    missing = []
    for route, (where, _who, action) in PERSONAL_READS.items():
        for actor, role, call in reads[route]:
            node = world.at(where)
            before = len(_audit_rows(node))
            r = call()
            assert r.status_code < 300, (route, r.text)
            new = _audit_rows(node)[before:]
            found = [
                row
                for row in new
                if (row.action, row.actor, row.actor_role, row.sid)
                == (action, actor, role, world.sid)
                and row.purpose
            ]
            if not found:
                missing.append((route, actor, [(n.action, n.actor, n.sid) for n in new]))
    assert missing == []
    for node in (world.fed.hub, world.fed.zj):
        for row in _audit_rows(node):
            text = " ".join(str(v) for v in row)
            assert world.id_number not in text and NAME not in text


def test_a_persons_own_reads_and_a_checkpoints_scan_leave_no_audit_row(world: World) -> None:
    """The person reads their own data freely; a checkpoint's 验码 is accounted as its scan.

    And the hub's own 验码 at the issuer (Mode 2) is audited at the hub, with the caller the
    hub asked for: the issuer writes nothing for it, so a checkpoint's online check through
    the hub costs one audit row, not two.
    """
    fed, sid = world.fed, world.sid
    before = len(_audit_rows(fed.zj))
    assert fed.zj_http.get(f"/v1/subjects/{sid}/health", headers=world.me).status_code == 200
    assert (
        fed.zj_http.get(f"/v1/corrections/{world.correction}", headers=world.me).status_code == 200
    )
    with fed.zj.db.uow() as uow:
        gate = add_credential(
            uow.conn, name="zj-gate", role="checkpoint", now=fed.clock(), rng=random.Random(8)
        )
        uow.commit()
    code = fed.zj_code(world.me, sid)["code"]
    r = fed.zj_http.post("/v1/codes/verify", json={"code": code}, headers=bearer(gate))
    assert r.status_code == 200, r.text
    at_hub = len(_audit_rows(fed.hub))
    assert fed.verify(code).json()["status"] == "online"  # the hub asked the issuer
    assert len(_audit_rows(fed.zj)) == before
    assert [r.action for r in _audit_rows(fed.hub)[at_hub:]] == ["code.verify"]


def test_staff_must_read_with_a_purpose_and_it_is_recorded(world: World) -> None:
    fed = world.fed
    staff = bearer(world.tokens["zj-staff"])
    code = fed.zj_code(world.me, world.sid)["code"]
    body = {"code": code, "checkpoint": "杭州东站 3 号口"}
    assert fed.zj_http.post("/v1/codes/verify", json=body, headers=staff).status_code == 200
    last = _audit_rows(fed.zj)[-1]
    assert (last.action, last.actor_role, last.purpose) == (
        "code.verify",
        "staff",
        "验码 at 杭州东站 3 号口",
    )
