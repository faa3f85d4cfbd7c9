"""The hub's national risk-area list: scope, history, batches, the signed delta list, ETags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FakeClock
from tests.integration.hub_data_helpers import Hub, start_hub
from yimatong.adapters.signed import BadDocument, verify_document
from yimatong.domain.regions import default_divisions


@pytest.fixture
def hub(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Hub]:
    hub, close = start_hub(db_url, tmp_path, clock)
    yield hub
    close()


def _put(hub: Hub, code: str, scope: str | None = None, **body: str) -> httpx.Response:
    body.setdefault("level", "high")
    body.setdefault("from", "2026-11-01T00:00:00+08:00")
    r: httpx.Response = hub.client.put(
        f"/v1/risk-areas/{code}", json=body, headers=hub.token("authority", scope)
    )
    return r


def _list(hub: Hub, since: int = 0) -> dict[str, Any]:
    r = hub.client.get("/v1/risk-areas", params={"since": since})
    assert r.status_code == 200, r.text
    return verify_document(r.json(), hub.hub_keys())


def test_set_and_list_signed_with_the_hub_key(hub: Hub) -> None:
    r = _put(hub, "330106002", level="medium", to="2026-11-15T00:00:00+08:00")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "area": "330106002",
        "level": "medium",
        "from": "2026-10-31T16:00:00Z",  # sent in Beijing time; every answer is in UTC
        "to": "2026-11-14T16:00:00Z",
        "version": 1,
    }
    payload = _list(hub)
    assert payload["type"] == "risk-areas"
    assert payload["version"] == 1
    assert payload["since"] == 0
    assert payload["issued_at"] == hub.clock().isoformat()
    [period] = payload["periods"]
    assert period["area"] == "330106002"
    assert period["level"] == "medium"
    assert period["version"] == 1
    assert period["from"].startswith("2026-10-31T16:00:00")  # stored and served as UTC
    assert set(period) == {"id", "area", "level", "from", "to", "version"}

    # anybody may fetch it; a tampered copy fails verification
    r = hub.client.get("/v1/risk-areas")
    doc = r.json()
    doc["payload"]["periods"][0]["level"] = "low"
    with pytest.raises(BadDocument):
        verify_document(doc, hub.hub_keys())


def test_deltas_history_and_etag(hub: Hub) -> None:
    assert _put(hub, "420100", level="high").status_code == 200  # v1
    assert _put(hub, "330106", level="medium").status_code == 200  # v2
    # v3: Wuhan lowered from 20 Nov: the high period is cut short (kept, re-stamped v3)
    assert (
        _put(hub, "420100", level="low", **{"from": "2026-11-20T00:00:00+08:00"}).json()["version"]
        == 3
    )
    full = _list(hub)
    assert full["version"] == 3
    wuhan = [p for p in full["periods"] if p["area"] == "420100"]
    assert [(p["level"], p["version"]) for p in wuhan] == [("high", 3), ("low", 3)]
    assert wuhan[0]["to"] == wuhan[1]["from"]

    delta = _list(hub, since=2)
    assert delta["since"] == 2
    assert {(p["area"], p["level"]) for p in delta["periods"]} == {
        ("420100", "high"),
        ("420100", "low"),
    }
    assert _list(hub, since=3)["periods"] == []

    r = hub.client.get("/v1/risk-areas", params={"since": 3})
    etag = r.headers["etag"]
    assert etag == '"risk-3-3"'
    r = hub.client.get("/v1/risk-areas", params={"since": 3}, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    # a new version makes the old tag stale
    assert _put(hub, "520102", level="medium").status_code == 200
    r = hub.client.get("/v1/risk-areas", params={"since": 3}, headers={"If-None-Match": etag})
    assert r.status_code == 200
    assert r.headers["etag"] == '"risk-4-3"'
    assert [p["area"] for p in r.json()["payload"]["periods"]] == ["520102"]


def test_scope_of_an_authority(hub: Hub) -> None:
    # an authority of Zhejiang sets Zhejiang's areas, to the street, and nothing outside
    assert _put(hub, "330106002", scope="330000").status_code == 200
    assert _put(hub, "330000", scope="330000").status_code == 200
    r = _put(hub, "420100", scope="330000")
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "330000" in r.json()["detail"]
    # a city authority: only its city; a county: only its county
    assert _put(hub, "330106", scope="330100").status_code == 200
    assert _put(hub, "330200", scope="330100").status_code == 403
    assert _put(hub, "330106002", scope="330106").status_code == 200
    assert _put(hub, "330105", scope="330106").status_code == 403
    # a national authority sets anything
    assert _put(hub, "420100").status_code == 200
    # other roles may not set at all; anonymous callers are refused
    r = hub.client.put(
        "/v1/risk-areas/330106",
        json={"level": "low", "from": "2026-11-01T00:00:00+08:00"},
        headers=hub.token("admin"),
    )
    assert r.status_code == 403
    r = hub.client.put(
        "/v1/risk-areas/330106", json={"level": "low", "from": "2026-11-01T00:00:00+08:00"}
    )
    assert r.status_code == 401
    # a batch with one area outside the scope changes nothing
    r = hub.client.post(
        "/v1/risk-areas/batch",
        json={
            "changes": [
                {"area": "330106", "level": "low", "from": "2026-11-02T00:00:00+08:00"},
                {"area": "420100", "level": "low", "from": "2026-11-02T00:00:00+08:00"},
            ]
        },
        headers=hub.token("authority", "330000"),
    )
    assert r.status_code == 403
    assert _list(hub)["version"] == 5


@pytest.mark.parametrize(
    ("code", "body", "status", "field"),
    [
        ("999999", {}, 422, "code"),  # unknown code
        ("330103", {}, 422, "code"),  # 下城区, merged in 2021: not a current code
        ("3301", {}, 422, None),  # neither 6 nor 9 digits
        ("330106", {"level": "purple"}, 422, None),
        ("330106", {"from": "2026-11-01T00:00:00"}, 422, None),  # no offset
        ("330106", {"to": "2026-10-01T00:00:00+08:00"}, 422, "to"),  # ends before it starts
    ],
)
def test_invalid_settings_are_problems(
    hub: Hub, code: str, body: dict[str, str], status: int, field: str | None
) -> None:
    r = _put(hub, code, **body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    if field:
        assert r.json()["field"] == field
    assert _list(hub)["version"] == 0


def test_sixteen_hubei_cities_off_the_red_list_in_one_version(hub: Hub) -> None:
    divisions = default_divisions()
    hubei = [r.code for r in divisions.children("420000")]
    assert len(hubei) == 17
    body = {
        "changes": [
            {"area": code, "level": "high", "from": "2026-02-01T00:00:00+08:00"} for code in hubei
        ],
        "note": "Hubei on the red list",
    }
    national = hub.token("authority")
    r = hub.client.post("/v1/risk-areas/batch", json=body, headers=national)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1

    sixteen = [c for c in hubei if c != "420100"]  # every Hubei prefecture but Wuhan
    assert len(sixteen) == 16
    r = hub.client.post(
        "/v1/risk-areas/batch",
        json={
            "changes": [
                {"area": c, "level": "low", "from": "2026-03-10T00:00:00+08:00"} for c in sixteen
            ],
            "note": "sixteen cities off the red list",
        },
        headers=national,
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["version"] == 2
    assert result["count"] == 16

    delta = _list(hub, since=1)
    assert delta["version"] == 2
    # each city: its high period cut short and a new low one, all stamped with version 2
    assert {p["version"] for p in delta["periods"]} == {2}
    assert len(delta["periods"]) == 32
    assert {p["area"] for p in delta["periods"]} == set(sixteen)
    # Wuhan is untouched and still high in the full list
    wuhan = [p for p in _list(hub)["periods"] if p["area"] == "420100"]
    assert [(p["level"], p["to"], p["version"]) for p in wuhan] == [("high", None, 1)]


def test_batch_validation_names_the_item(hub: Hub) -> None:
    r = hub.client.post(
        "/v1/risk-areas/batch",
        json={
            "changes": [
                {"area": "330106", "level": "low", "from": "2026-11-02T00:00:00+08:00"},
                {"area": "999999", "level": "low", "from": "2026-11-02T00:00:00+08:00"},
            ]
        },
        headers=hub.token("authority"),
    )
    assert r.status_code == 422
    assert r.json()["field"] == "changes[1].area"
    r = hub.client.post(
        "/v1/risk-areas/batch", json={"changes": []}, headers=hub.token("authority")
    )
    assert r.status_code == 422
    assert _list(hub)["version"] == 0
