"""``yimatong verify`` against a real hub and issuer on loopback: a checkpoint that moves to
another region gets that region's policy at once, and when the hub cannot be used it says why
on stderr (credential refused, that URL is not a hub, hub unreachable) instead of deciding
offline in silence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.checkpoint_helpers import Federation
from tests.e2e.processes import free_port, yimatong

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GUIZHOU = {
    "and": [
        {"===": [{"var": "code.colour"}, "green"]},
        {"<": [{"var": "scan.temperature_decidegrees"}, 373]},
    ]
}


@pytest.fixture
def fed(db_url: str, tmp_path: Path) -> Iterator[Federation]:
    federation = Federation(tmp=tmp_path, hub_db=db_url)
    try:
        federation.setup()
        yield federation
    finally:
        federation.stop()


def verify(code: str, *args: str, token: str) -> tuple[int, dict[str, Any], str]:
    done = yimatong("verify", code, "--json", *args, env={"YIMATONG_TOKEN": token}, check=False)
    return done.returncode, json.loads(done.stdout), done.stderr


def test_verify_moves_region_and_says_what_went_wrong(fed: Federation, tmp_path: Path) -> None:
    rule = tmp_path / "guizhou.json"
    rule.write_text(json.dumps(GUIZHOU))
    yimatong(
        "policy",
        "set",
        "520000",
        "--file",
        str(rule),
        "--description",
        "绿码且体温低于 37.3 °C / green and below 37.3 °C",
        "--hub",
        fed.hub_url,
        env={"YIMATONG_TOKEN": fed.tokens["authority"]},
    )
    token = fed.tokens["checkpoint"]
    cache = ["--cache-dir", str(tmp_path / "gate")]
    hub = ["--hub", fed.hub_url]
    code = fed.code()

    # Item 2: --at 520000, then --at 520100 within the minute on the same cache.
    status, _, _ = verify(
        code, "--at", "520000", "--temperature", "36.5", *hub, *cache, token=token
    )
    assert status == 0
    status, moved, _ = verify(
        code, "--at", "520100", "--temperature", "38.5", *hub, *cache, token=token
    )
    assert status == 3, moved  # DENY under Guizhou's policy, not PASS under a national default
    assert moved["decision"]["policy"]["region"] == "520000"
    assert moved["decision"]["reasons_en"][0] == "temperature at the gate 38.5 °C"

    # Item 7: a refused credential is said, and the decision says it was made offline.
    status, refused, err = verify(
        code, "--at", "520000", "--temperature", "36.5", *hub, *cache, token="cred-x:nope"
    )
    assert status == 0 and refused["mode"] == "offline"
    assert f"yimatong: credential refused by the hub at {fed.hub_url}: " in err
    assert err.rstrip().endswith("; decided offline")
    assert refused["notes"][0].startswith(f"credential refused by the hub at {fed.hub_url}")

    # An issuer's URL given as the hub.
    status, wrong, err = verify(
        code, "--at", "330000", "--hub", fed.issuer_url, "--cache-dir", str(tmp_path / "w"),
        token=token,
    )  # fmt: skip
    assert status == 4 and wrong["mode"] == "offline"
    assert (
        f"yimatong: that URL is not a hub at {fed.issuer_url}: it is the issuer node of 330000"
        in err
    )
    assert wrong["decision"]["reasons_en"][0] == f"that URL is not a hub at {fed.issuer_url}"

    # Nothing listening: the hub is unreachable, and that is what is said (not the clock).
    nobody = f"http://127.0.0.1:{free_port()}"
    status, down, err = verify(
        code, "--at", "330000", "--hub", nobody, "--cache-dir", str(tmp_path / "d"), token=token
    )
    assert status == 4
    assert f"yimatong: hub unreachable at {nobody}: " in err
    assert down["decision"]["reasons_en"][0] == f"hub unreachable at {nobody}"
    assert "never been seen" not in err + json.dumps(down)

    # The hub going away under a filled cache: decided offline, and said so.
    fresh = fed.code()
    fed.stop_hub()
    status, offline, err = verify(
        fresh, "--at", "520000", "--temperature", "36.5", *hub, *cache, "--timeout", "0.5",
        token=token,
    )  # fmt: skip
    assert status == 0 and offline["mode"] == "offline", (offline, err)
    assert f"yimatong: hub unreachable at {fed.hub_url}: " in err
