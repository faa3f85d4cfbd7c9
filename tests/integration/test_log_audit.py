"""``yimatong log verify``'s checks against an in-process hub: a log that grows honestly
passes; a rewritten entry, a forked log, a rolled-back log and a forged head each fail with
one line that says what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from tests.conftest import FakeClock
from tests.integration.hub_data_helpers import Hub, start_hub
from yimatong.adapters import keystore
from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.adapters.db.tables import log_entries, tree_heads
from yimatong.adapters.hubclient import NodeClient
from yimatong.domain.merkle import MerkleTree, leaf_hash
from yimatong.verifier.log_audit import AuditState, LogAuditor, LogProblem


@pytest.fixture
def hub(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Hub]:
    hub, close = start_hub(db_url, tmp_path, clock)
    yield hub
    close()


def _auditor(hub: Hub, **kwargs: object) -> LogAuditor:
    return LogAuditor(NodeClient("", client=hub.client, name="the hub"), **kwargs)  # type: ignore[arg-type]


def _grow(hub: Hub, *areas: str) -> None:
    for area in areas:
        r = hub.client.put(
            f"/v1/risk-areas/{area}",
            json={"level": "medium", "from": "2026-11-01T00:00:00+08:00"},
            headers=hub.token("authority", "330000"),
        )
        assert r.status_code == 200, r.text
    hub.node.service.translog.sign_head()


def _restart_log(hub: Hub) -> None:
    """The hub's workers forget the leaf hashes they hold (a restart): they read the table."""
    hub.node.service.translog._tree = MerkleTree()


def test_an_honest_log_passes_round_after_round_fetching_only_new_entries(
    hub: Hub, tmp_path: Path
) -> None:
    path = tmp_path / "log-state.json"
    _grow(hub, "330106002")
    state = AuditState()
    first = _auditor(hub).check(state)
    state.save(path)
    assert (first.tree_size, first.previous_size, first.new_entries) == (3, 0, 3)
    assert "log ok: 3 entries" in first.summary()
    _grow(hub, "330106008", "330106009")
    again = AuditState.load(path)
    second = _auditor(hub).check(again)
    assert (second.tree_size, second.previous_size, second.new_entries) == (5, 3, 2)
    assert "consistent with the 3 seen before" in second.summary()
    # nothing new: still consistent, nothing fetched
    third = _auditor(hub).check(again)
    assert (third.tree_size, third.new_entries) == (5, 0)
    # the hub key was learnt from the trust list and kept
    assert set(again.keys) == {hub.node.service.hub_key().kid}


def test_an_entry_rewritten_in_the_database_is_named(hub: Hub) -> None:
    _grow(hub, "330106002", "330106008")
    with hub.node.db.uow() as uow:
        forged = b'{"at":"2026-11-20T02:00:00+00:00","kind":"risk.set","version":1}'
        uow.conn.execute(update(log_entries).where(log_entries.c.idx == 2).values(entry=forged))
        uow.commit()
    with pytest.raises(LogProblem, match="entry 2 as served is not the one the signed head"):
        _auditor(hub).check(AuditState())


def test_a_deleted_entry_is_missing(hub: Hub) -> None:
    _grow(hub, "330106002", "330106008")
    with hub.node.db.uow() as uow:
        uow.conn.execute(delete(log_entries).where(log_entries.c.idx == 3))
        uow.commit()
    with pytest.raises(LogProblem, match="entry 3 is missing"):
        _auditor(hub).check(AuditState())


def test_a_log_whose_old_entry_changed_is_a_fork_for_whoever_saw_it_before(hub: Hub) -> None:
    _grow(hub, "330106002")
    state = AuditState()
    _auditor(hub).check(state)
    # Rewrite entry 1 and its leaf hash (so the entries agree with the tree), then grow.
    with hub.node.db.uow() as uow:
        forged = b'{"at":"2026-11-20T02:00:00+00:00","kind":"key.added","region":"000000"}'
        uow.conn.execute(
            update(log_entries)
            .where(log_entries.c.idx == 1)
            .values(entry=forged, leaf_hash=leaf_hash(forged))
        )
        uow.commit()
    _restart_log(hub)
    _grow(hub, "330106008")
    with pytest.raises(LogProblem, match="fork: the log of 4 entries is not an extension"):
        _auditor(hub).check(state)
    # Whoever never saw the old head finds a log that agrees with itself: that is what the
    # kept state is for.
    assert _auditor(hub).check(AuditState()).tree_size == 4


def test_a_rolled_back_log_is_a_fork(hub: Hub) -> None:
    _grow(hub, "330106002", "330106008")
    state = AuditState()
    _auditor(hub).check(state)
    with hub.node.db.uow() as uow:
        top = uow.conn.execute(
            select(tree_heads.c.tree_size).order_by(tree_heads.c.tree_size.desc())
        ).scalar()
        uow.conn.execute(delete(tree_heads).where(tree_heads.c.tree_size == top))
        uow.commit()
    with pytest.raises(LogProblem, match="fewer than the 4 seen before"):
        _auditor(hub).check(state)


def test_a_head_signed_by_another_key_fails_even_when_pinned_nothing(hub: Hub) -> None:
    _grow(hub, "330106002")
    stranger = generate_signing_key(Algorithm.EDDSA)
    with hub.node.db.uow() as uow:
        uow.conn.execute(
            update(tree_heads).values(kid=stranger.kid, signature=stranger.sign(b"anything"))
        )
        uow.commit()
    with pytest.raises(LogProblem, match="does not verify: signed by an unknown key"):
        _auditor(hub).check(AuditState())


def test_a_pinned_key_that_is_not_the_hubs_learns_nothing_and_fails_the_head(hub: Hub) -> None:
    _grow(hub, "330106002")
    stranger = generate_signing_key(Algorithm.EDDSA).public
    with pytest.raises(LogProblem, match="does not verify: signed by an unknown key"):
        _auditor(hub, pinned={stranger.kid: stranger}).check(AuditState())


def test_a_tampered_signature_fails(hub: Hub) -> None:
    _grow(hub, "330106002")
    with hub.node.db.uow() as uow:
        row = uow.conn.execute(select(tree_heads)).first()
        assert row is not None
        bad = bytes([row.signature[0] ^ 1]) + bytes(row.signature[1:])
        uow.conn.execute(update(tree_heads).values(signature=bad))
        uow.commit()
    with pytest.raises(LogProblem, match="bad signature"):
        _auditor(hub).check(AuditState())


def test_a_hub_key_announced_ahead_is_learnt_and_the_heads_it_signs_pass(
    hub: Hub, clock: FakeClock
) -> None:
    _grow(hub, "330106002")
    state = AuditState()
    _auditor(hub).check(state)
    old = hub.node.service.hub_key().kid
    # The hub announces its next key an hour ahead (the trust list, signed by the current key,
    # lists it), and the auditor's round in that hour learns it.
    ctx = hub.node.service
    with ctx.db.uow() as uow:
        new = keystore.create_key(
            uow.conn, ctx.cipher, Algorithm.EDDSA, region="000000", now=clock(),
            starts=clock() + timedelta(hours=1),
        )  # fmt: skip
        uow.commit()
    _auditor(hub).check(state)
    assert set(state.keys) == {old, new.kid}
    clock.advance(hours=2)
    _grow(hub, "330106008")
    assert ctx.hub_key().kid == new.kid
    result = _auditor(hub).check(state)
    assert result.previous_size == 3 and result.tree_size > 3
