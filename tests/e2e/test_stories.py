"""The federation's stories (STORIES.md), told against `yimatong demo` running as real processes.

One demo federation (hub hosting 540000, Zhejiang, Guizhou, legacy Hubei; a small synthetic
population) is started for this module, exactly as the README's first command starts it, and
each test plays one story over loopback HTTP and the `yimatong` command line. The story that
needs weeks to pass ("sixteen cities off the red list") runs in-process with a fake clock in
tests/integration/test_story_sixteen_cities.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.demo_support import Demo, running_demo
from tests.e2e.processes import yimatong
from tests.integration.conftest import make_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with running_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


def _legacy_code(demo: Demo, *, status: str = "00") -> str:
    """A resident registers with Hubei's own system and gets its own opaque code."""
    apps = json.loads((demo.state / "hubei" / "legacy-apps.json").read_text())["apps"]
    admin = next(a for a in apps if "admin" in a["scopes"])
    base = demo.url("hubei")

    def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
        ts = str(int(time.time() * 1000))
        sign = hashlib.sha256((admin["appKey"] + ts + admin["appSecret"]).encode()).hexdigest()
        headers = {"appKey": admin["appKey"], "timestamp": ts, "sign": sign}
        answer: dict[str, Any] = httpx.post(
            base + path, json=body, headers=headers, timeout=10
        ).json()
        assert answer["errcode"] == 0, answer
        return answer

    user = call(
        "/hbjkm/user/register",
        {
            "xm": "王建国",
            "zjlx": "1",
            "zjhm": make_id("420381", "19800303", "155"),
            "sjhm": "13607110001",
        },
    )["data"]["userId"]
    if status != "00":
        call("/hbjkm/admin/setStatus", {"userId": user, "healthyStaus": status})
    return str(call("/hbjkm/code/generate", {"userId": user})["data"]["code"])


def test_a_green_hubei_legacy_code_passes_a_guizhou_checkpoint(demo: Demo) -> None:
    """The hotel in Renhuai: Guizhou recognises Hubei's code through the hub; no quarantine."""
    code = _legacy_code(demo)
    assert code.startswith("HBJKM:")
    answer = demo.verify(code, "520000", "--temperature", "36.5")
    assert answer["decision"]["outcome"] == "PASS", answer
    assert answer["colour"] == "green"
    assert answer["issuer"] == "420000"


def test_zhejiang_and_guizhou_recognise_each_other_even_offline(demo: Demo) -> None:
    zj, gz = demo.url("zhejiang"), demo.url("guizhou")
    me = demo.sign_in(zj, "13800010001")
    zj_code = demo.code(
        zj, me, demo.apply(zj, me, name="钱多多", id_number=make_id("330102", "19900101", "011"))
    )
    me2 = demo.sign_in(gz, "13800010002")
    gz_code = demo.code(
        gz, me2, demo.apply(gz, me2, name="龙飞", id_number=make_id("520102", "19920202", "021"))
    )
    at_gz = demo.verify(zj_code, "520000", "--temperature", "36.4")
    at_zj = demo.verify(gz_code, "330000")
    assert (at_gz["decision"]["outcome"], at_gz["issuer"]) == ("PASS", "330000")
    assert (at_zj["decision"]["outcome"], at_zj["issuer"]) == ("PASS", "520000")
    # The signature check needs no hub: --offline never touches the network.
    offline = demo.verify(zj_code, "520000", "--offline", "--temperature", "36.4")
    assert offline["mode"] == "offline", offline
    assert offline["valid"] is True
    assert offline["issuer"] == "330000"


def test_a_shanghai_lab_result_reaches_a_zhejiang_residents_health_query(demo: Demo) -> None:
    zj = demo.url("zhejiang")
    id_number = make_id("330106", "19850606", "031")
    me = demo.sign_in(zj, "13800010003")
    sid = demo.apply(zj, me, name="孙悦", id_number=id_number)
    sampled = datetime.now(UTC) - timedelta(hours=20)
    csv = demo.state / "one-result.csv"
    reported = sampled + timedelta(hours=6)
    csv.write_text(
        "id_type,id_number,sampled_at,reported_at,result\n"
        f"111,{id_number},{sampled.isoformat()},{reported.isoformat()},negative\n",
        encoding="utf-8",
    )
    lab = demo.plan["credentials"]["lab"]
    yimatong(
        "results", "upload", str(csv), "--lab", lab["lab_id"], "--key", lab["key"],
        "--hub", demo.hub, env={"YIMATONG_TOKEN": lab["token"]},
    )  # fmt: skip
    deadline = time.monotonic() + 20  # the issuer syncs every 3 s in the demo
    tests: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not tests:
        tests = httpx.get(f"{zj}/v1/subjects/{sid}/health", headers=me, timeout=10).json()["tests"]
        time.sleep(0.5)
    assert [(t["outcome"], t["hours_since_sampling"]) for t in tests] == [("negative", 20)]


def test_a_resident_of_the_mode_3_region_is_recognised_in_zhejiang(demo: Demo) -> None:
    tibet = demo.plan["hosted"][0]["url"]
    me = demo.sign_in(tibet, "13800010004")
    sid = demo.apply(tibet, me, name="扎西", id_number=make_id("540102", "19870707", "041"))
    answer = demo.verify(demo.code(tibet, me, sid), "330000")
    assert answer["issuer"] == "540000"
    assert answer["decision"]["outcome"] == "PASS"


def test_a_daughter_applies_for_her_father_and_his_printed_code_is_checked_online(
    demo: Demo,
) -> None:
    zj = demo.url("zhejiang")
    me = demo.sign_in(zj, "13800010005")
    demo.apply(zj, me, name="李梅", id_number=make_id("330106", "19880505", "062"))
    father = demo.apply(
        zj, me, name="李建国", id_number=make_id("330106", "19560303", "071"),
        for_relative={"relationship": "父亲"},
    )  # fmt: skip
    answer = demo.verify(demo.code(zj, me, father, kind="printed"), "330000")
    assert answer["kind"] == "printed"
    assert answer["status"] == "online"
    assert answer["display"]["masked_name"] == "李**"
    assert answer["decision"]["outcome"] == "PASS"


def test_a_son_acts_for_his_mother_only_once_she_passes_on_the_code_her_phone_was_sent(
    demo: Demo,
) -> None:
    zj = demo.url("zhejiang")
    mother_phone, son_phone = "13800010007", "13800010008"
    mother = demo.sign_in(zj, mother_phone)
    number = make_id("330106", "19520404", "091")
    sid = demo.apply(zj, mother, name="陈秀英", id_number=number)
    son = demo.sign_in(zj, son_phone)
    seen = len((demo.state / "sms.log").read_text(encoding="utf-8").splitlines())
    body = {"name": "陈秀英", "id_type": "111", "id_number": number,
            "for_relative": {"relationship": "母亲"}}  # fmt: skip
    r = httpx.post(f"{zj}/v1/applications", json=body, headers=son, timeout=10)
    assert r.status_code == 202, r.text  # her record exists: her consent first
    assert httpx.get(f"{zj}/v1/subjects/{sid}/health", headers=son, timeout=10).status_code == 404
    code = demo.otp(mother_phone, seen)  # what she reads out from her phone
    r = httpx.post(
        f"{zj}/v1/link-requests/{r.json()['request']}/confirm",
        json={"code": code}, headers=son, timeout=10,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    answer = demo.verify(demo.code(zj, son, sid), "330000")
    assert answer["decision"]["outcome"] == "PASS"
    listed = httpx.get(f"{zj}/v1/subjects/{sid}/proxies", headers=mother, timeout=10).json()
    assert [(p["relationship"], p["consent"], p["phone"]) for p in listed] == [
        ("母亲", "sms", "138****0008")
    ]


def test_zhejiang_rotates_its_key_old_codes_verify_until_a_revoked_kid_fails(demo: Demo) -> None:
    zj = demo.url("zhejiang")
    node = ["--role", "issuer", "--region", "330000", "--state-dir", str(demo.state / "zhejiang"),
            "--db", f"sqlite:///{demo.state / 'zhejiang' / 'node.db'}"]  # fmt: skip
    me = demo.sign_in(zj, "13800010006")
    sid = demo.apply(zj, me, name="赵雷", id_number=make_id("330106", "19791212", "081"))
    old_code = demo.code(zj, me, sid, kind="printed")
    old_kid = next(k["kid"] for k in json.loads(yimatong("keys", "list", *node, "--json").stdout)
                   if k["status"] == "active")  # fmt: skip
    yimatong("keys", "rotate", *node)
    new_code = demo.code(zj, me, sid)
    deadline = time.monotonic() + 20  # the issuer tells the hub on its next sync
    answer: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = demo.verify(new_code, "330000")
        if answer.get("valid"):
            break
        time.sleep(0.5)
    assert answer.get("valid"), answer
    assert demo.verify(old_code, "330000")["valid"] is True  # issued before the rotation
    yimatong("keys", "revoke", *node, old_kid)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = demo.verify(old_code, "330000")
        if not answer.get("valid", True) or answer.get("type", "").endswith("invalid-code"):
            break
        time.sleep(0.5)
    assert answer.get("valid") is not True, answer


# ----------------------------------------------------------- a second demo beside the first
def _logs(state: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in state.glob("*.log")}


def test_a_second_demo_on_the_same_state_refuses_and_leaves_the_first_alone(demo: Demo) -> None:
    before = _logs(demo.state)
    port = demo.hub.rsplit(":", 1)[1]
    second = subprocess.run(
        [sys.executable, "-m", "yimatong", "demo", "--state-dir", str(demo.state),
         "--base-port", port, "--population", "5"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert second.returncode != 0
    assert "another yimatong demo" in second.stderr and str(demo.proc.pid) in second.stderr
    assert second.stderr.count("\n") == 1, second.stderr  # one readable line
    assert _logs(demo.state) == before  # not one byte written to the running demo's logs
    assert demo.proc.poll() is None
    assert httpx.get(demo.hub + "/healthz", timeout=5).status_code == 200


def test_a_second_demo_on_ports_in_use_says_so_and_touches_nothing(
    demo: Demo, tmp_path: Path
) -> None:
    state = tmp_path / "second"
    port = demo.hub.rsplit(":", 1)[1]
    second = subprocess.run(
        [sys.executable, "-m", "yimatong", "demo", "--state-dir", str(state),
         "--base-port", port, "--population", "5"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert second.returncode != 0
    assert f"port {port} (hub)" in second.stderr and "--base-port" in second.stderr
    assert sorted(p.name for p in state.iterdir()) == ["demo.lock"]  # nothing prepared
    assert demo.proc.poll() is None


# ------------------------------------------------------------------- the README, word for word
def test_the_readme_walk_through_works_as_written(demo: Demo, tmp_path: Path) -> None:
    """The shell block of README's "Trying it by hand", run with bash against this demo."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Trying it by hand", 1)[1]
    block = section.split("```sh\n", 1)[1].split("\n```", 1)[0]
    script = (
        block.replace("http://127.0.0.1:8331", demo.url("zhejiang"))
        .replace("http://127.0.0.1:8330", demo.hub)
        .replace("var/demo/", f"{demo.state}/")
    )
    assert "8331" not in script and "var/demo" not in script
    env = {**os.environ, "YIMATONG_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("YIMATONG_TOKEN", None)
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    decisions = [line for line in run.stdout.splitlines() if line.startswith("PASS")]
    assert len(decisions) == 2 and all("林**" in d for d in decisions), run.stdout
