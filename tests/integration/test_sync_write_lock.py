"""An issuer applying a large feed page never holds its database's write lock for long.

SQLite has one write lock per database: a sync transaction that reassessed a thousand people
kept a citizen's sign-in waiting past the busy timeout (a 500 during the demo's first minute).
The rows and the cursor still commit together; the people they touched are reassessed after,
in bulk, a chunk per transaction.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.conftest import FakeClock
from tests.integration.modes_support import federation
from tests.integration.test_limits import _quiet_progress
from yimatong.adapters.db.tables import assessments, test_results
from yimatong.adapters.hubclient import NodeClient
from yimatong.credentials import add_credential
from yimatong.demo.federation import play_authority_and_lab
from yimatong.demo.loader import load_native
from yimatong.demo.population import generate_population
from yimatong.issuer.sync import _REASSESS_CHUNK, HubLink


@pytest.mark.slow
def test_a_large_feed_page_is_reassessed_in_short_transactions(
    tmp_path: Path, clock: FakeClock
) -> None:
    dbs = {name: f"sqlite:///{tmp_path / (name + '.db')}" for name in ("hub", "zj", "hb")}
    with federation(
        hub_db=dbs["hub"], zj_db=dbs["zj"], legacy_db=dbs["hb"], state=tmp_path, clock=clock
    ) as fed:
        people = generate_population("330000", 300, seed=7, now=clock())
        load_native(fed.zj.service, people, now=clock())
        with fed.hub.db.uow() as uow:
            rng = random.Random(2)
            authority = add_credential(uow.conn, name="cdc", role="authority", now=clock(), rng=rng)
            link_token = add_credential(
                uow.conn, name="zj-link", role="node", now=clock(), rng=rng, scope="330000"
            )
            uow.commit()
        plan = {
            "credentials": {"hub_authority": authority, "hub_admin": fed.tokens["admin"]},
            "prepared_at": clock().isoformat(),
        }
        play_authority_and_lab(
            fed.http, tmp_path, plan, 300, 7, echo=lambda _t: None, progress=_quiet_progress
        )
        service = fed.zj.service
        link = HubLink(service, NodeClient("http://testserver", link_token, client=fed.http))
        in_transaction, worst = [0], [0]
        real = service.reassess_many

        def counting(conn: Any, sids: Any, now: Any) -> Any:
            in_transaction[0] += len(sids)
            worst[0] = max(worst[0], in_transaction[0])
            return real(conn, sids, now)

        service.reassess_many = counting  # type: ignore[method-assign]
        event.listen(fed.zj.db.engine, "commit", lambda _c: in_transaction.__setitem__(0, 0))
        for _ in range(10):
            report = link.sync_once()
            assert not report.errors, report.errors
            if not (report.pushed or report.backfilled or report.feed_rows):
                break
        with fed.zj.db.read() as conn:
            mirrored = conn.execute(select(test_results.c.sid).distinct()).all()
            due = conn.execute(
                select(assessments.c.sid).where(assessments.c.review_at <= clock())
            ).all()
    assert len(mirrored) > 100  # the lab's results reached most of them
    assert worst[0] <= _REASSESS_CHUNK  # never the whole page in one transaction
    assert due == []  # and everyone touched was reassessed in the same round
