"""The checkpoint's policy is the one of the region where it stands, never a guess; and when the
hub cannot be used, the checkpoint says why (credential refused, hub unreachable, not a hub).
Real hub and issuer apps in-process (the hub on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.checkpoint_helpers import (
    ISSUER_URL,
    Federation,
    down_client,
    start_federation,
)
from yimatong.verifier.link import Trouble

FEVER = 38.5


@pytest.fixture
def fed(db_url: str, tmp_path: Path, clock: Any) -> Iterator[Federation]:
    yield from start_federation(db_url, tmp_path, clock)


def gz_gate(fed: Federation, region: str, **config: Any) -> Any:
    config.setdefault("token", fed.hub_token("checkpoint", "520000"))
    return fed.verifier(at_region=region, name=f"gate-{region}", **config)


# ------------------------------------------------------------------ item 2: policy per region
def test_the_hub_says_whose_policies_apply_to_a_region(fed: Federation) -> None:
    city = fed.hub_client.get("/v1/policies/520100").json()["payload"]
    assert city["governed_by"] == ["520000"] and city["national_default"] is False
    assert {p["region"] for p in city["policies"]} == {"520000"}
    nowhere = fed.hub_client.get("/v1/policies/110000").json()["payload"]
    assert nowhere["governed_by"] == [] and nowhere["national_default"] is True


def test_a_checkpoint_moved_to_another_region_fetches_its_policy_at_once(
    fed: Federation,
) -> None:
    """verify --at 520000, then --at 520100 a moment later on the same cache: a fever is not
    let through under a national default; the new region's policy is fetched though the other
    lists are fresh."""
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    province = gz_gate(fed, "520000")
    province.refresh(max_age=timedelta(seconds=60))
    assert province.verify(code, temperature=36.5).outcome == "PASS"
    fed.clock.advance(seconds=10)
    city = gz_gate(fed, "520100")
    report = city.refresh(max_age=timedelta(seconds=60))
    assert report == {"policies-520100": "updated"}  # only what it did not have
    fever = city.verify(code, temperature=FEVER)
    assert fever.outcome == "DENY" and fever.decision is not None
    assert fever.decision.policy is not None and fever.decision.policy.region == "520000"
    assert fever.decision.reasons_en[0] == f"temperature at the gate {FEVER} °C"
    # From now on the same cache decides in 520100 offline too.
    assert gz_gate(fed, "520100", offline=True).verify(code, temperature=FEVER).outcome == "DENY"


def test_offline_without_the_regions_policy_is_a_check_never_a_pass(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gz_gate(fed, "520000").refresh()
    moved = gz_gate(fed, "520100", offline=True)
    assert moved.trust is not None and moved.policy is None
    result = moved.verify(code, temperature=FEVER)
    assert result.outcome == "CHECK" and result.mode == "offline"
    assert result.decision is not None and result.decision.policy is None
    assert "no entry policy of 520100" in result.decision.reasons_en[0]
    assert "520100" in result.decision.reasons_zh[0]


def test_the_library_online_without_the_policy_takes_the_hubs_decision(
    fed: Federation,
) -> None:
    """A Verifier used before its first refresh of a new region (the agent's first scan)."""
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gz_gate(fed, "520000").refresh()
    fresh = gz_gate(fed, "520100")
    result = fresh.verify(code, temperature=FEVER)
    assert result.mode == "online" and result.outcome == "DENY"
    assert any("decided by the hub" in n for n in result.notes)
    assert fresh.verify(code, temperature=36.5).outcome == "PASS"


def test_the_national_default_applies_only_where_the_hub_says_so(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    beijing = fed.verifier(at_region="110000", token=fed.hub_token("checkpoint", "110000"))
    beijing.refresh()
    assert beijing.policy is not None and beijing.policy.policies.governed_by == ()
    offline = fed.verifier(at_region="110000", offline=True).verify(code, temperature=FEVER)
    assert offline.outcome == "PASS" and offline.decision is not None
    assert "national default" in offline.decision.reasons_en[0]


# ------------------------------------------------------------------ item 7: say what happened
def test_a_refused_credential_is_said_and_the_lists_still_come(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gate = fed.verifier(token="cred-nope:not-a-secret")
    report = gate.refresh()
    assert set(report.values()) == {"updated"}  # public lists need no credential
    result = gate.verify(code)
    assert result.mode == "offline" and result.outcome == "PASS"
    assert gate.link is not None and gate.link.trouble is Trouble.CREDENTIAL_REFUSED
    assert result.notes[0].startswith("credential refused by the hub at http://testserver: ")
    assert result.notes[0].endswith("; decided without it")


def test_an_unreachable_hub_is_named_not_the_clock(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gate = fed.verifier(http=down_client())
    gate.refresh()
    result = gate.verify(code)
    assert result.outcome == "CHECK" and result.decision is not None
    assert result.decision.reasons_en[0] == "hub unreachable at http://testserver"
    assert result.decision.reasons_zh[0] == "无法连接国家平台（http://testserver）"
    assert not any("time has never been seen" in r for r in result.decision.reasons_en)
    assert "hub unreachable at http://testserver" in result.notes[0]


def test_an_issuer_url_given_as_the_hub_is_not_a_hub(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gate = fed.verifier(fed.tmp / "wrong-url", hub_url=ISSUER_URL, http=fed.issuer.client)
    report = gate.refresh()
    assert report["trust-list"].startswith("error")
    assert gate.link is not None and gate.link.trouble is Trouble.NOT_A_HUB
    assert "it is the issuer node of 330000" in gate.link.detail
    result = gate.verify(code)
    # Not asked for a status either: nothing signed says it is the hub.
    assert result.mode == "offline" and result.outcome == "CHECK"
    assert result.decision is not None
    assert result.decision.reasons_en[0] == f"that URL is not a hub at {ISSUER_URL}"


def test_a_random_server_answering_the_hubs_paths_is_not_a_hub(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/codes/verify":  # a "green" nobody signed
            return httpx.Response(200, json={"valid": True, "colour": "green"})
        return httpx.Response(404, text="<html>Not Found</html>")

    stranger = httpx.Client(transport=httpx.MockTransport(answer))
    gate = fed.verifier(fed.tmp / "stranger", hub_url="http://wrong.test", http=stranger)
    gate.refresh()
    assert gate.link is not None and gate.link.trouble is Trouble.NOT_A_HUB
    assert "not as a yimatong node" in gate.link.detail
    result = gate.verify(code)
    assert result.outcome == "CHECK" and result.mode == "offline"
    assert gate.upload() is not None and gate.queue.count("rejected") == 0
    stranger.close()


def test_an_expired_code_says_refresh_it(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gate = fed.verifier()
    gate.refresh()
    fed.clock.advance(minutes=3)
    for v in (gate, fed.verifier(offline=True)):
        result = v.verify(code)
        assert result.outcome == "DENY" and result.valid is False
        assert result.decision is not None
        assert result.decision.reasons_en == ("expired — refresh your code",)
        assert result.decision.reasons_zh == ("健康码已过期，请刷新后重新出示",)
    forged = code[:-6] + ("A" if code[-6] != "A" else "B") + code[-5:]
    assert gate.verify(forged).decision.reasons_en == ("the health code is not valid",)  # type: ignore[union-attr]


def test_a_non_green_codes_deny_does_not_list_a_normal_temperature(fed: Federation) -> None:
    me, sid = fed.citizen()
    fed.declare_fever(me, sid)  # yellow: fails Guizhou's "green and below 37.3 °C"
    code = fed.code(me, sid)
    gate = gz_gate(fed, "520000")
    gate.refresh()
    result = gate.verify(code, temperature=36.5)
    assert result.outcome == "DENY" and result.decision is not None
    assert not any("36.5" in r for r in result.decision.reasons_en + result.decision.reasons_zh)
    assert result.decision.reasons_en[0].startswith("yellow (declared high temperature")
