"""Who may change the trust root: the hub's own region is reserved, every key is proved by
itself, a rotation also by a current key (the admin is no exception), and every change is
logged with who made it. Also: a native issuer leaves a key the hub revoked at its next sync.

On each database backend (the hub on PostgreSQL when ``YMT_TEST_PG_URL`` is set).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.integration.conftest import DATA_KEY, SECRET, Federation, _settings
from yimatong.adapters import keystore
from yimatong.adapters.crypto import Algorithm, SigningKey, generate_signing_key
from yimatong.adapters.messages import prove_key, prove_rotation
from yimatong.adapters.wire.code import peek_code
from yimatong.bootstrap import build_issuer
from yimatong.cli import main
from yimatong.credentials import add_credential
from yimatong.hub.registry import NATIONAL

ZJ = "330000"
GD = "440000"


def _key() -> SigningKey:
    return generate_signing_key(Algorithm.EDDSA)


def _current(federation: Federation) -> SigningKey:
    issuer = federation.issuer
    with issuer.db.read() as conn:
        key = keystore.active_key(
            conn, issuer.service.cipher, region=ZJ, now=issuer.service.clock()
        )
    assert key is not None
    return key


def _register_gd(federation: Federation, entry: dict[str, Any]) -> Any:
    return federation.hub_http.post(
        "/v1/issuers",
        json={"region": GD, "name": "广东", "endpoint": "http://gd", "keys": [entry]},
        headers=federation.h("admin"),
    )


def _trust_kids(federation: Federation, region: str) -> dict[str, Any]:
    payload = federation.hub_http.get("/v1/trust-list").json()["payload"]
    return {k["kid"]: k for k in payload["keys"] if k["region"] == region}


def _changes(federation: Federation, since: int = 0) -> list[dict[str, Any]]:
    r = federation.hub_http.get(
        "/v1/registry/changes", params={"since": since}, headers=federation.h("admin")
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_the_hubs_own_region_is_reserved_to_its_keystore(federation: Federation, clock) -> None:
    before = _trust_kids(federation, NATIONAL)
    hub_kid = federation.hub.service.hub_key().kid.hex()
    stranger = _key()
    entry = prove_key(stranger, NATIONAL, clock()).to_json()
    r = federation.hub_http.post(
        "/v1/issuers",
        json={"region": NATIONAL, "name": "not the hub", "keys": [entry]},
        headers=federation.h("admin"),
    )
    assert r.status_code == 403, r.text
    assert r.json()["type"] == "/problems/forbidden"
    r = federation.hub_http.post(
        f"/v1/issuers/{NATIONAL}/keys", json=entry, headers=federation.h("admin")
    )
    assert r.status_code == 403, r.text
    r = federation.hub_http.delete(
        f"/v1/issuers/{NATIONAL}/keys/{hub_kid}", headers=federation.h("admin")
    )
    assert r.status_code == 403, r.text
    assert _trust_kids(federation, NATIONAL) == before


def test_a_key_is_registered_only_with_a_proof_by_that_key_even_by_the_admin(
    federation: Federation, clock
) -> None:
    key, other = _key(), _key()
    since = clock() - timedelta(days=3)
    good = prove_key(key, GD, since).to_json()
    # No proof, a proof by another key, a proof made for another region or another start.
    missing = {k: v for k, v in good.items() if k != "possession"}
    assert _register_gd(federation, missing).status_code == 422
    by_other = {**good, "possession": prove_key(other, GD, since).possession}
    for_zj = {**good, "possession": prove_key(key, ZJ, since).possession}
    earlier = {**good, "not_before": (since - timedelta(days=30)).isoformat()}
    for bad in (by_other, for_zj, earlier):
        r = _register_gd(federation, bad)
        assert r.status_code == 403, r.text
        assert "possession" in r.json()["detail"]
    assert _trust_kids(federation, GD) == {}
    r = _register_gd(federation, good)
    assert r.status_code == 201, r.text
    assert key.kid.hex() in _trust_kids(federation, GD)


def test_the_admin_cannot_add_a_key_to_an_issuer_without_a_current_keys_signature(
    federation: Federation, clock
) -> None:
    before = _trust_kids(federation, ZJ)
    new, stranger = _key(), _key()
    entry = prove_key(new, ZJ, clock()).to_json()
    # Self-proved only: a rotation needs a current key too, whoever asks.
    r = federation.hub_http.post(
        f"/v1/issuers/{ZJ}/keys", json=entry, headers=federation.h("admin")
    )
    assert r.status_code == 403, r.text
    # Vouched for by a key that is not Zhejiang's.
    forged = {**entry, **prove_rotation(stranger, ZJ, entry["public_key"], clock())}
    r = federation.hub_http.post(
        f"/v1/issuers/{ZJ}/keys", json=forged, headers=federation.h("admin")
    )
    assert r.status_code == 403, r.text
    # Nor through registering the issuer again.
    r = federation.hub_http.post(
        "/v1/issuers",
        json={"region": ZJ, "name": "浙江", "endpoint": "http://zj", "keys": [entry]},
        headers=federation.h("admin"),
    )
    assert r.status_code == 403, r.text
    assert _trust_kids(federation, ZJ) == before
    # With the current key's signature it is a rotation, by the admin as by the node.
    rotation = {**entry, **prove_rotation(_current(federation), ZJ, entry["public_key"], clock())}
    r = federation.hub_http.post(
        f"/v1/issuers/{ZJ}/keys", json=rotation, headers=federation.h("admin")
    )
    assert r.status_code == 201, r.text
    assert new.kid.hex() in _trust_kids(federation, ZJ)


def test_every_registry_change_is_logged_with_who_made_it(federation: Federation, clock) -> None:
    first = _changes(federation)
    assert [(c["action"], c["region"], c["actor"], c["actor_role"]) for c in first[:3]] == [
        ("issuer.registered", NATIONAL, "hub:keystore", "hub"),
        ("key.added", NATIONAL, "hub:keystore", "hub"),
        ("issuer.registered", ZJ, "test-admin", "admin"),
    ]
    old_kid = next(iter(_trust_kids(federation, ZJ)))
    added = [c for c in first if c["action"] == "key.added" and c["region"] == ZJ]
    assert [c["kid"] for c in added] == [old_kid]
    assert first[2]["detail"]["kind"] == "native"
    assert "ymt_c_" not in str(first)  # never a credential or a secret
    cursor = first[-1]["id"]

    # The issuer rotates (its hub link, with its node credential); the admin revokes.
    issuer = federation.issuer
    with issuer.db.uow() as uow:
        new = keystore.create_key(
            uow.conn, issuer.service.cipher, Algorithm.EDDSA, region=ZJ, now=clock()
        )
        uow.commit()
    federation.sync()
    r = federation.hub_http.delete(
        f"/v1/issuers/{ZJ}/keys/{new.kid.hex()}", headers=federation.h("admin")
    )
    assert r.status_code == 200, r.text
    later = _changes(federation, since=cursor)
    assert [(c["action"], c["kid"], c["actor"], c["actor_role"]) for c in later] == [
        ("key.rotated", new.kid.hex(), f"issuer-{ZJ}", "node"),
        ("key.revoked", new.kid.hex(), "root", "admin"),
    ]
    assert later[0]["detail"]["proved_by"] == old_kid
    assert later[1]["trust_version"] > later[0]["trust_version"]
    # The admin reads it; nobody else does yet.
    r = federation.hub_http.get("/v1/registry/changes", headers=federation.h("authority"))
    assert r.status_code == 403, r.text


def test_a_native_issuer_stops_signing_with_a_key_revoked_at_the_hub_at_its_next_sync(
    federation: Federation, clock
) -> None:
    me, sid = federation.citizen()
    code = federation.http.post("/v1/codes", json={"subject": sid}, headers=me).json()["code"]
    kid = peek_code(code).kid
    r = federation.hub_http.delete(
        f"/v1/issuers/{ZJ}/keys/{kid.hex()}", headers=federation.h("admin")
    )
    assert r.status_code == 200, r.text
    federation.sync()
    # No key ready: refused (503), never a code the federation refuses.
    r = federation.http.post("/v1/codes", json={"subject": sid}, headers=me)
    assert r.status_code == 503, r.text
    # Its own 验码 refuses the revoked key's codes at once, not after the keyring's lifetime.
    r = federation.http.post(
        "/v1/codes/verify", json={"code": code}, headers=_checkpoint(federation, clock())
    )
    assert r.status_code == 422, r.text

    # A node credential cannot re-key an issuer that has no current key; the admin can, with
    # the key's own proof (what `yimatong keys proof` prints at the issuer).
    with federation.issuer.db.uow() as uow:
        fresh = keystore.create_key(
            uow.conn, federation.issuer.service.cipher, Algorithm.EDDSA, region=ZJ, now=clock()
        )
        entries = keystore.registrations(uow.conn, federation.issuer.service.cipher, ZJ)
        uow.commit()
    federation.sync()  # nothing can prove it: the link does not publish it
    assert fresh.kid.hex() not in _trust_kids(federation, ZJ)
    assert [e.public_key for e in entries] == [prove_key(fresh, ZJ, clock()).public_key]
    body = entries[0].to_json()
    node = {"Authorization": f"Bearer {federation.issuer.settings.hub_token}"}
    r = federation.hub_http.post(f"/v1/issuers/{ZJ}/keys", json=body, headers=node)
    assert r.status_code == 403, r.text
    r = federation.hub_http.post(f"/v1/issuers/{ZJ}/keys", json=body, headers=federation.h("admin"))
    assert r.status_code == 201, r.text
    fresh_code = federation.http.post("/v1/codes", json={"subject": sid}, headers=me)
    assert fresh_code.status_code == 201, fresh_code.text
    assert peek_code(fresh_code.json()["code"]).kid == fresh.kid


def _checkpoint(federation: Federation, now: datetime) -> dict[str, str]:
    with federation.issuer.db.uow() as uow:
        token = add_credential(
            uow.conn, name="gate-1", role="checkpoint", now=now, rng=random.Random(9)
        )
        uow.commit()
    return {"Authorization": f"Bearer {token}"}


def test_keys_proof_prints_what_the_admin_registers_an_issuer_with(
    federation: Federation, tmp_path: Path, clock
) -> None:
    db = f"sqlite:///{tmp_path / 'gd.db'}"
    gd = build_issuer(_settings(db, tmp_path / "gd", "issuer", GD), clock=clock, start_sync=False)
    with gd.db.read() as conn:
        kid = keystore.list_keys(conn, GD)[0].kid
    gd.close()
    args = ["keys", "proof", "--role", "issuer", "--region", GD, "--db", db]
    env = {"YMT_FEDERATION_SECRET": SECRET, "YMT_DATA_KEYS": DATA_KEY}
    env["YMT_STATE_DIR"] = str(tmp_path / "gd")
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    r = federation.hub_http.post(
        "/v1/issuers",
        json={"region": GD, "name": "广东", "endpoint": "http://gd", "keys": entries},
        headers=federation.h("admin"),
    )
    assert r.status_code == 201, r.text
    assert kid.hex() in _trust_kids(federation, GD)
    missing = CliRunner().invoke(main, [*args, "--kid", "00" * 8], env=env)
    assert missing.exit_code == 1 and "no unrevoked key" in missing.output
