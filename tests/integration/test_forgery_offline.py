"""Forgery classes refused OFFLINE: a checkpoint with a cached trust list and no hub.

The table is ``forgery_support.FORGERIES`` (expired, future-dated, revoked kid, another
issuer's key, re-signed, replayed dynamic code, tampered claim, unsigned, algorithm
confusion); each must be refused with its reason, never accepted, never a crash. A code
signed by a key the cached list does not hold is a CHECK, never a PASS: offline nobody can
tell it from a key newer than the list. On SQLite and PostgreSQL (the hub's lists come from
its database).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.conftest import PG_URL
from tests.integration.forgery_support import FORGERIES, Forgery, Kit, kit_for
from yimatong.verifier import texts
from yimatong.verifier.policy import Outcome
from yimatong.verifier.verifier import Verifier


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def kit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL tests need YMT_TEST_PG_URL (CI sets it)")
    with ExitStack() as stack:
        yield from kit_for(request.param, request, tmp_path_factory.mktemp("forgery"), stack)


@pytest.fixture(scope="module")
def offline_gate(kit: Kit) -> Verifier:
    """A Guizhou checkpoint that fetched the lists once, then runs with the network off."""
    online = kit.gate()
    assert set(online.refresh().values()) == {"updated"}
    online.close()
    gate = kit.gate(cache_dir=online.config.cache_dir, offline=True)
    assert gate.trust is not None and len(gate.trust.keyring) >= 3
    return gate


def test_the_genuine_code_the_forgeries_start_from_verifies_offline(
    kit: Kit, offline_gate: Verifier
) -> None:
    result = offline_gate.verify(kit.genuine())
    assert result.valid is True and result.mode == "offline" and result.issuer == "330000"


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.name for f in FORGERIES])
def test_forgery_is_refused_offline_with_its_reason(
    kit: Kit, offline_gate: Verifier, forgery: Forgery
) -> None:
    code = forgery.make(kit)
    result = offline_gate.verify(code)
    assert result.mode == "offline"
    assert result.valid is not True
    assert result.decision is not None
    if forgery.offline_detail is None:  # a key the cached list does not hold
        assert result.decision.outcome is Outcome.CHECK
        assert result.decision.reasons_en[-1] == texts.UNKNOWN_KEY[1]
    else:
        assert result.decision.outcome is Outcome.DENY
        assert result.notes == (f"refused: {forgery.offline_detail}",)
        expected = texts.EXPIRED if forgery.offline_detail == "expired" else texts.INVALID
        assert result.decision.reasons_en == (expected[1],)
