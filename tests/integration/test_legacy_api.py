"""The legacy HBJKM imitation on its own: its API, its errors, its secrets, its schema."""

from __future__ import annotations

import random
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeClock
from tests.integration.conftest import make_id
from tests.integration.test_legacy import (
    ADMIN,
    GATE,
    HUB,
    Legacy,
    legacy_settings,
    signed,
    start_legacy,
)
from yimatong.adapters.db import tables as ymt_tables
from yimatong.adapters.legacy_hbjkm import HbjkmAdapter
from yimatong.domain.facts import Colour
from yimatong.domain.identity import mask_id
from yimatong.legacy import (
    APPS_FILE,
    SECRETS_FILE,
    ErrCode,
    LegacyError,
    build_legacy,
    metadata,
    register_person,
)

VALIDATE = "/hbjkm/userHealth/validateInfo"
REGISTER = "/hbjkm/user/register"


@pytest.fixture
def legacy(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Legacy]:
    with start_legacy(db_url, tmp_path / "state", clock) as running:
        yield running


def register(legacy: Legacy, id_number: str | None = None, **body: str) -> dict[str, Any]:
    body = {
        "xm": "王小明",
        "zjlx": "1",
        "zjhm": id_number or GOOD_ID,
        "sjhm": "13612345678",
        **body,
    }
    return legacy.post(REGISTER, body)


# ------------------------------------------------------------------------------ the flow


def test_register_generate_validate_over_http(legacy: Legacy) -> None:
    id_number = GOOD_ID
    answer = register(legacy, id_number)
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok", answer
    user_id = answer["data"]["userId"]

    answer = legacy.post("/hbjkm/code/generate", {"userId": user_id})
    assert answer["errcode"] == 0, answer
    code = answer["data"]["code"]
    assert HbjkmAdapter.recognises(code)
    # 10:00 Beijing time on 2026-11-20 plus 24 hours, without an offset.
    assert answer["data"]["expireTime"] == "2026-11-21 10:00:00"

    answer = legacy.post(VALIDATE, {"bizExtData": code}, app=GATE)
    assert answer == {
        "errcode": 0,
        "errmsg": "ok",
        "person": {"desensitizeName": "王**", "desensitizeCardId": mask_id(id_number)},
        "healthyReport": [{"healthyStaus": "00", "reportTime": "2026-11-20 10:00:00"}],
        "hsjc": None,
    }
    full = legacy.post(VALIDATE, {"bizExtData": code}, app=HUB)
    assert full["person"] == {
        "desensitizeName": "王**",
        "desensitizeCardId": mask_id(id_number),
        "cardType": "1",
        "cardId": id_number,
    }


def test_reports_come_newest_first_and_tests_carry_both_times(legacy: Legacy) -> None:
    user_id, code, _ = legacy.person(status="10")
    legacy.clock.advance(hours=1)
    legacy.post("/hbjkm/admin/setStatus", {"userId": user_id, "healthyStaus": "01"})
    legacy.post(
        "/hbjkm/admin/hsjc",
        {"userId": user_id, "hsjcjg": "阴性", "hsjcsj": "2026-11-20 10:30:00"},
    )
    answer = legacy.post(VALIDATE, {"bizExtData": code}, app=GATE)
    assert answer["healthyReport"] == [
        {"healthyStaus": "01", "reportTime": "2026-11-20 11:00:00"},
        {"healthyStaus": "10", "reportTime": "2026-11-20 10:00:00"},
    ]
    assert answer["hsjc"] == {"hsjcjg": "阴性", "hsjcsj": "2026-11-20 10:30:00", "cysj": ""}


def test_health_check_and_nothing_of_ours(legacy: Legacy) -> None:
    r = legacy.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "role": "legacy", "region": "420000", "system": "HBJKM"}
    for path in ("/v1/codes/verify", "/openapi.json", "/docs", "/metrics"):
        r = legacy.client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/json")
        assert r.json() == {"errcode": ErrCode.NO_SUCH_API, "errmsg": "接口不存在"}
    r = legacy.client.get(VALIDATE)
    assert r.status_code == 405 and "errcode" in r.json()


# ---------------------------------------------------------------------------- its errors


def errcode(legacy: Legacy, path: str, *, headers: dict[str, str], **kw: Any) -> int:
    r = legacy.client.post(path, headers=headers, **kw)
    assert r.status_code == 200, r.text  # errors ride on HTTP 200, as in such systems
    body = r.json()
    assert set(body) == {"errcode", "errmsg"} and body["errmsg"], body
    return int(body["errcode"])


def test_partner_authentication_errors(legacy: Legacy) -> None:
    now = legacy.clock()
    body = {"json": {"bizExtData": "HBJKM:" + "0" * 32}}
    assert errcode(legacy, VALIDATE, headers={}, **body) == ErrCode.BAD_APP_KEY
    assert errcode(legacy, VALIDATE, headers={"appKey": "nope"}, **body) == ErrCode.BAD_APP_KEY
    good = signed(HUB, now)
    assert errcode(legacy, VALIDATE, headers={**good, "sign": "0" * 64}, **body) == 40101
    assert errcode(legacy, VALIDATE, headers={**good, "timestamp": "x"}, **body) == 40102
    stale = signed(HUB, legacy.clock.advance(minutes=6))
    legacy.clock.advance(minutes=-6)
    assert errcode(legacy, VALIDATE, headers=stale, **body) == ErrCode.BAD_TIMESTAMP
    # the hub may validate codes but not register people
    assert errcode(legacy, REGISTER, headers=good, json={}) == ErrCode.NO_SCOPE
    assert errcode(legacy, VALIDATE, headers=good, **body) == ErrCode.INVALID_CODE


def test_parameter_errors(legacy: Legacy) -> None:
    headers = signed(ADMIN, legacy.clock())
    assert errcode(legacy, VALIDATE, headers=headers, content=b"{") == ErrCode.BAD_PARAMETER
    assert errcode(legacy, VALIDATE, headers=headers, json=[1]) == ErrCode.BAD_PARAMETER
    assert errcode(legacy, VALIDATE, headers=headers, json={}) == ErrCode.BAD_PARAMETER
    assert errcode(legacy, VALIDATE, headers=headers, json={"bizExtData": 5}) == 40002
    big = {"bizExtData": "x" * 70_000}
    assert errcode(legacy, VALIDATE, headers=headers, json=big) == ErrCode.BAD_PARAMETER
    unknown_user = {"userId": "0" * 32}
    assert errcode(legacy, "/hbjkm/code/generate", headers=headers, json=unknown_user) == 40004
    bad_status = {"userId": "0" * 32, "healthyStaus": "02"}
    assert errcode(legacy, "/hbjkm/admin/setStatus", headers=headers, json=bad_status) == 40002
    user_id, _, _ = legacy.person()
    for test in (
        {"hsjcjg": "阴", "hsjcsj": "2026-11-20 10:00:00"},
        {"hsjcjg": "阴性", "hsjcsj": "2026-11-20T10:00:00+08:00"},
        {"hsjcjg": "阴性", "hsjcsj": "2026-11-20 10:00:00", "cysj": "2026-11-20 11:00:00"},
    ):
        body = {"userId": user_id, **test}
        assert errcode(legacy, "/hbjkm/admin/hsjc", headers=headers, json=body) == 40002


GOOD_ID = make_id("420103", "19900309", "128")
WRONG_CHECK = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"zjhm": WRONG_CHECK}, ErrCode.BAD_CARD),
        ({"zjhm": "12345"}, ErrCode.BAD_CARD),
        ({"zjhm": make_id("420103", "20991231", "128")}, ErrCode.BAD_CARD),  # born in the future
        ({"zjlx": "9"}, ErrCode.BAD_PARAMETER),
        ({"sjhm": "110"}, ErrCode.BAD_PARAMETER),
        ({"xm": ""}, ErrCode.BAD_PARAMETER),
    ],
)
def test_registration_errors(legacy: Legacy, change: dict[str, str], expected: int) -> None:
    assert register(legacy, **change)["errcode"] == expected


def test_a_card_registers_once(legacy: Legacy) -> None:
    assert register(legacy)["errcode"] == 0
    again = register(legacy, sjhm="13700000000")
    assert again == {"errcode": ErrCode.ALREADY_REGISTERED, "errmsg": "该证件号码已注册"}


def test_register_person_raises_the_legacy_error(legacy: Legacy) -> None:
    with pytest.raises(LegacyError) as caught:
        register_person(
            legacy.node.service.store,
            name="赵六",
            id_number="123",
            phone="13800000000",
            now=legacy.clock(),
            rng=random.Random(1),
        )
    assert caught.value.errcode == ErrCode.BAD_CARD


def test_other_documents_than_the_resident_id(legacy: Legacy) -> None:
    _, code, _ = legacy.person(id_number="H12345678", card_type="3", name="陈大文")
    answer = legacy.post(VALIDATE, {"bizExtData": code}, app=HUB)
    assert answer["person"]["cardType"] == "3" and answer["person"]["cardId"] == "H12345678"
    verdict = legacy.adapter().verify(code, now=legacy.clock())
    assert verdict.sid is not None and verdict.colour is Colour.GREEN


# -------------------------------------------------------------------- secrets and schema


def test_first_start_makes_private_app_and_secret_files(tmp_path: Path, clock: FakeClock) -> None:
    settings = legacy_settings(f"sqlite:///{tmp_path / 'legacy.db'}", tmp_path / "state")
    node = build_legacy(settings, clock=clock)
    apps = node.service.apps
    node.close()
    for name in (APPS_FILE, SECRETS_FILE):
        mode = stat.S_IMODE((tmp_path / "state" / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    hub = node.service.app_named("hub")
    admin = node.service.app_named("admin")
    assert hub.scopes == {"validateInfo", "fullIdentity"}
    assert "fullIdentity" not in admin.scopes and "admin" in admin.scopes
    assert hub.app_secret not in repr(hub)

    again = build_legacy(settings, clock=clock)
    assert again.service.apps == apps  # read back, not made anew
    again.close()


def test_the_legacy_schema_is_not_ours() -> None:
    assert not set(metadata.tables) & set(ymt_tables.metadata.tables)
    versions = Path(ymt_tables.__file__).with_name("migrations") / "versions"
    for migration in versions.glob("*.py"):
        assert "hb_" not in migration.read_text()


def test_app_keys_must_be_keyed_by_their_own_key(tmp_path: Path) -> None:
    settings = legacy_settings(f"sqlite:///{tmp_path / 'legacy.db'}", tmp_path)
    with pytest.raises(ValueError):
        build_legacy(settings, app_keys={"other": HUB})


def test_the_seeding_api_is_enough_for_a_demo_population(legacy: Legacy) -> None:
    rng = random.Random(3)
    codes = []
    for i, status in enumerate(["00", "01", "10", "11"] * 5):
        _, code = register_person(
            legacy.node.service.store,
            name=f"测试{i}",
            id_number=make_id("420111", "19850101", f"{i:03d}"),
            phone=f"1380000{i:04d}",
            status=status,
            test_result="阴性" if i % 2 else None,
            now=legacy.clock(),
            rng=rng,
        )
        codes.append((code, status))
    adapter = legacy.adapter()
    for code, status in codes:
        assert adapter.verify(code, now=legacy.clock()).legacy_status == status
