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


def _until(what: str, probe: Any, seconds: float = 30) -> Any:
    """Poll ``probe`` until it answers something truthy (the issuers sync every 3 s)."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.5)


def test_a_guizhou_traveller_near_a_later_case_at_a_hangzhou_gate_is_traced_and_denied_as_a_contact(
    demo: Demo,
) -> None:
    """Issue 12: the traveller scanned at 杭州东站 18 minutes before a later case is listed with
    the evidence, confirmed a close contact, and is no longer green, with the reason, in
    Zhejiang and at a Guizhou checkpoint; their travel code shows 杭州市* while Hangzhou has a
    high-risk area. (The issue says yellow; the default rule set makes a close contact red,
    ruleset-default-2026.1.json ``contact-close``, and the colour here is the rule set's.)"""
    zj, gz, hub = demo.url("zhejiang"), demo.url("guizhou"), demo.hub
    cdc = {"Authorization": f"Bearer {demo.plan['credentials']['hub_authority']}"}
    gate, station = "杭州东站-3号闸机", "330102"  # 上城区
    now = datetime.now(UTC)
    r = httpx.put(
        f"{hub}/v1/risk-areas/330106002",  # 北山街道, 西湖区: a high-risk area in Hangzhou
        json={"level": "high", "from": (now - timedelta(hours=1)).isoformat()},
        headers=cdc,
        timeout=10,
    )
    assert r.status_code == 200, r.text

    me = demo.sign_in(gz, "13800010012")
    traveller_id = make_id("520102", "19910909", "051")
    traveller = demo.apply(gz, me, name="龙小雨", id_number=traveller_id)
    scanned = now - timedelta(hours=3)
    r = httpx.post(
        f"{gz}/v1/itineraries",
        json={"subject": traveller, "region": station,
              "from": (scanned - timedelta(hours=4)).isoformat(),
              "to": (scanned + timedelta(hours=2)).isoformat()},
        headers=me, timeout=10,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    case_id = make_id("330102", "19800808", "061")
    me_case = demo.sign_in(zj, "13800010013")
    demo.apply(zj, me_case, name="钱病例", id_number=case_id)

    # The Hangzhou station's checkpoint uploads its scans to the hub (as the verifier does).
    zj_gate = {"Authorization": f"Bearer {demo.checkpoint('330000')}"}
    traveller_scan = {"id": "story12-t", "sid": traveller, "at": scanned.isoformat(),
                      "area": station, "decision": "PASS", "checkpoint": gate}  # fmt: skip
    r = httpx.post(f"{hub}/v1/scans", json={"scans": [traveller_scan]}, headers=zj_gate, timeout=10)
    assert r.status_code == 200, r.text
    case_sid = httpx.post(
        f"{hub}/v1/tracing/queries",
        json={"id_type": "111", "id_number": case_id, "purpose": "流调 准备", "identify": False},
        headers=cdc, timeout=10,
    ).json()["case"]  # fmt: skip
    case_scan = {"id": "story12-c", "sid": case_sid,
                 "at": (scanned + timedelta(minutes=18)).isoformat(),
                 "area": station, "decision": "PASS", "checkpoint": gate}  # fmt: skip
    r = httpx.post(f"{hub}/v1/scans", json={"scans": [case_scan]}, headers=zj_gate, timeout=10)
    assert r.status_code == 200, r.text

    # Later, the case is confirmed; the authority traces from the case's scans.
    r = httpx.post(
        f"{hub}/v1/facts",
        json={"facts": [{"id_type": "111", "id_number": case_id, "kind": "case",
                         "status": "confirmed", "since": now.isoformat()}]},
        headers=cdc, timeout=10,
    )  # fmt: skip
    assert r.status_code == 200, r.text

    def traced() -> Any:
        answer = httpx.post(
            f"{hub}/v1/tracing/queries",
            json={"id_type": "111", "id_number": case_id, "purpose": "流调 病例 杭州东站"},
            headers=cdc, timeout=10,
        ).json()  # fmt: skip
        found = [c for c in answer["candidates"] if c["sid"] == traveller]
        return found[0] if found and found[0]["identity"] else None

    candidate = _until("the traveller traced with a masked identity", traced)
    (evidence,) = candidate["evidence"]
    assert evidence["minutes_apart"] == 18.0 and evidence["same_checkpoint"] is True
    assert evidence["checkpoint"] == gate
    assert candidate["holders"] == ["520000"]
    assert candidate["identity"]["masked_name"].startswith("龙")
    assert "*" in candidate["identity"]["masked_id"]
    assert traveller_id not in json.dumps(candidate, ensure_ascii=False)

    # Confirmed as a close contact through the facts path.
    r = httpx.post(
        f"{hub}/v1/facts",
        json={"facts": [{"subject": traveller, "kind": "contact", "contact_kind": "close",
                         "last_exposure": candidate["last_exposure"]}]},
        headers=cdc, timeout=10,
    )  # fmt: skip
    assert r.status_code == 200, r.text

    def health() -> Any:
        view = httpx.get(f"{gz}/v1/subjects/{traveller}/health", headers=me, timeout=10).json()
        return view if view["colour"] != "green" else None

    view = _until("the traveller no longer green at Guizhou's issuer", health)
    assert view["colour"] == "red"  # the default rule set's colour for a close contact
    assert [x["code"] for x in view["reasons"]] == ["contact.close"]
    code = demo.code(gz, me, traveller)
    for at in ("330000", "520000"):  # a Zhejiang gate and a Guizhou gate
        answer = demo.verify(code, at)
        assert answer["colour"] == "red" and answer["outcome"] == "DENY", (at, answer)
        assert any("密切接触" in z or "contact" in z for z in answer["decision"]["reasons_zh"] +
                   answer["decision"]["reasons_en"]), answer  # fmt: skip

    # The travel code: Hangzhou starred while it holds a high-risk area.
    def starred() -> Any:
        view = httpx.get(f"{gz}/v1/subjects/{traveller}/travel", headers=me, timeout=10).json()
        return next((c for c in view["cities"] if c["city"] == "330100" and c["starred"]), None)

    city = _until("杭州市 starred in the travel code", starred)
    assert city["shown"] == "杭州市*" and city["star_level"] == "high"
    r = httpx.post(f"{gz}/v1/travel-codes", json={"subject": traveller}, headers=me, timeout=10)
    assert r.status_code == 201, r.text
    shown = yimatong(
        "verify", r.json()["code"], "--hub", hub, "--at", "520000", "--json",
        "--cache-dir", str(demo.state / "cache-520000"),
        env={"YIMATONG_TOKEN": demo.checkpoint("520000")},
    )  # fmt: skip
    result = json.loads(shown.stdout)
    assert result["kind"] == "travel" and result["outcome"] is None and result["colour"] is None
    assert {"city": "330100", "shown": "杭州市*", "star": "high"}.items() <= next(
        c for c in result["travel"] if c["city"] == "330100"
    ).items()


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


def test_the_demo_runs_a_road_node_whose_vehicle_found_defects_and_one_was_repaired(
    demo: Demo,
) -> None:
    """The road-condition code in the demo (docs/road.md): the vehicle's pass left four cells
    not green (the fifth, the manhole, was repaired and re-inspected), the map page serves."""
    road = demo.url("road")
    cells = httpx.get(road + "/v1/road/cells", timeout=10).json()["features"]
    assert sorted(f["properties"]["colour"] for f in cells) == ["red", "red", "red", "yellow"]
    figures = httpx.get(road + "/v1/road/dashboard", timeout=10).json()
    assert figures["work_orders"]["verified"] == 1 and figures["to_repair_hours"]["n"] == 1
    assert httpx.get(road + "/", timeout=10).status_code == 200
    points = httpx.get(road + "/v1/road/points/app-demo-7f3a", timeout=10).json()
    assert points["points"] == 10
