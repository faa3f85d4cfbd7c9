"""The Zhengzhou story (June 2022), told against a hub and an issuer on each database.

Officials turned depositors' codes red to stop them travelling, with no epidemic fact behind
it, and nobody could see it until the people did. Here: an official tries to red-code a list
of people with no fact — refused; with a made-up "venue scan" — refused; with a fact that is
not theirs — refused; approving their own request — refused. Once the health authority has
recorded facts through the hub, a second official approves; the list is above the region's
hourly limit, so it waits for the national authority, a regional one cannot approve it, a
tampered approval is refused; approved, it is in the issuer's public log, the people see the
red with its reason on their page and in their history, one appeals and is lifted, and the log
monitor flags the burst — and notices when the log is rewritten afterwards.
"""

from __future__ import annotations

import base64
import json
import random
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from tests.browser.conftest import LiveServer
from yimatong.adapters.db.tables import log_entries
from yimatong.adapters.hubclient import NodeClient
from yimatong.adapters.signed import canonical
from yimatong.cli import main
from yimatong.credentials import add_credential
from yimatong.domain.merkle import leaf_hash, verify_inclusion
from yimatong.domain.overrides import bursts
from yimatong.verifier.log_audit import AuditState, LogAuditor, LogProblem
from yimatong.web.session import cookie_name

from .conftest import Federation, make_id

PEOPLE = 6
LIMIT = 4  # people under manual colours per hour in the region before the hub must approve


def _staff(fed: Federation) -> dict[str, dict[str, str]]:
    now = fed.issuer.service.clock()
    rng = random.Random(11)
    heads: dict[str, dict[str, str]] = {}
    with fed.issuer.db.uow() as uow:
        for name, role in (
            ("official-1", "authority"),
            ("official-2", "authority"),
            ("window-1", "staff"),
        ):
            token = add_credential(uow.conn, name=name, role=role, now=now, rng=rng)
            heads[name] = {"Authorization": f"Bearer {token}"}
        uow.commit()
    with fed.hub.db.uow() as uow:
        token = add_credential(
            uow.conn, name="henan-cdc", role="authority", now=now, rng=rng, scope="330000"
        )
        heads["regional-hub-authority"] = {"Authorization": f"Bearer {token}"}
        token = add_credential(
            uow.conn, name="east-station-3", role="checkpoint", now=now, rng=rng, scope="330000"
        )
        heads["checkpoint"] = {"Authorization": f"Bearer {token}"}
        uow.commit()
    return heads


def _depositors(fed: Federation) -> list[tuple[dict[str, str], str, str]]:
    people = []
    for i in range(PEOPLE):
        number = make_id(seq=f"{200 + i:03d}")
        me, sid = fed.citizen(phone=f"1380013{8100 + i:04d}", id_number=number)
        people.append((me, sid, number))
    return people


def _colour(fed: Federation, me: dict[str, str], sid: str) -> dict[str, Any]:
    r = fed.http.get(f"/v1/subjects/{sid}/health", headers=me)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _log(fed: Federation) -> list[tuple[int, dict[str, Any]]]:
    r = fed.http.get("/v1/log/entries", params={"start": 0})
    if r.status_code == 404:  # nothing logged yet
        return []
    assert r.status_code == 200, r.text
    return [(e["index"], e["entry"]) for e in r.json()["entries"]]


def test_no_list_of_people_turns_red_without_facts_two_officials_the_hub_and_the_log(
    federation: Federation,
) -> None:
    fed = federation
    fed.issuer.service.override_hourly_limit = LIMIT
    staff = _staff(fed)
    people = _depositors(fed)
    expires = (fed.issuer.service.clock() + timedelta(days=7)).isoformat()

    def ask(subjects: list[dict[str, Any]], who: str = "official-1", **extra: Any) -> Any:
        body = {
            "colour": "red",
            "reason": "contact_upgraded",
            "note": "村镇银行储户",
            "expires_at": expires,
            "subjects": subjects,
            **extra,
        }
        return fed.http.post("/v1/overrides", json=body, headers=staff[who])

    # 1. No fact at all: a seq that names nothing the hub recorded.
    r = ask([{"subject": sid, "fact": {"kind": "contact", "seq": 999_999}} for _, sid, _ in people])
    assert r.status_code == 422, r.text
    assert "no recorded fact" in r.json()["detail"]
    # ... nor a reason outside the closed list, nor a window clerk asking.
    assert ask([], reason="维稳").status_code == 422
    one = [{"subject": people[0][1], "fact": {"kind": "contact", "seq": 1}}]
    assert ask(one, reason="public_order").status_code == 422
    assert ask(one, who="window-1").status_code == 403

    # 2. A made-up "venue scan": not a fact an authority recorded.
    r = ask([{"subject": sid, "fact": {"kind": "venue_scan", "seq": 1}} for _, sid, _ in people])
    assert r.status_code == 422, r.text
    assert "recorded through the hub" in r.json()["detail"]
    assert all(_colour(fed, me, sid)["colour"] == "green" for me, sid, _ in people)
    assert [e for _, e in _log(fed) if e["kind"].startswith("override")] == []

    # 3. The health authority records facts through the hub (in the hub's log as a batch).
    now = fed.issuer.service.clock()
    facts = [
        {
            "kind": "contact",
            "id_type": "111",
            "id_number": number,
            "contact_kind": "secondary",
            "last_exposure": (now - timedelta(hours=2)).isoformat(),
        }
        for _, _, number in people
    ]
    r = fed.hub_http.post("/v1/facts", json={"facts": facts}, headers=fed.h("authority"))
    assert r.status_code == 200, r.text
    first = r.json()["first_seq"]
    seqs = list(range(first, first + PEOPLE))
    # Each fact carries its provenance: who recorded it, and the hub's log entry of its batch
    # (a digest, never the people), with the inclusion proof in a signed head.
    fed.hub.service.translog.sign_head()
    r = fed.hub_http.get(f"/v1/facts/{seqs[3]}/provenance", headers=fed.h("admin"))
    assert r.status_code == 200, r.text
    provenance = r.json()
    batch = provenance["batch"]
    assert provenance["kind"] == "contact" and "sid" not in str(provenance)
    assert batch["entry"]["kind"] == "facts.batch"
    assert batch["entry"]["by"] == {"role": "authority", "scope": None}
    assert (batch["first_seq"], batch["last_seq"]) == (seqs[0], seqs[-1])
    head = batch["head"]["payload"]
    assert verify_inclusion(
        batch["log_index"],
        head["tree_size"],
        leaf_hash(base64.b64decode(batch["leaf_input"])),
        [base64.b64decode(h) for h in batch["inclusion"]["inclusion_path"]],
        base64.b64decode(head["root_hash"]),
    )
    fed.sync()
    rules_colour = {sid: _colour(fed, me, sid)["colour"] for me, sid, _ in people}

    # Someone else's fact does not do: each person needs their own.
    swapped = [
        {"subject": sid, "fact": {"kind": "contact", "seq": seqs[(i + 1) % PEOPLE]}}
        for i, (_, sid, _) in enumerate(people)
    ]
    assert ask(swapped).status_code == 422
    subjects = [
        {"subject": sid, "fact": {"kind": "contact", "seq": seq}}
        for (_, sid, _), seq in zip(people, seqs, strict=True)
    ]
    r = ask(subjects)
    assert r.status_code == 201, r.text
    override = r.json()
    assert override["status"] == "pending"
    oid = override["id"]

    # 4. 四眼原则: not the one who asked.
    r = fed.http.post(f"/v1/overrides/{oid}/approval", headers=staff["official-1"])
    assert r.status_code == 403, r.text
    r = fed.http.post(f"/v1/overrides/{oid}/approval", headers=staff["official-2"])
    assert r.status_code == 200, r.text
    waiting = r.json()
    assert waiting["status"] == "awaiting_hub"  # 6 people > 4 an hour
    assert {_colour(fed, me, sid)["colour"] for me, sid, _ in people} == set(rules_colour.values())
    request = waiting["hub_request"]
    assert request["subjects"] == PEOPLE and request["region"] == "330000"

    # 5. Only the national authority approves above the limit; a tampered approval fails.
    r = fed.hub_http.post(
        "/v1/overrides/approvals", json=request, headers=staff["regional-hub-authority"]
    )
    assert r.status_code == 403, r.text
    r = fed.hub_http.post("/v1/overrides/approvals", json=request, headers=fed.h("authority"))
    assert r.status_code == 200, r.text
    approval = r.json()
    hub_log = fed.hub_http.get("/v1/log/entries", params={"start": 0}).json()["entries"]
    assert [
        e["entry"]["override"] for e in hub_log if e["entry"]["kind"] == "override.hub_approved"
    ] == [oid]
    tampered = {**approval, "payload": {**approval["payload"], "subjects": 1}}
    r = fed.http.post(
        f"/v1/overrides/{oid}/hub-approval",
        json={"approval": tampered},
        headers=staff["official-2"],
    )
    assert r.status_code == 422, r.text
    r = fed.http.post(
        f"/v1/overrides/{oid}/hub-approval",
        json={"approval": approval},
        headers=staff["official-2"],
    )
    assert r.status_code == 200, r.text
    active = r.json()
    assert active["status"] == "active" and active["hub_approved"]

    # 6. In the issuer's public log: what, why, how many — no names, no pseudonyms.
    applied = [e for _, e in _log(fed) if e["kind"] == "override.applied"]
    assert len(applied) == 1
    entry = applied[0]
    assert entry["override"] == oid and entry["subjects"] == PEOPLE
    assert entry["reason"] == "contact_upgraded" and entry["approvals"] == 3
    text = str(entry)
    assert all(sid not in text and number not in text for _, sid, number in people)

    # 7. The people see it: red, the reason, the override to appeal against; in their history.
    for me, sid, _ in people:
        view = _colour(fed, me, sid)
        assert view["colour"] == "red"
        mine = [r for r in view["reasons"] if r["code"] == "override.contact_upgraded"]
        assert mine and mine[0]["detail"]["override"] == oid
        assert mine[0]["detail"]["log_index"] == active["log_index"]
        history = fed.http.get(f"/v1/subjects/{sid}/activity", headers=me).json()["colours"]
        assert history[0]["colour_to"] == "red"
        assert history[0]["overrides"][0]["override"] == oid

    # ... and on their pages: the reason with a link to appeal, the change in their history
    # with its log entry.
    me, sid, _ = people[1]
    fed.http.cookies.set(cookie_name("330000"), me["Authorization"].removeprefix("Bearer "))
    page = fed.http.get("/people/0/code")
    assert page.status_code == 200, page.text
    assert "人工赋码：流调将密接等级上调" in page.text
    assert f'href="/people/0/corrections?override={oid}"' in page.text
    page = fed.http.get("/people/0/activity")
    assert 'id="colours"' in page.text and f"公开日志第 {active['log_index']} 条" in page.text
    form = fed.http.get(f"/people/0/corrections?override={oid}")
    assert f'<option value="override:{oid}" selected>' in form.text
    fed.http.cookies.clear()

    # ... and who scanned their code: which checkpoint, where, when.
    me, sid, _ = people[2]
    scan = {
        "id": "scan-east-3-0001",
        "sid": sid,
        "at": fed.issuer.service.clock().isoformat(),
        "area": "330106008",
        "decision": "DENY",
        "checkpoint": "杭州东站 3号闸机",
    }
    r = fed.hub_http.post("/v1/scans", json={"scans": [scan]}, headers=staff["checkpoint"])
    assert r.status_code == 200, r.text
    fed.sync()
    checks = fed.http.get(f"/v1/subjects/{sid}/activity", headers=me).json()["checks"]
    assert [(c["checkpoint"], c["area"]) for c in checks] == [("杭州东站 3号闸机", "330106008")]

    # 8. One appeals; the window accepts; the override is lifted for that one person only.
    me, sid, _ = people[0]
    r = fed.http.post(
        "/v1/corrections",
        json={"subject": sid, "kind": "override", "target_id": oid, "statement": "我只是储户"},
        headers=me,
    )
    assert r.status_code == 201, r.text
    r = fed.http.post(
        f"/v1/corrections/{r.json()['id']}/decision",
        json={"accept": True, "note": "无流调依据"},
        headers=staff["window-1"],
    )
    assert r.status_code == 200, r.text
    assert _colour(fed, me, sid)["colour"] == rules_colour[sid]
    assert _colour(fed, people[1][0], people[1][1])["colour"] == "red"
    assert [e["subjects"] for _, e in _log(fed) if e["kind"] == "override.lifted"] == [1]

    # 9. The log monitor (`yimatong log monitor`) checks the issuer's log against its signed
    # head — signed by Zhejiang's key in the hub's trust list — and flags the burst: six people
    # in one region within the hour.
    fed.issuer.service.translog.sign_head()
    seen: list[tuple[int, dict[str, Any]]] = []
    result = _auditor(fed).check(AuditState(), lambda i, raw: seen.append((i, json.loads(raw))))
    assert result.tree_size == len(_log(fed))
    found = bursts(seen, limit=LIMIT)
    assert [(b.region, b.subjects, b.overrides) for b in found] == [("330000", PEOPLE, 1)]

    # The same from the command line, over real HTTP: exit 3 and one line per burst.
    runner = CliRunner()
    with LiveServer(fed.hub.app) as hub, LiveServer(fed.issuer.app) as zj:
        where = ["--hub", hub.url, "--issuer", zj.url, "--region", "330000"]
        flagged = runner.invoke(main, ["log", "monitor", *where, "--limit", str(LIMIT)])
        assert flagged.exit_code == 3, flagged.output
        assert flagged.stdout.startswith(f"burst: region 330000, {PEOPLE} people"), flagged.stdout
        calm = runner.invoke(main, ["log", "monitor", *where, "--limit", str(PEOPLE)])
        assert calm.exit_code == 0 and calm.stdout.startswith("no burst:"), calm.output
        checked = runner.invoke(main, ["log", "verify", *where])
        assert checked.exit_code == 0 and checked.stdout.startswith("log ok:"), checked.output

        # Rewriting the override's entry afterwards (fewer people, say) does not go unseen.
        index = active["log_index"]
        with fed.issuer.db.uow() as uow:
            uow.conn.execute(
                update(log_entries)
                .where(log_entries.c.idx == index)
                .values(entry=canonical({**entry, "subjects": 1}))
            )
            uow.commit()
        with pytest.raises(LogProblem, match=f"entry {index} as served is not the one"):
            _auditor(fed).check(AuditState())
        forged = runner.invoke(main, ["log", "verify", *where])
        assert forged.exit_code == 3, forged.output
        assert f"entry {index} as served is not the one the signed head covers" in forged.stderr


def _auditor(fed: Federation) -> LogAuditor:
    hub = NodeClient("http://testserver", client=fed.hub_http, name="the hub")
    issuer = NodeClient("http://testserver", client=fed.http, name="issuer 330000")
    return LogAuditor(hub, log=issuer, region="330000")
