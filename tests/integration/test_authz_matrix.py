"""The authorisation matrix (issue 10, part 4): every route of every node, every role.

The routes are walked from the apps (``authz_walk.routes``), so a new route without a line in
``authz_matrix.MATRIX`` fails ``test_every_route_has_a_row``. Every cell is one real request with
a real credential of its role (``authz_support``): no IDOR (a citizen asking about another's
subject, request or correction is told 404), no wrong-role success, no cross-region write.
On each database backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from tests.conftest import FakeClock, _truncate_all
from tests.integration.authz_matrix import CROSS_REGION, MATRIX, ROLES
from tests.integration.authz_support import AuthzFederation, authz_federation
from tests.integration.authz_walk import outcome, routes, send, walk

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
#: the roles the guide's tables name, in its order (another citizen is the IDOR column: 404)
_OWN = ("anonymous", "citizen", "checkpoint", "staff", "authority", "lab", "node", "admin")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def az(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthzFederation]:
    """One federation per backend for the whole file (as ``db_url`` makes them, once)."""
    tmp = tmp_path_factory.mktemp("authz")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'node.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        _truncate_all(url)
    clock = FakeClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    with authz_federation(url, tmp, clock) as built:
        yield built


def test_every_route_has_a_row(az: AuthzFederation) -> None:
    walked = {(kind, method, path) for kind, method, path in routes(az)}
    written = {(kind, m, p) for kind, rows in MATRIX.items() for (m, p) in rows}
    assert sorted(walked - written) == [], "routes without a row in authz_matrix.MATRIX"
    assert sorted(written - walked) == [], "rows in authz_matrix.MATRIX for no route"
    cross = {(kind, m, p) for kind, rows in CROSS_REGION.items() for (m, p) in rows}
    assert cross <= walked


def test_the_walk_finds_routes_in_included_routers_and_mounts() -> None:
    """A route a node adds anywhere is walked: in a router included with a prefix, in a router
    included in that one, or behind a mount (FastAPI keeps included routes out of
    ``app.routes``' own list, so a plain loop over it would miss them)."""
    inner, outer = APIRouter(), APIRouter()
    inner.add_api_route("/deep/{x}", lambda x: x, methods=["DELETE"])
    outer.add_api_route("/page", lambda: None, methods=["GET", "POST"])
    outer.include_router(inner, prefix="/in")
    app = FastAPI()
    app.include_router(outer, prefix="/v9")
    app.mount("/files", StaticFiles(directory=str(Path(__file__).parent)))
    walked = set(walk(app.router.routes))
    assert {
        ("GET", "/v9/page"),
        ("POST", "/v9/page"),
        ("DELETE", "/v9/in/deep/{x}"),
        ("GET", "/files/{path}"),
    } <= walked


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


def _answered(cells: dict[str, str]) -> tuple[str, str]:
    own = [r for r in _OWN if cells[r] == "ok"]
    other = [r[2:] for r in ROLES if r.startswith("x_") and cells[r] == "ok"]
    return ", ".join(own) or "nobody", ", ".join(other) or "—"


def test_the_operations_guide_lists_who_may_call_each_api_route_as_the_matrix_does() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Who may call what", 1)[1].split("\n## ", 1)[0]
    for kind, heading in (
        ("hub", "### The hub"),
        ("issuer", "### An issuer node"),
        ("road", "### The road node"),
    ):
        part = section.split(heading, 1)[1].split("\n### ", 1)[0]
        rows = re.findall(r"^\| `(\w+) (\S+)` \| ([^|]+) \| ([^|]+) \|$", part, re.M)
        documented = {(m, p): (a.strip(), b.strip()) for m, p, a, b in rows}
        expected = {
            route: _answered(cells)
            for route, cells in MATRIX[kind].items()
            if route[1].startswith("/v1/")
        }
        assert documented == expected, kind
    cells = sum(len(rows) for rows in MATRIX.values()) * len(ROLES)
    cross = sum(len(rows) for rows in CROSS_REGION.values()) * len(ROLES)
    routes_checked = sum(len(rows) for rows in MATRIX.values())
    assert f"{routes_checked} routes" in section
    assert f"{cells:,} cells" in section
    assert f"{cross} cells" in section
