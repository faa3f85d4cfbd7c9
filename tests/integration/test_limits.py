"""Per-client limits, shared by every worker of a node (issue 7, item 6), on each backend.

The attacks as reported: one client asked one-time codes for 300 phones in 3.7 s, a checkpoint
looked up random ID numbers without end, 300 bad bearer tokens met no back-off. Each is now
refused with 429 and ``Retry-After`` past its limit, and the counts live in the node's database,
so two app instances over one database (two workers of ``serve --workers 2``) share them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.conftest import FakeClock
from tests.integration.conftest import Inbox, Issuer, _settings, issuer_settings, make_id
from yimatong.adapters.db.limits import Limiter
from yimatong.adapters.db.retention import purge_expired
from yimatong.adapters.db.tables import rate_counts
from yimatong.bootstrap import Node, build_issuer
from yimatong.config import ConfigError, Settings
from yimatong.credentials import add_credential
from yimatong.domain.errors import TooManyRequests
from yimatong.domain.identity import check_character
from yimatong.domain.limits import Rate
from yimatong.hub.app import build_hub


def _problem_429(r: Any) -> int:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/too-many-requests"
    wait = int(r.headers["Retry-After"])
    assert wait >= 1
    return wait


def _phones(n: int) -> list[str]:
    return [f"139{i:08d}" for i in range(n)]


# ------------------------------------------------------------------ one-time codes
def test_one_address_cannot_ask_codes_for_300_phones(issuer: Issuer) -> None:
    answers = [
        issuer.client.post("/v1/auth/otp", json={"phone": p}).status_code for p in _phones(300)
    ]
    assert answers[:20] == [202] * 20  # otp.address: 20 a minute
    assert set(answers[20:]) == {429}
    assert len(issuer.inbox.messages) == 20  # nothing was sent past the limit
    _problem_429(issuer.client.post("/v1/auth/otp", json={"phone": "13800138000"}))
    # Another address is not held back by this one.
    with TestClient(issuer.node.app, client=("10.1.2.3", 4000)) as other:
        assert other.post("/v1/auth/otp", json={"phone": "13800138000"}).status_code == 202


def test_the_address_limit_of_codes_lifts_with_its_window(issuer: Issuer, clock: FakeClock) -> None:
    for phone in _phones(20):
        assert issuer.client.post("/v1/auth/otp", json={"phone": phone}).status_code == 202
    wait = _problem_429(issuer.client.post("/v1/auth/otp", json={"phone": "13800138000"}))
    assert wait <= 60
    clock.advance(seconds=wait)
    assert issuer.client.post("/v1/auth/otp", json={"phone": "13800138000"}).status_code == 202


def test_a_phone_still_gets_five_codes_an_hour_from_any_address(issuer: Issuer) -> None:
    for n in range(5):
        with TestClient(issuer.node.app, client=(f"10.0.0.{n}", 4000)) as http:
            assert http.post("/v1/auth/otp", json={"phone": "13800138000"}).status_code == 202
    with TestClient(issuer.node.app, client=("10.0.0.99", 4000)) as http:
        wait = _problem_429(http.post("/v1/auth/otp", json={"phone": "13800138000"}))
    assert wait > 60  # the phone's window is an hour


def test_sign_in_attempts_are_limited_per_address(issuer: Issuer) -> None:
    codes = [
        issuer.client.post("/v1/auth/session", json={"phone": phone, "otp": "000000"}).status_code
        for phone in _phones(40)
    ]
    assert codes[:30] == [401] * 30  # signin.address: 30 a minute
    assert set(codes[30:]) == {429}


# ------------------------------------------------------------- look-ups by ID number
@pytest.fixture
def hub(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Node, dict[str, str]]]:
    node = build_hub(_settings(db_url, tmp_path, "hub", "000000"), clock=clock)
    rng = random.Random(13)
    with node.db.uow() as uow:
        tokens = {
            name: add_credential(
                uow.conn, name=name, role="checkpoint", now=clock(), rng=rng, scope="330000"
            )
            for name in ("gate-1", "gate-2", "gate-3")
        }
        uow.commit()
    yield node, tokens
    node.close()


def _random_id(rng: random.Random) -> str:
    first17 = "330106" + f"19{rng.randrange(50, 99)}0101" + f"{rng.randrange(1000):03d}"
    return first17 + check_character(first17)


def test_a_checkpoint_cannot_look_up_id_numbers_without_end(
    hub: tuple[Node, dict[str, str]],
) -> None:
    node, tokens = hub
    rng = random.Random(1)
    with TestClient(node.app) as http:
        gate = {"Authorization": f"Bearer {tokens['gate-1']}"}
        answers = [
            http.post("/v1/lookups", json={"id_number": _random_id(rng)}, headers=gate).status_code
            for _ in range(300)
        ]
        assert answers[:30] == [404] * 30  # nobody by those numbers; lookup.credential: 30/min
        assert set(answers[30:]) == {429}
        # Another checkpoint has its own allowance, until the address's runs out: 60 a minute,
        # of which gate-1 used 30 (what its own limit refused did not count against it).
        other = {"Authorization": f"Bearer {tokens['gate-2']}"}
        more = [
            http.post("/v1/lookups", json={"id_number": _random_id(rng)}, headers=other).status_code
            for _ in range(40)
        ]
    assert more[:30] == [404] * 30
    assert set(more[30:]) == {429}
    with TestClient(node.app, client=("10.9.9.9", 4000)) as elsewhere:
        third = {"Authorization": f"Bearer {tokens['gate-3']}"}
        r = elsewhere.post("/v1/lookups", json={"id_number": _random_id(rng)}, headers=third)
    assert r.status_code == 404, r.text


# ----------------------------------------------------------------- bad bearer tokens
@pytest.fixture
def two_workers(
    tmp_path: Path, clock: FakeClock
) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    """Two issuer app instances over one SQLite file: two workers of one node."""
    db_url = f"sqlite:///{tmp_path / 'node.db'}"
    first = build_issuer(issuer_settings(db_url, tmp_path), clock=clock, sms=Inbox())
    second = build_issuer(
        issuer_settings(db_url, tmp_path), clock=clock, sms=Inbox(), migrate=False
    )
    rng = random.Random(5)
    with first.db.uow() as uow:
        tokens = {
            role: add_credential(uow.conn, name=f"t-{role}", role=role, now=clock(), rng=rng)
            for role in ("staff", "checkpoint")
        }
        uow.commit()
    with TestClient(first.app) as a, TestClient(second.app) as b:
        yield a, b, tokens
    first.close()
    second.close()


def test_bad_tokens_back_off_across_two_workers(
    two_workers: tuple[TestClient, TestClient, dict[str, str]], clock: FakeClock
) -> None:
    a, b, tokens = two_workers
    staff = {"Authorization": f"Bearer {tokens['staff']}"}
    for http in (a, b):  # a credential that worked here before the flood
        assert http.get("/v1/corrections", headers=staff).status_code == 200
    answers = []
    for n in range(300):
        http = (a, b)[n % 2]
        bad = {"Authorization": f"Bearer ymt_c_guess-{n:04d}"}
        answers.append(http.get("/v1/corrections", headers=bad).status_code)
    # bad_token.address: 20 a minute, counted in the database whichever worker saw them.
    assert answers[:20] == [401] * 20
    assert set(answers[20:]) == {429}
    wait = _problem_429(a.get("/healthz", headers={"Authorization": "Bearer nonsense"}))
    assert wait > 60  # 300 refusals fill the hour's window (100): the back-off grew
    # A credential each worker accepted lately still works from the same address …
    for http in (a, b):
        assert http.get("/v1/corrections", headers=staff).status_code == 200
    # … one it has not seen is not even looked up while the address is backing off.
    fresh = {"Authorization": f"Bearer {tokens['checkpoint']}"}
    _problem_429(a.post("/v1/codes/verify", json={"code": "YMT1:AAAA"}, headers=fresh))
    # Anonymous routes are untouched, and so is another address.
    assert a.get("/healthz").status_code == 200
    with TestClient(b.app, client=("10.7.7.7", 4000)) as other:
        r = other.get("/v1/corrections", headers={"Authorization": "Bearer ymt_c_guess-x"})
    assert r.status_code == 401
    clock.advance(seconds=wait)
    r = b.get("/v1/corrections", headers={"Authorization": "Bearer ymt_c_guess-again"})
    assert r.status_code == 401, r.text  # the back-off is over


# -------------------------------------------------------------------- the mechanism
def test_counters_are_one_row_per_window_and_the_purge_clears_ended_windows(
    db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    node = build_issuer(issuer_settings(db_url, tmp_path), clock=clock, sms=Inbox())
    try:
        limiter = Limiter(node.db, clock, {"otp.address": (Rate(3, 60), Rate(5, 3600))})
        for _ in range(3):
            limiter.hit("otp.address", "10.0.0.1")
        with pytest.raises(TooManyRequests) as refused:
            limiter.hit("otp.address", "10.0.0.1")
        assert 1 <= refused.value.retry_after <= 60
        limiter.hit("otp.address", "10.0.0.2")  # per key
        with node.db.read() as conn:
            rows = conn.execute(select(func.count()).select_from(rate_counts)).scalar_one()
            hits = conn.execute(
                select(rate_counts.c.hits).where(
                    rate_counts.c.key == "10.0.0.1", rate_counts.c.window_seconds == 3600
                )
            ).scalar_one()
        assert (rows, hits) == (4, 4)  # two windows per key; the refused event counted too
        clock.advance(minutes=1)
        limiter.hit("otp.address", "10.0.0.1")  # a new minute
        with pytest.raises(TooManyRequests) as refused:
            limiter.hit("otp.address", "10.0.0.1")  # but the hour is full: 6 > 5
        assert refused.value.retry_after > 60
        clock.advance(hours=2)
        with node.db.uow() as uow:
            counts = purge_expired(uow.conn, clock())
            uow.commit()
        assert counts["rate_counts"] == 5
        with node.db.read() as conn:
            assert conn.execute(select(func.count()).select_from(rate_counts)).scalar_one() == 0
    finally:
        node.close()


def test_limits_are_settings_and_a_misspelt_one_is_an_error(tmp_path: Path) -> None:
    base = {"YMT_STATE_DIR": str(tmp_path)}
    settings = Settings.from_environ(
        {**base, "YMT_LIMIT_OTP_ADDRESS": "5/m, 50/2h", "YMT_LIMIT_CONVERT_ADDRESS": "off"}
    )
    assert settings.limits == {
        "otp.address": (Rate(5, 60), Rate(50, 7200)),
        "convert.address": (),
    }
    with pytest.raises(ConfigError, match="YMT_LIMIT_OTP_ADRESS"):
        Settings.from_environ({**base, "YMT_LIMIT_OTP_ADRESS": "5/m"})
    with pytest.raises(ConfigError, match="YMT_LIMIT_OTP_PHONE"):
        Settings.from_environ({**base, "YMT_LIMIT_OTP_PHONE": "five an hour"})
    with pytest.raises(ConfigError, match="YMT_TRUSTED_PROXIES"):
        Settings.from_environ({**base, "YMT_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"})


def test_a_configured_limit_is_the_one_that_holds(db_url: str, tmp_path: Path, clock: Any) -> None:
    settings = _settings(
        db_url, tmp_path, "issuer", "330000", YMT_LIMIT_OTP_ADDRESS="2/m", YMT_LIMIT_OTP_PHONE="off"
    )
    node = build_issuer(settings, clock=clock, sms=Inbox())
    try:
        with TestClient(node.app) as http:
            codes = [http.post("/v1/auth/otp", json={"phone": p}).status_code for p in _phones(3)]
            # otp.phone is off: one phone may ask as often as the address allows
            clock.advance(minutes=1)
            again = [http.post("/v1/auth/otp", json={"phone": "13800138000"}) for _ in range(2)]
    finally:
        node.close()
    assert codes == [202, 202, 429]
    assert [r.status_code for r in again] == [202, 202]


# ------------------------------------------------------------ behind a trusted proxy
def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
    db_url: str, tmp_path: Path, clock: Any
) -> None:
    settings = _settings(
        db_url,
        tmp_path,
        "issuer",
        "330000",
        YMT_TRUSTED_PROXIES="10.0.0.0/24",
        YMT_LIMIT_OTP_ADDRESS="1/m",
    )
    node = build_issuer(settings, clock=clock, sms=Inbox())
    phones = iter(_phones(10))

    def otp(http: TestClient, forwarded: str | None) -> int:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        body = {"phone": next(phones)}
        return http.post("/v1/auth/otp", json=body, headers=headers).status_code

    try:
        with TestClient(node.app, client=("10.0.0.5", 4000)) as proxy:
            assert otp(proxy, "203.0.113.7") == 202
            assert otp(proxy, "203.0.113.7") == 429
            assert otp(proxy, "203.0.113.8") == 202  # another client behind the same proxy
            # A client cannot pick its key by sending its own header: the proxy appends the
            # address it saw, and that rightmost untrusted entry is the client.
            assert otp(proxy, "198.51.100.1, 203.0.113.8") == 429
            assert otp(proxy, None) == 202  # no header: the proxy itself is the client
        with TestClient(node.app, client=("192.0.2.1", 4000)) as direct:
            # Not a trusted proxy: its X-Forwarded-For is not believed.
            assert otp(direct, "203.0.113.99") == 202
            assert otp(direct, "203.0.113.100") == 429
    finally:
        node.close()


def test_an_id_number_is_never_a_key(hub: tuple[Node, dict[str, str]]) -> None:
    node, tokens = hub
    number = make_id()
    with TestClient(node.app) as http:
        gate = {"Authorization": f"Bearer {tokens['gate-1']}"}
        http.post("/v1/lookups", json={"id_number": number}, headers=gate)
    with node.db.read() as conn:
        keys = {r.key for r in conn.execute(select(rate_counts.c.key))}
    assert keys == {"gate-1", "testclient"}


# ------------------------------------------------------------------- normal use
class _Bar:
    def __init__(self, items: Any = None) -> None:
        self.items = items

    def __enter__(self) -> Any:
        return self.items if self.items is not None else self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, _n: int) -> None:
        return None


def _quiet_progress(items: Any = None, **_kw: Any) -> _Bar:
    return _Bar(items)


@pytest.mark.slow
def test_the_demo_population_stays_under_the_limits(tmp_path: Path, clock: FakeClock) -> None:
    """The demo's traffic for 1,000 people a region, then a morning of ordinary use.

    The authority and the lab send what ``yimatong demo`` sends (its own code), the Zhejiang
    issuer registers, shares and mirrors its 1,000 residents, a Guizhou gate verifies codes
    through the hub (which asks the issuer with its node credential) and looks people up by
    ID number, citizens sign in — all from one address, as on the demo's loopback. Nothing is
    refused, and no counter passes its limit: machine credentials are never counted per address.
    """
    from tests.integration.modes_support import federation as modes_federation
    from yimatong.adapters.hubclient import NodeClient
    from yimatong.demo.federation import play_authority_and_lab
    from yimatong.demo.loader import load_native
    from yimatong.demo.population import generate_population
    from yimatong.issuer.sync import HubLink

    dbs = {name: f"sqlite:///{tmp_path / (name + '.db')}" for name in ("hub", "zj", "hb")}
    with modes_federation(
        hub_db=dbs["hub"], zj_db=dbs["zj"], legacy_db=dbs["hb"], state=tmp_path, clock=clock
    ) as fed:
        people = generate_population("330000", 1000, seed=2020, now=clock())
        load_native(fed.zj.service, people, now=clock())
        rng = random.Random(9)
        with fed.hub.db.uow() as uow:
            creds = {
                name: add_credential(uow.conn, name=name, role=role, now=clock(), rng=rng, **kw)
                for name, role, kw in (
                    ("demo-authority", "authority", {}),
                    ("demo-link-330000", "node", {"scope": "330000"}),
                )
            }
            uow.commit()
        plan = {
            "credentials": {
                "hub_authority": creds["demo-authority"],
                "hub_admin": fed.tokens["admin"],
            },
            "prepared_at": clock().isoformat(),
        }
        play_authority_and_lab(
            fed.http, tmp_path, plan, 1000, 2020, echo=lambda _t: None, progress=_quiet_progress
        )
        link = HubLink(
            fed.zj.service,
            NodeClient("http://testserver", creds["demo-link-330000"], client=fed.http),
        )
        for _ in range(10):  # register, share and mirror all 1,000: the sync loop's rounds
            report = link.sync_once()
            assert not report.errors, report.errors
            if not (report.pushed or report.backfilled or report.feed_rows):
                break
        gate = fed.as_("checkpoint")
        answers = []
        for person in people[:25]:  # a morning at a Guizhou gate
            r = fed.zj_http.post("/v1/auth/otp", json={"phone": person.phone})
            r = fed.zj_http.post(
                "/v1/auth/session",
                json={"phone": person.phone, "otp": fed.inbox.last_code(person.phone)},
            )
            assert r.status_code == 200, r.text
            me = {"Authorization": f"Bearer {r.json()['token']}"}
            mine = fed.zj_http.get("/v1/subjects", headers=me).json()
            code = fed.zj_code(me, mine[0]["sid"])["code"]
            answers.append(fed.verify(code, at_region="520000"))
            lookup = {"id_type": person.id_type.value, "id_number": person.id_number}
            answers.append(fed.http.post("/v1/lookups", json=lookup, headers=gate))
            clock.advance(seconds=30)
        assert [r.text for r in answers if r.status_code >= 400] == []
        assert {r.json()["status"] for r in answers} == {"online"}
        for node in (fed.hub, fed.zj):
            limits: Limiter = node.service.limits
            with node.db.read() as conn:
                rows = conn.execute(select(rate_counts)).all()
            for row in rows:
                rate = next(r for r in limits.limits[row.name] if r.seconds == row.window_seconds)
                assert row.hits <= rate.count, (row.name, row.window_seconds, row.hits)
            counted = {r.name for r in rows}
            assert counted <= {"otp.address", "otp.phone", "signin.address", "lookup.credential",
                               "lookup.address"}  # fmt: skip
