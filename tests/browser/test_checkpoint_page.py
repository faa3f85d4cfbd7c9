"""The checkpoint page in real Chromium: sign in, decide online and offline, queue and upload
scans exactly once, refuse what must be refused, and send nothing off the node."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.checkpoint_world import (
    World,
    checkpoint_world,
    lists_ready,
    scan,
    screenshot,
    sign_in,
)
from tests.browser.conftest import Tab


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with checkpoint_world(tmp_path_factory.mktemp("checkpoint")) as made:
        yield made


def test_a_typed_code_passes_online(tab: Tab, world: World) -> None:
    sign_in(tab, world.url, world.fed.tokens["checkpoint"])
    lists_ready(tab)
    screenshot(tab, "ready")
    got = scan(tab, world.code("13800000011"), "36.5")
    screenshot(tab, "pass-online")
    assert got["outcome"] == "PASS", got
    assert got["mode"] == "online"
    assert "符合520000通行规则" in got["text"] and "meets the entry policy of 520000" in got["text"]
    assert tab.foreign_requests(world.url) == []
