"""An issuer linked to a hub, both in-process: national data in, Mode 1 summaries out."""

from __future__ import annotations

import base64
import random
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.integration.conftest import Federation, make_id
from yimatong.adapters import keystore
from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.db.tables import hub_feed
from yimatong.adapters.signed import canonical
from yimatong.credentials import add_credential
from yimatong.verifier.policy import Outcome, PolicySet, decide, facts_from_answer


def test_a_case_posted_at_the_hub_turns_the_issuers_colour_red(
    federation: Federation, clock
) -> None:
    me, sid = federation.citizen()
    federation.sync()  # pushes the first summary: the hub now knows sid belongs to 330000
    r = federation.hub_http.post(
        "/v1/facts",
        json={
            "facts": [
                {
                    "subject": sid,
                    "kind": "contact",
                    "contact_kind": "close",
                    "last_exposure": (clock() - timedelta(days=2)).isoformat(),
                }
            ]
        },
        headers=federation.h("authority"),
    )
    assert r.status_code in (200, 201), r.text
    report = federation.sync()
    assert report.feed_rows == 1
    health = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert health["colour"] == "red"
    assert [x["code"] for x in health["reasons"]] == ["contact.close"]
    assert health["data_as_of"] is not None
    # The new colour went back to the hub as a Mode 1 summary.
    federation.sync()
    with federation.hub.db.read() as conn:
        kinds = [
            (r.kind, r.body.get("colour"))
            for r in conn.execute(select(hub_feed).where(hub_feed.c.sid == sid))
        ]
    assert ("summary", "red") in kinds


def test_a_lab_result_from_shanghai_shows_with_hours_since_sampling(
    federation: Federation, clock
) -> None:
    me, sid = federation.citizen()
    key = generate_signing_key(Algorithm.EDDSA)
    lab = federation.hub_http.post(
        "/v1/labs",
        json={
            "lab_id": "sh-1",
            "name": "上海某检测所",
            "region": "310000",
            "public_key": base64.b64encode(key.public.spki_der()).decode(),
        },
        headers=federation.h("admin"),
    )
    assert lab.status_code == 201, lab.text
    sampled = clock() - timedelta(hours=30)
    message = {
        "lab_id": "sh-1",
        "batch_id": "b-1",
        "results": [
            {
                "id_type": "111",
                "id_number": make_id(),
                "sampled_at": sampled.isoformat(),
                "reported_at": (sampled + timedelta(hours=8)).isoformat(),
                "result": "negative",
            }
        ],
    }
    signature = base64.urlsafe_b64encode(key.sign(canonical(message))).rstrip(b"=").decode()
    r = federation.hub_http.post(
        "/v1/test-results",
        json={**message, "signature": signature},
        headers={"Authorization": f"Bearer {lab.json()['credential']}"},
    )
    assert r.status_code in (200, 201), r.text
    federation.sync()
    tests = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()["tests"]
    assert [(t["outcome"], t["hours_since_sampling"]) for t in tests] == [("negative", 30)]


def test_the_issuer_keeps_working_when_the_hub_is_unreachable(
    federation: Federation, clock
) -> None:
    me, sid = federation.citizen()
    federation.sync()
    clock.advance(minutes=10)
    federation.issuer.link.client.base_url = "http://127.0.0.1:9"  # nothing listens there
    federation.issuer.link.client._client = httpx.Client(timeout=0.5)
    report = federation.issuer.link.sync_once()
    assert "feed" in report.errors
    r = federation.http.post("/v1/codes", json={"subject": sid}, headers=me)
    assert r.status_code == 201, r.text
    health = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert health["data_age_seconds"] >= 600
    assert health["hub_error"]


def _trust_keys(federation: Federation) -> dict[str, Any]:
    payload = federation.hub_http.get("/v1/trust-list").json()["payload"]
    return {k["kid"]: k for k in payload["keys"] if k["region"] == "330000"}


def test_a_rotated_key_reaches_the_trust_list_proved_by_the_old_one(
    federation: Federation, clock
) -> None:
    issuer = federation.issuer
    before = set(_trust_keys(federation))
    with issuer.db.uow() as uow:
        new = keystore.create_key(
            uow.conn, issuer.service.cipher, Algorithm.EDDSA, region="330000", now=clock()
        )
        uow.commit()
    report = federation.sync()
    assert report.keys == 1
    after = _trust_keys(federation)
    assert set(after) == before | {new.kid.hex()}
    # Revoking here revokes at the hub: every verifier drops it at its next refresh.
    with issuer.db.uow() as uow:
        keystore.revoke(uow.conn, new.kid, now=clock())
        uow.commit()
    federation.sync()
    assert _trust_keys(federation)[new.kid.hex()]["revoked_at"] is not None


def test_a_newcomers_earlier_national_data_arrives_with_the_application(
    federation: Federation, clock
) -> None:
    id_number = make_id(birth="19660606", seq="077")
    r = federation.hub_http.post(
        "/v1/facts",
        json={
            "facts": [
                {
                    "id_type": "111",
                    "id_number": id_number,
                    "kind": "case",
                    "status": "confirmed",
                    "since": (clock() - timedelta(days=1)).isoformat(),
                }
            ]
        },
        headers=federation.h("authority"),
    )
    assert r.status_code in (200, 201), r.text
    me, sid = federation.citizen("13700000077", id_number=id_number)
    # No sync round yet: the application itself fetched the subject's national data.
    health = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert health["colour"] == "red"
    assert [x["code"] for x in health["reasons"]] == ["case.confirmed"]


def test_department_records_reach_the_issuer_as_stays_and_a_pop_up(
    federation: Federation, clock
) -> None:
    """A telecom stay and a rail leg feed the travel code with their sources; a police
    identity mismatch gives the pop-up (弹窗) reason, yellow, with what to do."""
    me, sid = federation.citizen()
    federation.sync()
    admin = federation.h("admin")

    def upload(kind: str, dept_kind: str, records: list[dict[str, Any]]) -> Any:
        key = generate_signing_key(Algorithm.EDDSA)
        r = federation.hub_http.post(
            "/v1/departments",
            json={"department_id": f"d-{kind}", "kind": dept_kind, "name": kind,
                  "region": "330000",
                  "public_key": base64.b64encode(key.public.spki_der()).decode()},
            headers=admin,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        message = {"department_id": f"d-{kind}", "batch_id": f"b-{kind}", "kind": kind,
                   "records": records}  # fmt: skip
        signature = base64.urlsafe_b64encode(key.sign(canonical(message))).rstrip(b"=").decode()
        r = federation.hub_http.post(
            "/v1/department-records",
            json={**message, "signature": signature},
            headers={"Authorization": f"Bearer {r.json()['credential']}"},
        )
        assert r.status_code == 200 and not r.json()["rejected"], r.text
        return r.json()

    t = clock()
    upload("telecom", "telecom", [
        {"subject": sid, "phone": "13800138000", "city": "330100",
         "from": (t - timedelta(days=3)).isoformat(),
         "to": (t - timedelta(days=3) + timedelta(hours=6)).isoformat()}])  # fmt: skip
    upload("rail", "rail", [
        {"subject": sid, "trip": "G1234", "date": (t - timedelta(days=2)).date().isoformat(),
         "from": "330100", "to": "520100", "departs_at": (t - timedelta(days=2)).isoformat(),
         "arrives_at": (t - timedelta(days=2) + timedelta(hours=7)).isoformat(),
         "carriage": "5", "seat": "12F"}])  # fmt: skip
    upload("identity", "police", [
        {"subject": sid, "name": "林小红", "match": False,
         "checked_at": (t - timedelta(hours=1)).isoformat()}])  # fmt: skip
    report = federation.sync()
    assert report.feed_rows == 4 and report.quarantined == 0
    health = federation.http.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert health["colour"] == "yellow"
    assert [x["code"] for x in health["reasons"]] == ["popup.identity-mismatch"]
    assert health["reasons"][0]["detail"]["source"] == "police"
    travel = federation.http.get(f"/v1/subjects/{sid}/travel", headers=me).json()
    (hangzhou,) = [c for c in travel["cities"] if c["city"] == "330100"]
    assert {"source": "telecom", "kind": "department"} in hangzhou["sources"]
    # the issuer's 验码 answers yellow with the pop-up; a checkpoint sends the person to staff
    with federation.issuer.db.uow() as uow:
        gate = add_credential(uow.conn, name="gate-1", role="checkpoint", now=clock(),
                              rng=random.Random(5), scope="330000")  # fmt: skip
        uow.commit()
    code = federation.http.post(
        "/v1/codes", json={"subject": sid, "kind": "dynamic"}, headers=me
    ).json()["code"]
    r = federation.http.post(
        "/v1/codes/verify",
        json={"code": code, "at_region": "330100"},
        headers={"Authorization": f"Bearer {gate}"},
    )
    assert r.status_code == 200, r.text
    # what a checkpoint decides from that answer, whatever its region's entry policy
    facts = facts_from_answer(r.json(), now=clock(), region="330100")
    decision = decide(PolicySet("330100", 1, ()), facts)  # the national default: green passes
    assert decision.outcome is Outcome.CHECK
    assert decision.reasons_en[0].startswith("pop-up: the police found the name")
