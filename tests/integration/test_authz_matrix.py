"""The authorisation matrix (issue 10, part 4): every route of every node, every role.

The routes are walked from the apps (``authz_walk.routes``), so a new route without a line in
``authz_matrix.MATRIX`` fails ``test_every_route_has_a_row``. Every cell is one real request with
a real credential of its role (``authz_support``): no IDOR (a citizen asking about another's
subject, request or correction is told 404), no wrong-role success, no cross-region write.
On each database backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FakeClock
from tests.integration.authz_matrix import CROSS_REGION, MATRIX, ROLES
from tests.integration.authz_support import AuthzFederation, authz_federation
from tests.integration.authz_walk import outcome, routes, send


@pytest.fixture
def az(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[AuthzFederation]:
    with authz_federation(db_url, tmp_path, clock) as built:
        yield built


def test_every_route_has_a_row(az: AuthzFederation) -> None:
    walked = {(kind, method, path) for kind, method, path in routes(az)}
    written = {(kind, m, p) for kind, rows in MATRIX.items() for (m, p) in rows}
    assert sorted(walked - written) == [], "routes without a row in authz_matrix.MATRIX"
    assert sorted(written - walked) == [], "rows in authz_matrix.MATRIX for no route"
    cross = {(kind, m, p) for kind, rows in CROSS_REGION.items() for (m, p) in rows}
    assert cross <= walked


def _mismatches(az: AuthzFederation, table: dict, *, other: bool) -> tuple[int, list[str]]:
    cells, wrong = 0, []
    for kind, rows in table.items():
        for (method, path), expected in rows.items():
            for role in ROLES:
                got = outcome(kind, send(az, kind, method, path, role, other=other))
                cells += 1
                if got != expected[role]:
                    wrong.append(f"{kind} {method} {path} as {role}: {got}, not {expected[role]}")
    return cells, wrong


def test_every_route_answers_every_role_as_the_matrix_says(az: AuthzFederation) -> None:
    cells, wrong = _mismatches(az, MATRIX, other=False)
    assert cells == sum(len(rows) for rows in MATRIX.values()) * len(ROLES)
    assert wrong == [], "\n".join(wrong)


def test_no_role_writes_into_another_region(az: AuthzFederation) -> None:
    cells, wrong = _mismatches(az, CROSS_REGION, other=True)
    assert cells == sum(len(rows) for rows in CROSS_REGION.values()) * len(ROLES)
    assert wrong == [], "\n".join(wrong)
