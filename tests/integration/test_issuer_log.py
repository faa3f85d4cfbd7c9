"""An issuer keeps its own transparency log, as the hub does: its risk changes and the
decisions on corrections (not whose), with heads signed by the issuer's own key."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from sqlalchemy import select

from tests.integration.conftest import Issuer
from yimatong.adapters import keystore
from yimatong.adapters.db.tables import log_entries
from yimatong.adapters.signed import verify_document
from yimatong.domain.merkle import MerkleTree, leaf_hash

STREET = "330106002"


def _entries(issuer: Issuer) -> list[dict]:
    with issuer.node.db.read() as conn:
        rows = conn.execute(select(log_entries).order_by(log_entries.c.idx)).all()
    return [json.loads(r.entry) for r in rows]


def test_an_issuers_risk_changes_and_correction_decisions_are_in_its_own_log(
    issuer: Issuer, clock
) -> None:
    r = issuer.client.put(
        f"/v1/risk-areas/{STREET}",
        json={"level": "medium", "from": "2026-11-01T00:00:00+08:00"},
        headers=issuer.as_role("authority"),
    )
    assert r.status_code == 200, r.text
    me = issuer.sign_in("13800138000")
    sid = issuer.apply(me)["sid"]
    r = issuer.client.post(
        "/v1/itineraries",
        json={"subject": sid, "region": STREET, "from": (clock() - timedelta(days=2)).isoformat(),
              "to": (clock() - timedelta(days=1)).isoformat()},
        headers=me,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    r = issuer.client.post(
        "/v1/corrections",
        json={"subject": sid, "kind": "itinerary", "target_id": r.json()["id"],
              "statement": "我没去过"},
        headers=me,
    )  # fmt: skip
    cid = r.json()["id"]
    r = issuer.client.post(
        f"/v1/corrections/{cid}/decision",
        json={"accept": True, "note": "基站数据核实无误"},
        headers=issuer.as_role("staff"),
    )
    assert r.status_code == 200, r.text
    risk, decided = _entries(issuer)
    assert risk["kind"] == "risk.set" and risk["changes"][0]["area"] == STREET
    assert decided["kind"] == "correction.decided"
    assert (decided["correction"], decided["decision"]) == (cid, "accepted")
    assert decided["by"]["role"] == "staff"
    assert sid not in json.dumps(decided) and "基站" not in json.dumps(decided)

    # Its head is signed by the issuer's own key and covers both entries.
    issuer.node.service.translog.sign_head()
    head = issuer.client.get("/v1/log/sth").json()  # anonymous
    with issuer.node.db.read() as conn:
        key = keystore.active_key(conn, issuer.node.service.cipher, region="330000", now=clock())
    assert key is not None
    payload = verify_document(head, {key.kid: key.public})
    assert (payload["log"], payload["tree_size"]) == ("yimatong-issuer-330000", 2)
    items = issuer.client.get("/v1/log/entries", params={"start": 0}).json()["entries"]
    leaves = [leaf_hash(base64.b64decode(i["leaf_input"])) for i in items]
    assert MerkleTree(leaves).root() == base64.b64decode(payload["root_hash"])
