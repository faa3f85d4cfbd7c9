"""Story: sixteen cities off the red list (STORIES.md, "Sixteen cities off the red list").

The authority lowers sixteen Hubei prefecture-level cities from high to low in one action and
keeps Wuhan high. People who stayed in those cities while they were high turn green on
schedule (14 days after leaving, with a negative test); Wuhan visitors stay red, with reasons.
Hub and issuer run in-process with one fake clock, so "on schedule" is exact.
"""

from __future__ import annotations

from datetime import timedelta

from tests.integration.conftest import Federation, make_id

WUHAN = "420100"
SIXTEEN = [
    "420200", "420300", "420500", "420600", "420700", "420800", "420900", "421000",
    "421100", "421200", "421300", "422800", "429004", "429005", "429006", "429021",
]  # fmt: skip


def _stay(fed: Federation, me: dict[str, str], sid: str, area: str, start, end) -> None:  # type: ignore[no-untyped-def]
    r = fed.http.post(
        "/v1/itineraries",
        json={"subject": sid, "region": area, "from": start.isoformat(), "to": end.isoformat()},
        headers=me,
    )
    assert r.status_code == 201, r.text


def _health(fed: Federation, me: dict[str, str], sid: str) -> dict:  # type: ignore[type-arg]
    r = fed.http.get(f"/v1/subjects/{sid}/health", headers=me)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_sixteen_cities_lowered_in_one_action_colours_follow_on_schedule(
    federation: Federation, clock
) -> None:
    fed, t0 = federation, clock()
    authority = fed.h("authority")
    high = [{"area": c, "level": "high", "from": (t0 - timedelta(days=30)).isoformat()}
            for c in [WUHAN, *SIXTEEN]]  # fmt: skip
    assert (
        fed.hub_http.post(
            "/v1/risk-areas/batch", json={"changes": high}, headers=authority
        ).status_code
        < 300
    )

    xiaogan_id = make_id(birth="19750505", seq="031")
    me_a, a = fed.citizen("13911110001", name="周建华", id_number=xiaogan_id)
    me_b, b = fed.citizen(
        "13911110002", name="吴丽", id_number=make_id(birth="19880808", seq="042")
    )
    _stay(fed, me_a, a, "420902", t0 - timedelta(days=5), t0 - timedelta(days=3))  # 孝南区, 孝感
    fed.sync()
    assert _health(fed, me_a, a)["colour"] == "red"

    # One action, one version: sixteen cities to low, Wuhan stays high.
    low = [{"area": c, "level": "low", "from": t0.isoformat()} for c in SIXTEEN]
    r = fed.hub_http.post("/v1/risk-areas/batch", json={"changes": low}, headers=authority)
    assert r.status_code < 300, r.text
    periods = fed.hub_http.get("/v1/risk-areas", params={"since": 1}).json()["payload"]["periods"]
    lowered = [p for p in periods if p["area"] in SIXTEEN and p["level"] == "low"]
    assert len(lowered) == 16
    assert len({p["version"] for p in lowered}) == 1

    # B goes to Wuhan after the change.
    clock.advance(days=2)
    me_a, me_b = fed.sign_in("13911110001"), fed.sign_in("13911110002")
    _stay(fed, me_b, b, "420106", clock() - timedelta(hours=20), clock() - timedelta(hours=2))
    fed.sync()
    # A's stay was in Xiaogan while it was high: still red; the level at the time counts.
    health_a = _health(fed, me_a, a)
    assert health_a["colour"] == "red"
    reason = next(x for x in health_a["reasons"] if x["code"] == "stay.high-risk")
    assert reason["detail"]["area"].startswith("4209")
    turn = health_a["turns_green"]
    assert turn["negative_tests_needed"] == 1

    # A negative test after the stay, then the fourteenth day after leaving comes.
    fed.lab_result(xiaogan_id, clock() - timedelta(hours=12))
    clock.advance(days=8, hours=23)  # 13 days 23 hours after leaving
    fed.sync()
    me_a = fed.sign_in("13911110001")
    assert _health(fed, me_a, a)["colour"] == "red"
    clock.advance(hours=2)
    fed.sync()  # the sync loop reassesses everyone whose review time came
    me_a, me_b = fed.sign_in("13911110001"), fed.sign_in("13911110002")
    assert _health(fed, me_a, a)["colour"] == "green"

    # B, who went to Wuhan after the change, is still red, with the reason.
    health_b = _health(fed, me_b, b)
    assert health_b["colour"] == "red"
    assert any(x["code"] == "stay.high-risk" and x["detail"]["area"].startswith("4201")
               for x in health_b["reasons"])  # fmt: skip
