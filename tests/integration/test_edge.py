"""Every node's edge: what a client can send is refused with a problem, never a 500.

Issue 7, items 3 (the hub refuses times whose UTC form is out of range), 8 (bounded integers,
ASCII digits, 413 for chunked bodies, a 500 that keeps the connection), 9 (names without
control or format characters) and 10 (problem responses in the OpenAPI document, Allow on 405).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FakeClock
from tests.e2e.processes import free_port
from tests.integration.conftest import Issuer
from tests.integration.edge_app import LIMIT
from tests.integration.hub_data_helpers import Hub, start_hub
from yimatong.bootstrap import make_authenticator
from yimatong.domain.errors import InvalidInput

BEYOND = 2**63  # one more than the largest signed 64-bit integer
OUT_OF_RANGE = "0001-01-01T00:00:00+14:00"  # valid-looking; its UTC form is before year 1
SID = "a" * 32


@pytest.fixture
def hub(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Hub]:
    hub, close = start_hub(db_url, tmp_path, clock)
    yield hub
    close()


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    return body


def _scan(at: str) -> dict[str, Any]:
    return {
        "id": "gate-1-0001",
        "sid": SID,
        "at": at,
        "area": "330106",
        "decision": "PASS",
        "checkpoint": "gate 1",
    }


# ----------------------------------------------------------------- item 3: times at the hub
def test_the_hub_refuses_a_scan_whose_utc_time_is_out_of_range(hub: Hub) -> None:
    gate = hub.token("checkpoint", "330000")
    r = hub.client.post("/v1/scans", json={"scans": [_scan(OUT_OF_RANGE)]}, headers=gate)
    problem = _problem(r, 422)
    assert problem["errors"][0]["field"] == "scans.0.at"


def test_the_hub_refuses_events_outside_the_window_around_its_clock(hub: Hub) -> None:
    gate = hub.token("checkpoint", "330000")
    old = (hub.clock() - timedelta(days=400)).isoformat()
    r = hub.client.post("/v1/scans", json={"scans": [_scan(old)]}, headers=gate)
    assert "366 days in the past" in _problem(r, 422)["detail"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/risk-areas/330106", {"level": "high", "from": OUT_OF_RANGE}),
        ("/v1/policies/330000", {"rule": True, "description": "d", "valid_from": OUT_OF_RANGE}),
    ],
)
def test_the_hub_refuses_out_of_range_times_in_lists_it_signs(
    hub: Hub, path: str, body: dict[str, Any]
) -> None:
    r = hub.client.put(path, json=body, headers=hub.token("authority"))
    _problem(r, 422)


# ------------------------------------------------------ item 8: integers, digits, bodies
@pytest.mark.parametrize("path", ["/v1/risk-areas", "/v1/trust-list", "/v1/feed"])
def test_cursors_of_2_to_the_63_are_refused_not_overflowed(hub: Hub, path: str) -> None:
    r = hub.client.get(path, params={"since": BEYOND}, headers=hub.token("node", "330000"))
    assert _problem(r, 422)["errors"][0]["field"] == "query.since"


def test_full_width_digits_are_not_a_region_code(hub: Hub) -> None:
    r = hub.client.get("/v1/policies/３３０１０６")
    _problem(r, 422)
    r = hub.client.get("/v1/policies/330106")
    assert r.status_code == 200, r.text


def test_an_issuer_refuses_ids_and_times_a_database_cannot_hold(issuer: Issuer) -> None:
    me = issuer.sign_in("13800138000")
    sid = issuer.apply(me)["sid"]
    _problem(issuer.client.get(f"/v1/corrections/{BEYOND}", headers=me), 422)
    r = issuer.client.post(
        "/v1/corrections",
        json={"subject": sid, "kind": "itinerary", "target_id": BEYOND, "statement": "not me"},
        headers=me,
    )
    assert _problem(r, 422)["errors"][0]["field"] == "target_id"
    r = issuer.client.post(
        "/v1/itineraries",
        json={"subject": sid, "region": "330106", "from": OUT_OF_RANGE},
        headers=me,
    )
    _problem(r, 422)
    r = issuer.client.post(
        "/v1/declarations",
        json={"subject": sid, "travel": [{"area": "330106", "from": "2024-11-19T08:00:00+08:00"}]},
        headers=me,
    )
    assert _problem(r, 422)["field"] == "travel[0].from"


def test_a_chunked_body_over_the_limit_is_413_on_every_kind_of_route(issuer: Issuer) -> None:
    limit = issuer.node.settings.max_body_bytes
    staff = issuer.as_role("checkpoint")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        yield b'{"code": "'
        for _ in range(limit // 1000 + 1):
            yield b"x" * 1000
        yield b'"}'

    for path in ("/v1/codes/verify", "/v1/applications"):  # raw body; FastAPI's body
        r = issuer.client.post(path, content=chunks(), headers=staff)
        assert _problem(r, 413)["type"] == "/problems/payload-too-large", path


def test_405_says_which_methods_the_path_has(issuer: Issuer) -> None:
    r = issuer.client.delete("/v1/corrections", headers=issuer.as_role("staff"))
    _problem(r, 405)
    assert r.headers["allow"] == "GET, POST"


# --------------------------------------------------------------- a real server's connection
@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "tests.integration.edge_app:app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parents[2],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "/healthz", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("the test server did not start") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    output, _ = proc.communicate(timeout=10)
    # The failing route's message held a name: it reached neither the client nor the log.
    assert "张三" not in output.decode("utf-8", "replace")


def _local_port(r: httpx.Response) -> int:
    stream = r.extensions["network_stream"]
    return int(stream.get_extra_info("socket").getsockname()[1])


def test_a_500_leaves_the_keep_alive_connection_usable(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5) as client:
        first = client.get("/boom")
        assert first.status_code == 500
        assert first.headers["content-type"] == "application/problem+json"
        assert "张三" not in first.text
        second = client.get("/healthz")
        assert second.status_code == 200
        assert _local_port(second) == _local_port(first)  # the same connection


def test_a_chunked_body_over_the_limit_is_413_over_a_real_connection(server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(LIMIT // 100 + 1):
            yield b"x" * 100
        yield b'"}'

    with httpx.Client(base_url=server, timeout=5) as client:
        for path in ("/echo", "/raw"):
            r = client.post(path, content=chunks())
            assert r.status_code == 413, (path, r.text)
            assert r.json()["type"] == "/problems/payload-too-large"
        r = client.post("/echo", json={"text": "x" * (LIMIT + 1)})  # by Content-Length
        assert r.status_code == 413


# ------------------------------------------------------------------------ item 9: names
@pytest.mark.parametrize("name", ["张\x00三", "\u202e三张", "张\u200b三", "\u2066张三"])
def test_names_with_control_or_format_characters_are_refused(issuer: Issuer, name: str) -> None:
    me = issuer.sign_in("13800138000")
    r = issuer.client.post(
        "/v1/applications",
        json={"name": name, "id_type": "111", "id_number": "330106198001011235"},
        headers=me,
    )
    problem = _problem(r, 422)
    assert problem["errors"][0]["field"] == "name"
    assert name not in r.text


def test_the_use_case_refuses_such_a_name_whoever_calls_it(issuer: Issuer) -> None:
    session = issuer.sign_in("13800138000")["Authorization"].removeprefix("Bearer ")
    service = issuer.node.service
    citizen = make_authenticator(issuer.node.db, service.clock)(session)
    assert citizen is not None
    with pytest.raises(InvalidInput) as caught:
        service.apply(
            citizen, name="\u202e三张", id_type="111", id_number="330106198001011235", phone=None
        )
    assert caught.value.field == "name"


# -------------------------------------------------------------- item 10: the OpenAPI document
def test_the_openapi_document_lists_the_problems_each_route_answers(issuer: Issuer) -> None:
    document = issuer.client.get("/openapi.json").json()
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    apply = document["paths"]["/v1/applications"]["post"]["responses"]
    assert {"400", "401", "403", "409", "413", "422"} <= set(apply)
    for code in ("401", "409", "422"):
        assert list(apply[code]["content"]) == ["application/problem+json"]
    correction = document["paths"]["/v1/corrections/{correction_id}"]["get"]
    assert "404" in correction["responses"]
    [parameter] = [p for p in correction["parameters"] if p["name"] == "correction_id"]
    assert parameter["schema"]["maximum"] == 2**63 - 1  # an int, not a float rounded up
