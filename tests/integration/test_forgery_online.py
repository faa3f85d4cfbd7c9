"""Forgery classes refused ONLINE: the hub's Mode 2 verify (``POST /v1/codes/verify``) over
its real app, and a checkpoint with no lists yet that can only ask the hub.

The table is ``forgery_support.FORGERIES``, the same as offline. The hub answers every one
with the one opaque ``invalid-code`` problem (422, never 500: a forger learns nothing from
it) and logs the reason for its operator; a code signed by a key the hub does not hold is
``unknown kid``. On SQLite and PostgreSQL (the hub reads its keyring from its database).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.conftest import PG_URL
from tests.integration.forgery_support import FORGERIES, Forgery, Kit, kit_for
from yimatong.verifier.policy import Outcome


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def kit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL tests need YMT_TEST_PG_URL (CI sets it)")
    with ExitStack() as stack:
        yield from kit_for(request.param, request, tmp_path_factory.mktemp("forgery"), stack)


def test_the_genuine_code_the_forgeries_start_from_verifies_at_the_hub(kit: Kit) -> None:
    code = kit.genuine()
    r = kit.fed.verify(code)
    assert r.status_code == 200, r.text
    assert r.json()["valid"] is True and r.json()["issuer"] == "330000"
    gate = kit.gate()
    result = gate.verify(code)
    gate.close()
    assert result.valid is True and result.mode == "online"


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.name for f in FORGERIES])
def test_forgery_is_refused_by_the_hub_with_its_reason(
    kit: Kit, forgery: Forgery, caplog: pytest.LogCaptureFixture
) -> None:
    code = forgery.make(kit)
    caplog.set_level(logging.INFO, logger="yimatong.hub")
    r = kit.fed.verify(code)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/invalid-code"
    assert r.json()["detail"] == "the code is not valid"  # the same whatever the forgery
    reason = forgery.offline_detail or "unknown kid"
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "yimatong.hub"]
    assert f"code refused: {reason}" in logged

    gate = kit.gate()  # no lists yet: the hub is the only one who can tell
    assert gate.trust is None
    result = gate.verify(code)
    gate.close()
    assert result.mode == "online" and result.valid is False
    assert result.decision is not None and result.decision.outcome is Outcome.DENY
