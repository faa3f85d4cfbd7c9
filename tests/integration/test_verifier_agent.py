"""The checkpoint agent in-process: line handling, status, and a clean stop on SIGTERM."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.checkpoint_helpers import Federation, start_federation
from yimatong.verifier.agent import Agent, parse_line


@pytest.fixture
def fed(tmp_path: Path, clock: Any) -> Iterator[Federation]:
    yield from start_federation(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, clock)


def test_parse_line() -> None:
    assert parse_line("YMT1:ABC\n") == ("YMT1:ABC", None)
    assert parse_line("YMT1:ABC\t36.6\r\n") == ("YMT1:ABC", 36.6)
    with pytest.raises(ValueError):
        parse_line("YMT1:ABC\thot")
    with pytest.raises(ValueError):
        parse_line("YMT1:ABC\t99")


def test_lines_in_decisions_out(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    out, err = io.StringIO(), io.StringIO()
    agent = Agent(fed.verifier(), out=out, err=err, as_json=True, upload_every=0.05)
    lines = ["# a comment\n", "\n", code + "\n", code + "\t39.0\n", code + "\tfever\n", ":status\n"]
    assert agent.run(lines, install_signals=False) == 0
    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [p.get("outcome") for p in printed[:3]] == ["PASS", "PASS", "CHECK"]
    assert "bad input line" in printed[2]["error"]
    status = printed[3]["status"]
    assert status["scans"] == 2 and status["trust_version"] is not None
    assert "checkpoint stopped: 2 scans (PASS 2); 0 waiting for upload" in err.getvalue()


def test_sigterm_while_waiting_for_input_stops_cleanly(fed: Federation) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    read_fd, write_fd = os.pipe()
    reader = os.fdopen(read_fd, "r", encoding="utf-8")
    writer = os.fdopen(write_fd, "w", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    agent = Agent(fed.verifier(), out=out, err=err)

    def gate() -> None:
        writer.write(code + "\n")
        writer.flush()
        deadline = time.monotonic() + 10
        while not out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=gate)
    thread.start()
    try:
        assert agent.run(reader) == 0
    finally:
        thread.join()
        writer.close()
        reader.close()
    assert out.getvalue().startswith("PASS ")
    assert "checkpoint stopped: 1 scans" in err.getvalue()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers put back


def test_the_agent_says_once_that_its_credential_is_refused(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    me, sid = fed.citizen()
    code = fed.code(me, sid)
    out, err = io.StringIO(), io.StringIO()
    agent = Agent(fed.verifier(token="cred-x:nope"), out=out, err=err, as_json=True)
    agent._refresh()  # the lists are public: they come all the same
    with caplog.at_level("WARNING", logger="yimatong.verifier"):
        assert agent.run([code + "\n", code + "\n", ":status\n"], install_signals=False) == 0
    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(p["outcome"], p["mode"]) for p in printed[:2]] == [("PASS", "offline")] * 2
    said = [r.getMessage() for r in caplog.records if "credential refused" in r.getMessage()]
    assert said == [
        "credential refused by the hub at http://testserver: the token is unknown, revoked or "
        "expired; deciding offline until it answers"
    ]
    assert printed[2]["status"]["hub"].startswith("credential refused by the hub")


def test_the_chunks_of_a_health_card_on_separate_lines_are_decided_as_one_card(
    fed: Federation, tmp_path: Path
) -> None:
    from yimatong.credentials import Caller
    from yimatong.demo.international import DemoShcIssuer, chunks, shc_payload, vci_snapshot
    from yimatong.hub.international import InternationalTrust

    issuer = DemoShcIssuer.new()
    InternationalTrust(fed.ctx).import_shc(
        Caller(role="admin", name="admin"), vci_snapshot([issuer])
    )
    verifier = fed.verifier(tmp_path / "gate")
    assert verifier.refresh()["international-trust"] == "updated"
    parts = chunks(issuer.jws(shc_payload("full", fed.clock(), issuer.iss)), 3)
    out, err = io.StringIO(), io.StringIO()
    agent = Agent(verifier, out=out, err=err, as_json=True, upload_every=0.05)
    lines = [parts[1], parts[0], parts[2] + "\t36.6", parts[0], parts[0], parts[2]]
    assert agent.run([line + "\n" for line in lines], install_signals=False) == 0
    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert printed[0] == {"outcome": None, "more": {"read": [2], "of": 3}}
    assert printed[1] == {"outcome": None, "more": {"read": [1, 2], "of": 3}}
    card = printed[2]
    assert card["kind"] == "shc" and card["valid"] is True, card
    assert card["display"]["masked_name"] == "Anyperson *" and card["temperature"] == 36.6
    # A chunk read twice starts a new card: still waiting for 2 and 3.
    assert printed[3]["more"] == {"read": [1], "of": 3}
    assert printed[4]["more"] == {"read": [1], "of": 3}
    assert printed[5]["more"] == {"read": [1, 3], "of": 3}
    assert "checkpoint stopped: 1 scans" in err.getvalue()
