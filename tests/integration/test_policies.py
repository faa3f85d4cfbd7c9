"""Entry policies at the hub over HTTP, on SQLite and PostgreSQL: set by the authority in its
scope, validated, versioned with history, served signed with an ETag, applied by Mode 2."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.checkpoint_helpers import Federation, start_federation
from yimatong.adapters.signed import verify_document
from yimatong.hub.policies import EntryPolicies, demo_policies

GREEN = {"===": [{"var": "code.colour"}, "green"]}


@pytest.fixture
def fed(db_url: str, tmp_path: Path, clock: Any) -> Iterator[Federation]:
    yield from start_federation(db_url, tmp_path, clock, seed_policies=False)


def put(fed: Federation, region: str, body: dict[str, Any], scope: str | None = None) -> Any:
    return fed.hub_client.put(
        f"/v1/policies/{region}", json=body, headers=fed.as_hub("authority", scope)
    )


def test_authority_sets_and_anyone_reads_the_signed_list(fed: Federation) -> None:
    r = put(fed, "330000", {"place_kind": "transport", "rule": GREEN, "description": "绿码"})
    assert r.status_code == 200, r.text
    set_ = r.json()
    assert set_["version"] >= 1 and set_["set_by"] == "authority-None"
    r = fed.hub_client.get("/v1/policies/330000")  # anonymous
    assert r.status_code == 200, r.text
    key = fed.ctx.hub_key()
    payload = verify_document(r.json(), {key.kid: key.public})
    assert payload["type"] == "policies" and payload["region"] == "330000"
    assert payload["version"] == set_["version"]
    (item,) = payload["policies"]
    assert item["rule"] == GREEN and item["place_kind"] == "transport"
    etag = r.headers["etag"]
    again = fed.hub_client.get("/v1/policies/330000", headers={"If-None-Match": etag})
    assert again.status_code == 304
    put(fed, "330000", {"rule": GREEN, "description": "any place: green"})
    moved = fed.hub_client.get("/v1/policies/330000", headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["etag"] != etag
    assert len(moved.json()["payload"]["policies"]) == 2


def test_a_malformed_rule_is_422_naming_the_json_pointer(fed: Federation) -> None:
    bad = {"and": [GREEN, {"<": [{"var": "scan.temperature_decidegrees"}]}]}
    r = put(fed, "330000", {"rule": bad, "description": "x"})
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"] == "/problems/invalid-input"
    assert problem["field"] == "/rule/and/1/<"
    assert "/rule/and/1/<" in problem["detail"]
    typo = put(
        fed, "330000", {"rule": {"===": [{"var": "code.color"}, "green"]}, "description": "x"}
    )
    assert typo.status_code == 422
    assert typo.json()["field"] == "/rule/===/0/var"
    assert (
        put(fed, "330000", {"rule": GREEN, "description": "x", "place_kind": "zoo"}).status_code
        == 422
    )
    assert put(fed, "990000", {"rule": GREEN, "description": "x"}).status_code == 422


def test_only_an_authority_within_its_scope(fed: Federation) -> None:
    body = {"rule": GREEN, "description": "green"}
    assert put(fed, "520000", body, scope="330000").status_code == 403
    assert put(fed, "330100", body, scope="330000").status_code == 200
    assert put(fed, "330000", body, scope="330100").status_code == 403
    assert put(fed, "000000", body, scope="330000").status_code == 403
    assert put(fed, "000000", body).status_code == 200  # national authority
    r = fed.hub_client.put(
        "/v1/policies/330000", json=body, headers=fed.as_hub("checkpoint", "330000")
    )
    assert r.status_code == 403
    assert fed.hub_client.put("/v1/policies/330000", json=body).status_code == 401


def test_history_is_kept_and_the_list_shows_what_applies_now_and_later(
    fed: Federation, clock: Any
) -> None:
    put(fed, "330000", {"rule": GREEN, "description": "v1"})
    put(fed, "330000", {"rule": GREEN, "description": "v2"})
    later = (clock() + timedelta(days=2)).isoformat()
    until = (clock() + timedelta(days=9)).isoformat()
    put(
        fed,
        "330000",
        {"rule": GREEN, "description": "tight", "valid_from": later, "valid_to": until},
    )
    shown = fed.hub_client.get("/v1/policies/330000").json()["payload"]["policies"]
    # v1 is covered by v2 for all its future; the temporary tightening is listed beside v2.
    assert [p["description"] for p in shown] == ["tight", "v2"]
    history = fed.hub_client.get("/v1/policies/330000/history").json()["policies"]
    assert [p["description"] for p in history] == ["tight", "v2", "v1"]


def test_a_region_sees_the_policies_of_the_regions_containing_it(fed: Federation) -> None:
    put(fed, "330000", {"rule": GREEN, "description": "province"})
    put(fed, "000000", {"rule": GREEN, "description": "nation"})
    shown = fed.hub_client.get("/v1/policies/330106").json()["payload"]
    assert shown["region"] == "330106"
    assert {p["region"] for p in shown["policies"]} == {"330000", "000000"}


def test_the_demo_policies_are_seeded_once(fed: Federation) -> None:
    store = EntryPolicies(fed.ctx)
    assert store.seed(demo_policies()) == 3
    assert store.seed(demo_policies()) == 0
    kinds = {
        (p["region"], p["place_kind"])
        for region in ("330000", "520000")
        for p in fed.hub_client.get(f"/v1/policies/{region}").json()["payload"]["policies"]
    }
    assert kinds == {("330000", "transport"), ("330000", "any"), ("520000", "any")}


def test_mode_2_verify_adds_the_decision_of_the_checkpoints_region(fed: Federation) -> None:
    EntryPolicies(fed.ctx).seed(demo_policies())
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gate = {"Authorization": f"Bearer {fed.hub_token('checkpoint', '520000')}"}
    r = fed.hub_client.post("/v1/codes/verify", json={"code": code}, headers=gate)
    assert r.status_code == 200, r.text
    decision = r.json()["decision"]
    assert decision["outcome"] == "CHECK"  # Guizhou wants the temperature
    assert decision["missing"] == ["temperature"]
    r = fed.hub_client.post(
        "/v1/codes/verify", json={"code": code, "temperature": 36.4}, headers=gate
    )
    assert r.json()["decision"]["outcome"] == "PASS"
    assert r.json()["decision"]["policy"]["region"] == "520000"
