"""``yimatong policy set|show`` against an in-process hub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.integration.checkpoint_helpers import Federation, start_federation
from yimatong.cli import main


@pytest.fixture
def fed(tmp_path: Path, clock: Any) -> Iterator[Federation]:
    yield from start_federation(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, clock)


def run(fed: Federation, *args: str, token: str | None = None) -> Any:
    env = {"YIMATONG_TOKEN": token} if token else {}
    return CliRunner().invoke(
        main, list(args), obj={"http_client": fed.hub_client}, env=env, catch_exceptions=False
    )


def test_set_and_show(fed: Federation, tmp_path: Path) -> None:
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"===": [{"var": "code.colour"}, "green"]}))
    authority = fed.hub_token("authority", "520000")
    r = run(
        fed,
        "policy",
        "set",
        "520000",
        "--place-kind",
        "school",
        "--file",
        str(rule),
        "--description",
        "绿码 / green",
        "--hub",
        "http://testserver",
        token=authority,
    )
    assert r.exit_code == 0, r.output
    assert r.output.startswith("policy 520000 school version ")
    shown = run(fed, "policy", "show", "520000", "--hub", "http://testserver")
    assert shown.exit_code == 0
    assert "520000 school" in shown.output and "绿码 / green" in shown.output
    as_json = json.loads(
        run(fed, "policy", "show", "520000", "--json", "--hub", "http://testserver").output
    )
    assert as_json["payload"]["type"] == "policies"
    history = run(fed, "policy", "show", "520000", "--history", "--hub", "http://testserver")
    assert history.output.count("520000 ") >= 2  # the demo's and ours


def test_refusals_are_one_line(fed: Federation, tmp_path: Path) -> None:
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"<": [{"var": "scan.temperature_decidegrees"}]}))
    authority = fed.hub_token("authority", "520000")
    r = run(
        fed,
        "policy",
        "set",
        "520000",
        "--file",
        str(rule),
        "--description",
        "x",
        "--hub",
        "http://testserver",
        token=authority,
    )
    assert r.exit_code == 1
    assert r.output.strip().count("\n") == 0 and "(/rule/<)" in r.output
    r = run(
        fed,
        "policy",
        "set",
        "330000",
        "--file",
        str(rule),
        "--description",
        "x",
        "--hub",
        "http://testserver",
        token=authority,
    )
    assert r.exit_code == 1
    assert run(fed, "policy", "set", "33", "--file", str(rule), "--description", "x").exit_code == 2
    rule.write_text("not json")
    r = run(
        fed,
        "policy",
        "set",
        "520000",
        "--file",
        str(rule),
        "--description",
        "x",
        "--hub",
        "http://testserver",
        token=authority,
    )
    assert r.exit_code == 2
