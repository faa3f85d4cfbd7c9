"""The offline-first verifier against an in-process hub and issuer (hub on SQLite and
PostgreSQL): online and offline decisions, the cache, clock safety, revocation, scan records,
and people without phones."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from tests.integration.checkpoint_helpers import (
    FakeTime,
    Federation,
    down_client,
    make_id,
    start_federation,
)
from yimatong.adapters.db.tables import audit_log, hub_feed
from yimatong.verifier.queue import Scan

GREEN = {"===": [{"var": "code.colour"}, "green"]}


@pytest.fixture
def fed(db_url: str, tmp_path: Path, clock: Any) -> Iterator[Federation]:
    yield from start_federation(db_url, tmp_path, clock)


def hub_scans(fed: Federation) -> int:
    with fed.hub.db.read() as conn:
        return int(
            conn.execute(select(func.count()).where(hub_feed.c.kind == "scan")).scalar() or 0
        )


def test_online_then_offline_from_the_same_cache(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gate = fed.verifier()
    report = gate.refresh()
    assert report == {
        "trust-list": "updated",
        "risk-areas": "updated",
        "international-trust": "updated",
        "policies-330000": "updated",
    }
    online = gate.verify(code)
    assert online.mode == "online" and online.outcome == "PASS"
    assert online.colour == "green" and online.status == "online"
    assert online.display is not None and online.display["masked_name"] == "张**"
    assert "sid" not in online.to_dict()  # the pseudonym is for the scan record only
    # Nothing running is needed for an offline decision once the cache is filled.
    offline = fed.verifier(offline=True)
    assert offline.trust is not None and offline.policy is not None
    result = offline.verify(code)
    assert result.mode == "offline" and result.outcome == "PASS" and result.status == "claims"
    assert result.display is not None and result.display["masked_id"].startswith("33")
    # The second refresh changes nothing and costs 304s.
    assert set(gate.refresh().values()) == {"unchanged"}


def test_the_network_going_away_falls_back_to_the_signed_claims(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    fed.verifier().refresh()
    cut = fed.verifier(http=down_client())
    result = cut.verify(code)
    assert result.mode == "offline" and result.outcome == "PASS"
    assert result.notes == (
        "hub unreachable at http://testserver: hub did not answer (ConnectError); "
        "decided without it",
    )
    # During the back-off the hub is not even tried; the notes still say why.
    again = cut.verify(code)
    assert again.mode == "offline" and again.notes == result.notes


def test_yellow_is_denied_with_reasons_online_and_offline(fed: Federation) -> None:
    me, sid = fed.citizen()
    fed.declare_fever(me, sid)
    code = fed.code(me, sid)
    gate = fed.verifier()
    gate.refresh()
    online = gate.verify(code)
    assert online.outcome == "DENY" and online.colour == "yellow"
    assert online.decision is not None
    assert online.decision.reasons_zh[0].startswith("黄码（申报体温偏高")
    offline = fed.verifier(offline=True).verify(code)
    assert offline.outcome == "DENY" and offline.mode == "offline"


def test_a_zhejiang_code_in_guizhou_gets_guizhous_policy(fed: Federation) -> None:
    """The hotel in Renhuai: Guizhou recognises the code and applies its own policy."""
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gate = fed.verifier(
        at_region="520000", token=fed.hub_token("checkpoint", "520000"), name="renhuai-hotel"
    )
    gate.refresh()
    assert gate.verify(code).outcome == "CHECK"  # no thermometer reading: take it
    passed = gate.verify(code, temperature=36.4)
    assert passed.outcome == "PASS" and passed.issuer == "330000"
    assert gate.verify(code, temperature=38.1).outcome == "DENY"


def test_a_printed_card_needs_the_network(fed: Federation) -> None:
    me, sid = fed.citizen()
    card = fed.code(me, sid, kind="printed")
    gate = fed.verifier()
    gate.refresh()
    assert gate.verify(card).outcome == "PASS"
    offline = fed.verifier(offline=True).verify(card)
    assert offline.outcome == "CHECK" and offline.mode == "offline"
    assert offline.decision is not None and offline.decision.missing == ("colour",)


def test_a_revoked_key_fails_within_one_refresh(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    gate = fed.verifier(offline=False)
    gate.refresh()
    assert fed.verifier(offline=True).verify(code).outcome == "PASS"
    kid = next(iter(k for k in gate.trust.keys.values() if k["region"] == "330000"))["kid"]
    r = fed.hub_client.delete(f"/v1/issuers/330000/keys/{kid}", headers=fed.as_hub("admin"))
    assert r.status_code == 200, r.text
    fed.clock.advance(seconds=1)
    # The hub refuses it before this checkpoint's lists know: that asks for a refresh.
    assert gate.verify(code).outcome == "DENY" and gate.stale
    assert gate.refresh()["trust-list"] == "updated" and not gate.stale
    stored = orjson.loads((fed.tmp / "cache" / "trust-list.json").read_bytes())
    assert len(stored["documents"]) == 2  # the full list and the delta, each signed
    offline = fed.verifier(offline=True).verify(code)
    assert offline.outcome == "DENY" and offline.valid is False
    assert gate.verify(code).outcome == "DENY"


def test_a_corrupted_cache_file_is_detected_and_fetched_again(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    fed.verifier().refresh()
    path = fed.tmp / "cache" / "trust-list.json"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one flipped bit
    path.write_bytes(bytes(raw))
    damaged = fed.verifier(offline=True)
    assert damaged.trust is None and any("damaged" in n for n in damaged.notes)
    assert not path.exists()
    assert damaged.verify(code).outcome == "CHECK"  # no list: cannot verify offline
    healed = fed.verifier()
    assert healed.refresh()["trust-list"] == "updated"
    assert fed.verifier(offline=True).verify(code).outcome == "PASS"


def test_an_edited_list_with_a_good_checksum_still_fails_its_signature(fed: Federation) -> None:
    import hashlib

    from yimatong.adapters.signed import canonical

    fed.verifier().refresh()
    path = fed.tmp / "cache" / "policies-330000.json"
    data = orjson.loads(path.read_bytes())
    data["documents"][0]["payload"]["policies"] = []  # "no policy here": let everyone in
    body = {k: v for k, v in data.items() if k != "sha256"}
    data["sha256"] = hashlib.sha256(canonical(body)).hexdigest()
    path.write_bytes(orjson.dumps(data))
    v = fed.verifier(offline=True)
    assert v.policy is None and any("bad signature" in n for n in v.notes)


def test_offline_decisions_are_refused_when_the_clock_is_wrong(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    fed.verifier().refresh()
    slow = FakeTime(fed.clock, boot="another-boot")
    slow.offset = -timedelta(hours=2)  # a gate whose clock went back: old codes would pass
    result = fed.verifier(offline=True, time=slow).verify(code)
    assert result.outcome == "CHECK"
    assert result.decision is not None and "时钟" in result.decision.reasons_zh[0]
    # Within the same boot the elapsed time is known, so a fast clock is caught too.
    fast_time = FakeTime(fed.clock)
    fast = fed.verifier(time=fast_time)
    fast.refresh()
    fast_time.offset = timedelta(minutes=3)
    assert fast.clock_verdict().ok  # within the allowed five minutes
    fed.clock.advance(minutes=1)
    fast_time.offset = -timedelta(minutes=20)
    assert not fast.clock_verdict().ok


def test_a_policy_change_is_effective_at_the_next_refresh(fed: Federation) -> None:
    """The bridge at Jiujiang: mutual recognition is one policy change, effective at once."""
    me, sid = fed.citizen()
    fed.declare_fever(me, sid)
    code = fed.code(me, sid)
    gate = fed.verifier()
    gate.refresh()
    assert gate.verify(code).outcome == "DENY"
    r = fed.hub_client.put(
        "/v1/policies/330000",
        json={"rule": True, "description": "暂停核验 / checks suspended"},
        headers=fed.as_hub("authority", "330000"),
    )
    assert r.status_code == 200, r.text
    assert gate.refresh()["policies-330000"] == "updated"
    assert gate.verify(code).outcome == "PASS"


def test_scans_reach_the_hub_exactly_once(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    fed.verifier().refresh()
    cut = fed.verifier(http=down_client(), area="330106002")
    results = [cut.verify(code) for _ in range(5)]
    cut.verify("YMT1:NOPE")  # no sid: kept locally, never sent
    assert cut.queue.count("local") == 1
    assert all(r.scan_id for r in results)
    assert cut.queue.count() == 5
    assert cut.upload() is not None and cut.queue.count() == 5  # still down: kept
    gate = fed.verifier(area="330106002")  # same cache dir, the network back
    report = gate.upload()
    assert report is not None and report.sent == 5 and report.remaining == 0
    assert hub_scans(fed) == 5
    # An acknowledgement lost on the way: the same scans are sent again, and land once.
    for r in results:
        gate.queue.add(
            Scan(
                id=r.scan_id or "",
                at=r.at,
                checkpoint="gate-1",
                area="330106002",
                decision="PASS",
                sid=sid,
            )
        )
    again = gate.upload()
    assert again is not None and again.duplicates == 5 and again.sent == 0
    assert hub_scans(fed) == 5


def test_a_scan_the_hub_refuses_does_not_block_the_queue(fed: Federation) -> None:
    _me, sid = fed.citizen()
    gate = fed.verifier(area="330106002")
    now = fed.clock()
    gate.queue.add(
        Scan(
            id="a" * 8 + "-0000-4000-8000-" + "0" * 12,
            at=now,
            checkpoint="g",
            area="330106002",
            decision="PASS",
            sid="not-a-sid",
        )
    )
    gate.queue.add(
        Scan(
            id="b" * 8 + "-0000-4000-8000-" + "0" * 12,
            at=now,
            checkpoint="g",
            area="330106002",
            decision="PASS",
            sid=sid,
        )
    )
    report = gate.upload()
    assert report is not None
    assert (report.sent, report.rejected, report.remaining) == (1, 1, 0)
    assert gate.queue.count("rejected") == 1 and hub_scans(fed) == 1


def test_an_id_number_at_the_gate_is_looked_up_at_the_holders_issuer(fed: Federation) -> None:
    number = make_id("330106", "19400101", "222")
    _me, sid = fed.citizen(name="王大爷", id_number=number)
    gate = fed.verifier()
    gate.refresh()
    result = gate.verify(number)
    assert result.mode == "online" and result.outcome == "PASS"
    assert result.kind == "lookup" and result.display is not None
    assert result.display["masked_name"] == "王**"
    with fed.issuer.node.db.read() as conn:
        row = conn.execute(select(audit_log).where(audit_log.c.sid == sid)).one()
    assert row.action == "lookup.checkpoint" and "checkpoint lookup" in row.purpose
    assert "gate-1" in row.purpose and number not in row.purpose
    assert gate.verify("ID:111:" + number).outcome == "PASS"
    assert gate.verify(make_id("330106", "19400101", "333")).outcome == "CHECK"  # no record
    assert gate.verify("110101194001010000").outcome == "CHECK"  # not a valid number
    assert fed.verifier(offline=True).verify(number).outcome == "CHECK"


def test_legacy_and_unknown_codes_offline(fed: Federation) -> None:
    r = fed.hub_client.post(
        "/v1/issuers",
        json={
            "region": "420000",
            "name": "湖北",
            "kind": "legacy",
            "legacy_prefix": "HBJKM:",
            "endpoint": "http://legacy.test",
            "outbound_token": "k:s",
        },
        headers=fed.as_hub("admin"),
    )
    assert r.status_code == 201, r.text
    fed.verifier().refresh()
    offline = fed.verifier(offline=True)
    legacy = offline.verify("HBJKM:" + "0" * 32)
    assert legacy.outcome == "CHECK" and legacy.decision is not None
    assert "联网" in legacy.decision.reasons_zh[0]
    assert offline.verify("XYZ:abc").outcome == "CHECK"
    assert offline.verify("hello world").outcome == "DENY"
    assert offline.verify("YMT1:NOPE").outcome == "DENY"


def test_pinned_hub_key_and_a_wrong_one(fed: Federation) -> None:
    from yimatong.adapters.crypto import Algorithm, generate_signing_key

    hub_key = fed.ctx.hub_key().public
    pinned = fed.verifier(fed.tmp / "pinned", hub_keys=(hub_key,))
    assert pinned.refresh()["trust-list"] == "updated"
    stranger = generate_signing_key(Algorithm.EDDSA).public
    wrong = fed.verifier(fed.tmp / "wrong", hub_keys=(stranger,))
    report = wrong.refresh()
    assert report["trust-list"].startswith("error: BadDocument")
    assert wrong.trust is None
    pem = hub_key.public_pem().decode()
    from yimatong.verifier.verifier import load_hub_key

    assert load_hub_key(pem).kid == hub_key.kid
    assert load_hub_key(base64.b64encode(hub_key.spki_der()).decode()).kid == hub_key.kid


def test_a_key_newer_than_the_list_is_checked_online_then_fetched(fed: Federation) -> None:
    from yimatong.adapters import keystore
    from yimatong.adapters.crypto import Algorithm
    from yimatong.adapters.messages import prove_key, prove_rotation

    me, sid = fed.citizen()
    gate = fed.verifier()
    gate.refresh()
    issuer = fed.issuer.node
    with issuer.db.uow() as uow:
        current = keystore.active_key(
            uow.conn, issuer.service.cipher, region="330000", now=fed.clock()
        )
        key = keystore.create_key(
            uow.conn, issuer.service.cipher, Algorithm.EDDSA, region="330000", now=fed.clock()
        )
        uow.commit()
    assert current is not None
    # A rotation: proved by the new key and by the current one (the admin is no exception).
    entry = prove_key(key, "330000", fed.clock())
    body = {**entry.to_json(), **prove_rotation(current, "330000", entry.public_key, fed.clock())}
    r = fed.hub_client.post("/v1/issuers/330000/keys", json=body, headers=fed.as_hub("admin"))
    assert r.status_code == 201, r.text
    fed.clock.advance(seconds=1)
    code = fed.code(me, sid)
    assert fed.verifier(offline=True).verify(code).outcome == "CHECK"  # unknown key offline
    online = gate.verify(code)
    assert online.outcome == "PASS" and gate.stale
    assert gate.refresh()["trust-list"] == "updated"
    assert fed.verifier(offline=True).verify(code).outcome == "PASS"


def test_the_hub_announces_its_next_key_before_signing_with_it(fed: Federation) -> None:
    """A checkpoint pinned to the hub's key follows a rotation announced a day ahead."""
    from yimatong.adapters import keystore
    from yimatong.adapters.crypto import Algorithm
    from yimatong.hub.registry import NATIONAL

    old = fed.ctx.hub_key()
    gate = fed.verifier(fed.tmp / "pinned-rotation", hub_keys=(old.public,))
    assert gate.refresh()["trust-list"] == "updated"
    with fed.hub.db.uow() as uow:
        new = keystore.create_key(
            uow.conn,
            fed.ctx.cipher,
            Algorithm.EDDSA,
            region=NATIONAL,
            now=fed.clock(),
            starts=fed.clock() + timedelta(hours=24),
        )
        uow.commit()
    assert fed.ctx.hub_key().kid == old.kid  # announced, not yet signing
    gate.refresh()  # the list signed by the old key introduces the new one
    fed.clock.advance(hours=25)
    assert fed.ctx.hub_key().kid == new.kid  # now the hub signs with the new key
    report = gate.refresh()
    assert not str(report["trust-list"]).startswith("error"), report
    me, sid = fed.citizen()
    assert gate.verify(fed.code(me, sid)).valid is True


def test_a_travel_code_is_shown_with_its_cities_and_never_decided_as_a_health_code(
    fed: Federation,
) -> None:
    me, sid = fed.citizen()
    now = fed.clock()
    r = fed.issuer.client.post(
        "/v1/itineraries",
        json={
            "subject": sid,
            "region": "330106002",
            "from": (now - timedelta(hours=9)).isoformat(),
            "to": (now - timedelta(hours=3)).isoformat(),
        },
        headers=me,
    )
    assert r.status_code == 201, r.text
    r = fed.issuer.client.post("/v1/travel-codes", json={"subject": sid}, headers=me)
    assert r.status_code == 201, r.text
    travel = r.json()["code"]
    gate = fed.verifier()
    gate.refresh()
    before = gate.queue.count()
    result = gate.verify(travel)
    assert result.kind == "travel" and result.valid is True
    assert result.decision is None and result.colour is None  # no PASS from a travel code
    assert result.travel == ({"city": "330100", "name": "杭州市", "shown": "杭州市",
                              "star": None, "sources": ["self"]},)  # fmt: skip
    assert "行程码" in result.line() and "杭州市" in result.line()
    assert result.scan_id is None  # not a scan of a health code
    assert gate.queue.count() == before
    # Offline it verifies the same; tampered, it is refused.
    offline = fed.verifier(offline=True).verify(travel)
    assert offline.valid is True and offline.travel == result.travel
    tampered = travel[:-4] + ("AAAA" if travel[-4:] != "AAAA" else "BBBB")
    bad = fed.verifier(offline=True).verify(tampered)
    assert bad.valid is False and bad.decision is None and bad.travel == ()
