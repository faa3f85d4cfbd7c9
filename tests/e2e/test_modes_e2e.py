"""Modes 2 and 3 with real processes on loopback (SQLite, as the demo runs them).

``yimatong serve --role hub --hosted 540000``, ``--role issuer --region 330000`` and
``--role legacy --region 420000``: the issuer and the legacy system are registered at the hub
over HTTP as an operator would, then a Hubei legacy code, a Zhejiang code and a code of the
hosted region are each verified through the hub, and one is converted to a national code.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import NodeProcess, free_port, yimatong
from tests.integration.conftest import DATA_KEY, SECRET, make_id
from yimatong.legacy import sign

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENV = {"YMT_FEDERATION_SECRET": SECRET, "YMT_DATA_KEYS": DATA_KEY}


def _otp(sms_log: Path, phone: str) -> str:
    for line in reversed(sms_log.read_text(encoding="utf-8").splitlines()):
        if f"\t{phone}\t" in line:
            found = re.search(r"\d{6}", line.split("\t", 2)[2])
            assert found
            return found.group(0)
    raise AssertionError("no one-time code in sms.log")


def _signed(app: dict[str, Any]) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    return {
        "appKey": app["appKey"],
        "timestamp": timestamp,
        "sign": sign(app["appKey"], timestamp, app["appSecret"]),
    }


def _citizen_code(http: httpx.Client, prefix: str, sms_log: Path, phone: str, area: str) -> str:
    assert http.post(f"{prefix}/v1/auth/otp", json={"phone": phone}).status_code == 202
    r = http.post(f"{prefix}/v1/auth/session", json={"phone": phone, "otp": _otp(sms_log, phone)})
    assert r.status_code == 200, r.text
    me = {"Authorization": f"Bearer {r.json()['token']}"}
    body = {"name": "王五", "id_type": "111", "id_number": make_id(area)}
    r = http.post(f"{prefix}/v1/applications", json=body, headers=me)
    assert r.status_code == 201, r.text
    r = http.post(f"{prefix}/v1/codes", json={"subject": r.json()["sid"]}, headers=me)
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    return code


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[dict[str, NodeProcess]]:
    started: dict[str, NodeProcess] = {}
    specs = {
        "hub": ["--role", "hub", "--region", "000000", "--hosted", "540000"],
        "zj": ["--role", "issuer", "--region", "330000"],
        "hb": ["--role", "legacy", "--region", "420000"],
    }
    try:
        for name, args in specs.items():
            port = free_port()
            state = tmp_path / name
            started[name] = NodeProcess(
                ["serve", *args, "--state-dir", str(state), "--port", str(port)],
                ENV,
                f"http://127.0.0.1:{port}",
                tmp_path / f"{name}.log",
            )
        for node in started.values():
            node.wait_ready()
        yield started
    finally:
        for node in started.values():
            node.stop()


def test_codes_of_every_mode_are_verified_through_the_hub(
    nodes: dict[str, NodeProcess], tmp_path: Path
) -> None:
    hub, zj, hb = nodes["hub"], nodes["zj"], nodes["hb"]

    def creds(name: str, *args: str) -> str:
        return yimatong("creds", "add", *args, env=ENV).stdout.strip() or name

    hub_args = ["--role", "hub", "--region", "000000", "--state-dir", str(tmp_path / "hub")]
    admin = creds("admin", *hub_args, "--as", "admin", "--name", "ops")
    checkpoint = creds("checkpoint", *hub_args, "--as", "checkpoint", "--name", "gate-gy-1")
    outbound = creds(
        "outbound",
        *["--region", "330000", "--state-dir", str(tmp_path / "zj")],
        *["--as", "node", "--name", "the-hub"],
    )
    apps = json.loads((tmp_path / "hb" / "legacy-apps.json").read_text())["apps"]
    hub_app = next(a for a in apps if a["name"] == "hub")
    admin_app = next(a for a in apps if a["name"] == "admin")

    with httpx.Client(base_url=hub.url, timeout=10) as http:
        as_admin = {"Authorization": f"Bearer {admin}"}
        zj_args = ["--role", "issuer", "--region", "330000", "--state-dir", str(tmp_path / "zj")]
        keys = json.loads(yimatong("keys", "proof", *zj_args, env=ENV).stdout)
        r = http.post(
            "/v1/issuers",
            json={
                "region": "330000",
                "name": "浙江省",
                "endpoint": zj.url,
                "keys": keys,
                "outbound_token": outbound,
            },
            headers=as_admin,
        )
        assert r.status_code == 201, r.text
        r = http.post(
            "/v1/issuers",
            json={
                "region": "420000",
                "name": "湖北省",
                "kind": "legacy",
                "endpoint": hb.url,
                "legacy_prefix": "HBJKM:",
                "outbound_token": f"{hub_app['appKey']}:{hub_app['appSecret']}",
            },
            headers=as_admin,
        )
        assert r.status_code == 201, r.text

        # A Hubei person registered at the legacy system, through its own API.
        id_number = make_id("420381", "19750505", "317")
        r = httpx.post(
            f"{hb.url}/hbjkm/user/register",
            json={"xm": "赵六", "zjlx": "1", "zjhm": id_number, "sjhm": "13911112222"},
            headers=_signed(admin_app),
        )
        assert r.json()["errcode"] == 0, r.text
        r = httpx.post(
            f"{hb.url}/hbjkm/code/generate",
            json={"userId": r.json()["data"]["userId"]},
            headers=_signed(admin_app),
        )
        legacy_code = r.json()["data"]["code"]

        as_checkpoint = {"Authorization": f"Bearer {checkpoint}"}
        r = http.post(
            "/v1/codes/verify",
            json={"code": legacy_code, "at_region": "520000", "temperature": 36.5},
            headers=as_checkpoint,
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        assert (answer["issuer"], answer["issuer_kind"], answer["kind"]) == (
            "420000",
            "legacy",
            "legacy",
        )
        assert (answer["colour"], answer["status"]) == ("green", "online")
        assert answer["display"]["masked_name"] == "赵*"
        assert answer["sid"]

        # A Zhejiang code, online through the issuer's own 验码.
        with httpx.Client(base_url=zj.url, timeout=10) as zj_http:
            zj_code = _citizen_code(
                zj_http, "", tmp_path / "zj" / "sms.log", "13800001111", "330106"
            )
        answer = http.post("/v1/codes/verify", json={"code": zj_code}, headers=as_checkpoint)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["issuer_kind"], answer.json()["status"]) == ("native", "online")

        # Tibet, hosted by the hub (Mode 3): its own sign-in under /regions/540000.
        xz_code = _citizen_code(
            http, "/regions/540000", tmp_path / "hub" / "sms.log", "13700002222", "540102"
        )
        answer = http.post("/v1/codes/verify", json={"code": xz_code}, headers=as_checkpoint)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["issuer"], answer.json()["issuer_kind"]) == ("540000", "hosted")

        # Conversion is public: the legacy code becomes a national code the hub verifies.
        r = http.post("/v1/codes/convert", json={"code": legacy_code})
        assert r.status_code == 200, r.text
        national = r.json()["code"]
        answer = http.post("/v1/codes/verify", json={"code": national}, headers=as_checkpoint)
        assert answer.json()["issuer_kind"] == "national"

        # The Zhejiang issuer stops: its codes are still answered, from their signed claims.
        zj.stop()
        answer = http.post("/v1/codes/verify", json={"code": zj_code}, headers=as_checkpoint)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "claims"
        # The legacy system stops: "cannot check now", never "invalid".
        hb.stop()
        r = http.post("/v1/codes/verify", json={"code": legacy_code}, headers=as_checkpoint)
        assert r.status_code == 503, r.text

    logs = "".join((tmp_path / f"{n}.log").read_text() for n in ("hub", "zj", "hb"))
    assert id_number not in logs and "赵六" not in logs and legacy_code not in logs
