"""The operators' commands through click's runner, against a hub served in-process."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.integration.conftest import make_id
from tests.integration.hub_data_helpers import FEDERATION_SECRET, Hub, sign_batch, start_hub
from yimatong.adapters.crypto import load_signing_key
from yimatong.adapters.db.tables import hub_feed, uploads
from yimatong.cli import main
from yimatong.domain.identity import DocumentType, subject_id
from yimatong.domain.regions import default_divisions

HUB = "http://testserver"


@pytest.fixture
def hub(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Hub]:
    hub, close = start_hub(db_url, tmp_path, clock)
    yield hub
    close()


def run(hub: Hub, *args: str, token: str | None = None) -> Result:
    env = {"YMT_HUB_URL": HUB, "YIMATONG_TOKEN": token} if token else {"YMT_HUB_URL": HUB}
    env.setdefault("YIMATONG_TOKEN", None)  # type: ignore[arg-type]
    return CliRunner().invoke(main, list(args), obj={"http_client": hub.client}, env=env)


def token_of(hub: Hub, role: str, scope: str | None = None) -> str:
    return hub.token(role, scope)["Authorization"].removeprefix("Bearer ")


def _feed_rows(hub: Hub, kind: str) -> int:
    with hub.node.db.read() as conn:
        stmt = select(func.count()).select_from(hub_feed).where(hub_feed.c.kind == kind)
        return int(conn.execute(stmt).scalar() or 0)


# ------------------------------------------------------------------------------ risk
def test_risk_set_and_list(hub: Hub) -> None:
    national = token_of(hub, "authority")
    r = run(hub, "risk", "set", "420100", "--level", "high", "--from", "2026-11-01T00:00+08:00",
            token=national)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "420100 湖北省 武汉市: high from 2026-11-01T00:00:00+08:00" in r.stdout
    assert "version 1" in r.stdout
    r = run(hub, "risk", "set", "330106002", "--level", "medium", "--from",
            "2026-11-02T08:00+08:00", "--to", "2026-11-16T08:00+08:00", token=national)  # fmt: skip
    assert r.exit_code == 0, r.output

    # anyone lists it; the signature is checked against the hub key in the trust list
    r = run(hub, "risk", "list")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "version 2" in lines[0]
    assert "signature ok" in lines[0]
    assert any(
        line.startswith("420100") and "high" in line and "湖北省 武汉市" in line for line in lines
    )
    street = next(line for line in lines if line.startswith("330106002"))
    assert "2026-11-02 08:00 → 2026-11-16 08:00" in street
    assert "浙江省 杭州市 西湖区 北山街道" in street

    r = run(hub, "risk", "list", "--since", "1", "--json")
    payload = json.loads(r.stdout)
    assert [p["area"] for p in payload["periods"]] == ["330106002"]

    kid = hub.node.service.hub_key().kid.hex()
    assert run(hub, "risk", "list", "--hub-kid", kid).exit_code == 0
    r = run(hub, "risk", "list", "--hub-kid", "00" * 8)
    assert r.exit_code == 1
    assert "not in the hub's trust list" in r.stderr


def test_risk_set_mistakes_and_refusals(hub: Hub) -> None:
    zhejiang = token_of(hub, "authority", "330000")
    r = run(hub, "risk", "set", "999999", "--level", "high", "--from", "2026-11-01T00:00+08:00",
            token=zhejiang)  # fmt: skip
    assert r.exit_code == 2
    r = run(hub, "risk", "set", "330106", "--level", "high", "--from", "2026-11-01T00:00",
            token=zhejiang)  # fmt: skip
    assert r.exit_code == 2
    assert "offset" in r.stderr
    r = run(hub, "risk", "set", "420100", "--level", "high", "--from", "2026-11-01T00:00+08:00",
            token=zhejiang)  # fmt: skip
    assert r.exit_code == 1
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("yimatong: the hub refused: an authority of 330000")
    r = run(hub, "risk", "set", "330106", "--level", "high", "--from", "2026-11-01T00:00+08:00")
    assert r.exit_code == 2
    assert "--token" in r.stderr
    r = CliRunner().invoke(main, ["risk", "list"], env={"YMT_HUB_URL": None})
    assert r.exit_code == 2
    assert "--hub" in r.stderr


def test_risk_set_many_is_one_version(hub: Hub, tmp_path: Path) -> None:
    national = token_of(hub, "authority")
    cities = [r.code for r in default_divisions().children("420000") if r.code != "420100"]
    good = tmp_path / "hubei.csv"
    good.write_text(
        "area,level,from,to\n"
        + "".join(f"{c},low,2026-03-10T00:00+08:00,\n" for c in cities)
        + "\n",  # a trailing blank line is fine
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "area,level,from\n420200,low,2026-03-10T00:00+08:00\n420300,pink,2026-03-10T00:00+08:00\n"
    )
    r = run(hub, "risk", "set-many", str(bad), token=national)
    assert r.exit_code == 1
    assert "bad.csv line 3: level must be low, medium or high; nothing was sent" in r.stderr
    r = run(hub, "risk", "set-many", str(good), "--note", "off the red list", token=national)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "16 areas changed in one action (list version 1)"
    payload = json.loads(run(hub, "risk", "list", "--json").stdout)
    assert {p["version"] for p in payload["periods"]} == {1}
    assert len(payload["periods"]) == 16


# ------------------------------------------------------------------------------ labs
def test_labs_add_writes_a_private_key_and_prints_the_credential(hub: Hub, tmp_path: Path) -> None:
    admin = token_of(hub, "admin")
    key = tmp_path / "lab.pem"
    args = ["labs", "add", "--lab-id", "hz-01", "--name", "杭州检验所", "--region", "330106"]
    r = run(hub, *args, "--key-out", str(key), token=admin)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().startswith("ymt_c_")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    # the file is never overwritten; a refused registration leaves no key behind
    assert run(hub, *args, "--key-out", str(key), token=admin).exit_code == 2
    other = tmp_path / "other.pem"
    r = run(hub, *args, "--key-out", str(other), token=admin)
    assert r.exit_code == 1
    assert "registered already" in r.stderr
    assert not other.exists()


def _lab(hub: Hub, tmp_path: Path, lab_id: str = "hz-01") -> tuple[Path, str]:
    key = tmp_path / f"{lab_id}.pem"
    r = run(hub, "labs", "add", "--lab-id", lab_id, "--name", "杭州检验所", "--region", "330106",
            "--key-out", str(key), token=token_of(hub, "admin"))  # fmt: skip
    assert r.exit_code == 0, r.output
    return key, r.stdout.strip()


def _results_csv(path: Path, n: int, extra: str = "") -> list[str]:
    numbers = [make_id(seq=f"{i:03d}") for i in range(n)]
    path.write_text(
        "id_type,id_number,sampled_at,reported_at,result\n"
        + "".join(
            f"111,{num},2026-11-19T08:00+08:00,2026-11-19T20:00+08:00,"
            f"{'阴性' if i % 2 else 'negative'}\n"
            for i, num in enumerate(numbers)
        )
        + extra,
        encoding="utf-8",
    )
    return numbers


def test_results_upload_in_batches_and_again(hub: Hub, tmp_path: Path) -> None:
    key, credential = _lab(hub, tmp_path)
    csv_file = tmp_path / "results.csv"
    numbers = _results_csv(csv_file, 25, "sid,,2026-11-19T08:00+08:00,2026-11-19T21:00+08:00,x\n")
    # the last line names a sid in the id_type column: not a valid row
    args = ["results", "upload", str(csv_file), "--lab", "hz-01", "--key", str(key)]
    r = run(hub, *args, "--batch-size", "10", token=credential)
    assert r.exit_code == 1
    assert "results.csv line 27: " in r.stderr
    assert "nothing was uploaded" in r.stderr
    assert _feed_rows(hub, "test") == 0

    _results_csv(csv_file, 25)
    r = run(hub, *args, "--batch-size", "10", token=credential)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == (
        "25 results in 3 batches: 25 accepted, 0 already at the hub (duplicate batches)"
    )
    assert "Uploading results" in r.stderr
    assert _feed_rows(hub, "test") == 25
    with hub.node.db.read() as conn:
        batch_ids = sorted(conn.execute(select(uploads.c.batch_id)).scalars())
        sids = set(conn.execute(select(hub_feed.c.sid)).scalars())
    assert [b.rsplit("-", 1)[1] for b in batch_ids] == ["0", "1", "2"]
    assert sids == {subject_id(FEDERATION_SECRET, DocumentType.RESIDENT_ID, n) for n in numbers}

    r = run(hub, *args, "--batch-size", "10", "--json", token=credential)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"rows": 25, "batches": 3, "accepted": 0, "duplicate": 25}
    assert _feed_rows(hub, "test") == 25

    # a key that is not the lab's: the hub refuses, one line, exit 1
    other_key, _ = _lab(hub, tmp_path, "gz-02")
    r = run(hub, "results", "upload", str(csv_file), "--lab", "hz-01", "--key", str(other_key),
            "--batch-size", "5", token=credential)  # fmt: skip
    assert r.exit_code == 1
    assert "yimatong: the hub refused: the batch signature does not verify" in r.stderr


def test_results_upload_stops_at_a_refused_batch(hub: Hub, tmp_path: Path) -> None:
    key, credential = _lab(hub, tmp_path)
    csv_file = tmp_path / "results.csv"
    _results_csv(csv_file, 40)
    digest = hashlib.sha256(csv_file.read_bytes()).hexdigest()[:16]
    # another lab took the id of this file's second batch (of four) first
    other_key, other = _lab(hub, tmp_path, "gz-02")
    signer = load_signing_key(other_key.read_bytes())
    taken = sign_batch(signer, "gz-02", f"{digest}-1", [_hub_row()])
    r = hub.client.post(
        "/v1/test-results", json=taken, headers={"Authorization": f"Bearer {other}"}
    )
    assert r.status_code == 200, r.text
    args = ["results", "upload", str(csv_file), "--lab", "hz-01", "--key", str(key)]
    r = run(hub, *args, "--batch-size", "10", token=credential)
    assert r.exit_code == 1
    assert "used by another lab" in r.stderr
    with hub.node.db.read() as conn:
        landed = set(conn.execute(select(uploads.c.batch_id)).scalars())
    # the first batch landed; at most the one already on its way after the refused one did
    assert f"{digest}-0" in landed
    assert f"{digest}-3" not in landed
    assert _feed_rows(hub, "test") == 1 + 10 * len(landed - {f"{digest}-1"})


def _hub_row() -> dict[str, str]:
    return {"id_type": "111", "id_number": make_id(seq="999"),
            "sampled_at": "2026-11-19T08:00:00+08:00", "reported_at": "2026-11-19T20:00:00+08:00",
            "result": "negative"}  # fmt: skip


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("111,{n},2026-11-19T08:00+08:00,2026-11-19T07:00+08:00,negative", "before sampled_at"),
        ("111,{n},2026-11-19T08:00,2026-11-19T20:00+08:00,negative", "no UTC offset"),
        ("111,{n},2026-11-19T08:00+08:00,2099-11-19T20:00+08:00,negative", "in the future"),
        ("111,{n}9,2026-11-19T08:00+08:00,2026-11-19T20:00+08:00,negative", "18 characters"),
        ("111,{n},2026-11-19T08:00+08:00,2026-11-19T20:00+08:00,maybe", "negative or positive"),
    ],
)
def test_results_upload_reports_the_first_bad_line(
    hub: Hub, tmp_path: Path, row: str, message: str
) -> None:
    key, credential = _lab(hub, tmp_path)
    csv_file = tmp_path / "r.csv"
    _results_csv(csv_file, 3, row.format(n=make_id(seq="999")) + "\n")
    r = run(hub, "results", "upload", str(csv_file), "--lab", "hz-01", "--key", str(key),
            token=credential)  # fmt: skip
    assert r.exit_code == 1
    assert "r.csv line 5: " in r.stderr
    assert message in r.stderr
    assert _feed_rows(hub, "test") == 0


# ------------------------------------------------------------------------------ facts
def test_facts_upload_and_again(hub: Hub, tmp_path: Path) -> None:
    authority = token_of(hub, "authority", "420000")
    csv_file = tmp_path / "facts.csv"
    number = make_id("420881", "19750704", "031")
    rows = [
        "sid,id_type,id_number,kind,status,since,contact_kind,last_exposure,start,end,"
        "quarantine_kind",
        f",111,{number},case,confirmed,2026-11-18T09:00+08:00,,,,,",
        f"{'a' * 32},,,contact,,,close,2026-11-17T20:00+08:00,,,",
        f"{'b' * 32},,,quarantine,,,,,2026-11-18T00:00+08:00,2026-12-02T00:00+08:00,home",
    ]
    csv_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = run(hub, "facts", "upload", str(csv_file), token=authority)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "3 facts: 3 accepted, 0 already at the hub"
    assert "Uploading facts" in r.stderr
    r = run(hub, "facts", "upload", str(csv_file), "--json", token=authority)
    assert json.loads(r.stdout) == {"rows": 3, "accepted": 0, "duplicates": 3}

    with hub.node.db.read() as conn:
        feed = conn.execute(select(hub_feed).order_by(hub_feed.c.seq)).all()
    sid = subject_id(FEDERATION_SECRET, DocumentType.RESIDENT_ID, number)
    assert [(f.sid, f.kind, f.region) for f in feed] == [
        (sid, "case", "420000"),
        ("a" * 32, "contact", "420000"),
        ("b" * 32, "quarantine", "420000"),
    ]
    assert feed[2].body["quarantine_kind"] == "home"

    bad = tmp_path / "bad.csv"
    bad.write_text(rows[0] + "\n" + f"{'a' * 32},,,contact,,,,,,,\n", encoding="utf-8")
    r = run(hub, "facts", "upload", str(bad), token=authority)
    assert r.exit_code == 1
    assert "bad.csv line 2: a contact needs last_exposure" in r.stderr


def test_every_ops_command_has_help() -> None:
    runner = CliRunner()
    commands: list[list[str]] = [
        ["risk"],
        ["risk", "set"],
        ["risk", "set-many"],
        ["risk", "list"],
        ["labs"],
        ["labs", "add"],
        ["results"],
        ["results", "upload"],
        ["facts"],
        ["facts", "upload"],
    ]
    for args in commands:
        r: Any = runner.invoke(main, [*args, "--help"])
        assert r.exit_code == 0, args
        assert "Usage:" in r.stdout
