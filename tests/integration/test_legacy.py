"""The hub's HBJKM adapter against the legacy imitation, over HTTP, on each database backend.

The legacy system runs in-process (``TestClient`` is the adapter's ``httpx.Client``), with a fake
clock shared by both sides; one test points the adapter at a closed loopback port instead.
"""

from __future__ import annotations

import base64
import logging
import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from starlette.testclient import TestClient

from tests.conftest import FakeClock
from tests.integration.conftest import DATA_KEY, SECRET, make_id
from yimatong.adapters.legacy_hbjkm import HbjkmAdapter, LegacyVerdict
from yimatong.bootstrap import Node
from yimatong.config import Settings
from yimatong.domain.errors import InvalidCode, Unavailable
from yimatong.domain.facts import Colour
from yimatong.domain.facts import TestOutcome as Outcome
from yimatong.domain.identity import DocumentType, mask_id, subject_id
from yimatong.legacy import LegacyApp, build_legacy, metadata, register_person, sign

FEDERATION_SECRET = base64.b64decode(SECRET)
BEIJING = timezone(timedelta(hours=8))
NAME = "张三丰"
PHONE = "13912345678"

ADMIN = LegacyApp(
    app_key="hbjkm-admin-test",
    app_secret="admin-secret-0123456789",
    name="admin",
    scopes=frozenset({"user", "admin", "validateInfo"}),
)
HUB = LegacyApp(
    app_key="hbjkm-hub-test",
    app_secret="hub-secret-0123456789abcdef",
    name="hub",
    scopes=frozenset({"validateInfo", "fullIdentity"}),
)
GATE = LegacyApp(
    app_key="hbjkm-gate-test",
    app_secret="gate-secret-0123456789",
    name="gate",
    scopes=frozenset({"validateInfo"}),
)
OPS = LegacyApp(
    app_key="hbjkm-ops-test",
    app_secret="ops-secret-0123456789",
    name="ops",
    scopes=frozenset({"user"}),
)
APPS = {app.app_key: app for app in (ADMIN, HUB, GATE, OPS)}


# -------------------------------------------------------------------------------- helpers


def legacy_settings(db_url: str, state_dir: Path) -> Settings:
    return Settings.from_environ(
        {
            "YMT_ROLE": "legacy",
            "YMT_REGION": "420000",
            "YMT_STATE_DIR": str(state_dir),
            "YMT_DB_URL": db_url,
            "YMT_FEDERATION_SECRET": SECRET,
            "YMT_DATA_KEYS": DATA_KEY,
        }
    )


def signed(app: LegacyApp, now: datetime) -> dict[str, str]:
    """The partner headers the legacy system wants."""
    timestamp = str(int(now.timestamp() * 1000))
    return {
        "appKey": app.app_key,
        "timestamp": timestamp,
        "sign": sign(app.app_key, timestamp, app.app_secret),
    }


@dataclass
class Legacy:
    node: Node
    client: TestClient
    clock: FakeClock
    rng: random.Random

    def post(self, path: str, body: Any, app: LegacyApp = ADMIN) -> dict[str, Any]:
        r = self.client.post(path, json=body, headers=signed(app, self.clock()))
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def person(self, *, id_number: str | None = None, **kwargs: Any) -> tuple[str, str, str]:
        """Register someone directly (as the demo's loader does): (user_id, code, id_number)."""
        id_number = id_number or make_id("420102", "19800101", f"{self.rng.randrange(1000):03d}")
        kwargs.setdefault("name", NAME)
        kwargs.setdefault("phone", PHONE)
        user_id, code = register_person(
            self.node.service.store,
            id_number=id_number,
            now=self.clock(),
            rng=self.rng,
            **kwargs,
        )
        return user_id, code, id_number

    def adapter(self, app: LegacyApp = HUB, **kwargs: Any) -> HbjkmAdapter:
        return HbjkmAdapter(
            "http://testserver",
            app_key=app.app_key,
            app_secret=app.app_secret,
            federation_secret=FEDERATION_SECRET,
            client=self.client,
            **kwargs,
        )


def drop_legacy_tables(db_url: str) -> None:
    """PostgreSQL test databases are shared within a session: start the legacy from empty."""
    if db_url.startswith("postgresql"):
        engine = create_engine(db_url)
        metadata.drop_all(engine)
        engine.dispose()


@contextmanager
def start_legacy(db_url: str, state_dir: Path, clock: FakeClock) -> Iterator[Legacy]:
    """The legacy system in-process with the test apps, from an empty database."""
    drop_legacy_tables(db_url)
    node = build_legacy(
        legacy_settings(db_url, state_dir), clock=clock, rng=random.Random(42), app_keys=APPS
    )
    try:
        with TestClient(node.app, raise_server_exceptions=False) as client:
            yield Legacy(node=node, client=client, clock=clock, rng=random.Random(7))
    finally:
        node.close()


@pytest.fixture
def legacy(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Legacy]:
    with start_legacy(db_url, tmp_path / "state", clock) as running:
        yield running


def no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError("the adapter should not have called the legacy system")


def offline_adapter(handler: Any = no_network) -> HbjkmAdapter:
    return HbjkmAdapter(
        "http://legacy.invalid",
        app_key=HUB.app_key,
        app_secret=HUB.app_secret,
        federation_secret=FEDERATION_SECRET,
        transport=httpx.MockTransport(handler),
    )


# ---------------------------------------------------------------------------- the happy path


def test_a_green_code_with_full_identity_maps_to_the_shared_vocabulary(legacy: Legacy) -> None:
    tested = datetime(2026, 11, 19, 8, 30, tzinfo=BEIJING)
    _, code, id_number = legacy.person(status="00", test_result="阴性", test_time=tested)
    now = legacy.clock()
    with legacy.adapter() as adapter:
        assert adapter.recognises(code)
        verdict = adapter.verify(code, now=now)
    assert verdict == LegacyVerdict(
        issuer="420000",
        colour=Colour.GREEN,
        reasons=("legacy.status-00",),
        legacy_status="00",
        status_since=now,
        masked_name="张**",
        masked_id=mask_id(id_number),
        sid=subject_id(FEDERATION_SECRET, DocumentType.RESIDENT_ID, id_number),
        test_outcome=Outcome.NEGATIVE,
        test_sampled_at=None,
        test_reported_at=tested,
        checked_at=now,
    )
    assert verdict.status_since is not None and verdict.status_since.utcoffset() == timedelta(
        hours=8
    )


@pytest.mark.parametrize(
    ("status", "colour"),
    [("00", Colour.GREEN), ("01", Colour.YELLOW), ("10", Colour.RED), ("11", Colour.RED)],
)
def test_every_legacy_status_maps_to_a_colour(legacy: Legacy, status: str, colour: Colour) -> None:
    user_id, code, _ = legacy.person(status="01" if status == "00" else "00")
    changed = legacy.clock.advance(minutes=5)
    answer = legacy.post("/hbjkm/admin/setStatus", {"userId": user_id, "healthyStaus": status})
    assert answer == {"errcode": 0, "errmsg": "ok"}

    verdict = legacy.adapter().verify(code, now=legacy.clock())
    assert verdict.colour is colour
    assert verdict.legacy_status == status
    assert verdict.reasons == (f"legacy.status-{status}",)
    assert verdict.status_since == changed


def test_a_test_result_recorded_by_the_operator_reaches_the_verdict(legacy: Legacy) -> None:
    user_id, code, _ = legacy.person()
    verdict = legacy.adapter().verify(code, now=legacy.clock())
    assert (verdict.test_outcome, verdict.test_sampled_at, verdict.test_reported_at) == (
        None,
        None,
        None,
    )

    answer = legacy.post(
        "/hbjkm/admin/hsjc",
        {
            "userId": user_id,
            "hsjcjg": "阳性",
            "cysj": "2026-11-19 07:00:00",
            "hsjcsj": "2026-11-19 20:15:00",
        },
    )
    assert answer["errcode"] == 0, answer
    verdict = legacy.adapter().verify(code, now=legacy.clock())
    assert verdict.test_outcome is Outcome.POSITIVE
    assert verdict.test_sampled_at == datetime(2026, 11, 18, 23, 0, tzinfo=UTC)
    assert verdict.test_reported_at == datetime(2026, 11, 19, 20, 15, tzinfo=BEIJING)


def test_a_partner_without_full_identity_gets_no_sid(legacy: Legacy) -> None:
    _, code, id_number = legacy.person()
    verdict = legacy.adapter(GATE).verify(code, now=legacy.clock())
    assert verdict.sid is None
    assert verdict.masked_id == mask_id(id_number)
    assert verdict.colour is Colour.GREEN


def test_the_full_number_is_neither_kept_nor_logged(
    legacy: Legacy, caplog: pytest.LogCaptureFixture
) -> None:
    _, code, id_number = legacy.person()
    with caplog.at_level(logging.DEBUG):
        verdict = legacy.adapter().verify(code, now=legacy.clock())
    assert verdict.sid is not None
    assert id_number not in repr(verdict)
    assert all(id_number not in str(value) for value in vars_of(verdict))
    assert id_number not in caplog.text


def vars_of(verdict: LegacyVerdict) -> list[object]:
    return [getattr(verdict, name) for name in verdict.__slots__]


# -------------------------------------------------------------------------------- bad codes


def test_a_code_expires_after_24_hours_in_the_legacy_system(legacy: Legacy) -> None:
    _, code, _ = legacy.person()
    adapter = legacy.adapter()
    legacy.clock.advance(hours=23, minutes=59)
    assert adapter.verify(code, now=legacy.clock()).colour is Colour.GREEN
    legacy.clock.advance(minutes=1)
    with pytest.raises(InvalidCode) as caught:
        adapter.verify(code, now=legacy.clock())
    assert "40003" in caught.value.detail
    assert caught.value.message == "the code is not valid"


def test_a_new_code_can_be_generated_over_http(legacy: Legacy) -> None:
    user_id, old, _ = legacy.person()
    legacy.clock.advance(hours=30)
    answer = legacy.post("/hbjkm/code/generate", {"userId": user_id})
    assert answer["errcode"] == 0, answer
    fresh = answer["data"]["code"]
    adapter = legacy.adapter()
    assert adapter.verify(fresh, now=legacy.clock()).colour is Colour.GREEN
    with pytest.raises(InvalidCode):
        adapter.verify(old, now=legacy.clock())


def test_an_unknown_code_is_invalid(legacy: Legacy) -> None:
    with pytest.raises(InvalidCode) as caught:
        legacy.adapter().verify("HBJKM:" + "0" * 32, now=legacy.clock())
    assert "40001" in caught.value.detail


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c.replace("HBJKM:", "HBJKX:"),
        lambda c: c.replace("HBJKM:", "hbjkm:"),
        lambda c: c.upper(),
        lambda c: c[:-1],
        lambda c: c + "0",
        lambda c: " " + c,
        lambda c: c[6:],
    ],
)
def test_a_tampered_code_is_refused_without_a_call(legacy: Legacy, tamper: Any) -> None:
    _, code, _ = legacy.person()
    bad = tamper(code)
    adapter = offline_adapter()
    assert not adapter.recognises(bad)
    with pytest.raises(InvalidCode):
        adapter.verify(bad, now=legacy.clock())


# ------------------------------------------------------------------ our misconfiguration


@pytest.mark.parametrize(
    ("app", "errcode"),
    [
        (LegacyApp("hbjkm-nobody", "nobody-secret-0123456789", "x", frozenset()), "40100"),
        (LegacyApp(HUB.app_key, "not-the-hub-secret-0000", "hub", HUB.scopes), "40101"),
        (OPS, "40300"),
    ],
)
def test_refused_credentials_are_unavailable_with_an_operator_message(
    legacy: Legacy, app: LegacyApp, errcode: str
) -> None:
    _, code, _ = legacy.person()
    with pytest.raises(Unavailable) as caught:
        legacy.adapter(app).verify(code, now=legacy.clock())
    message = caught.value.message
    assert "420000" in message and errcode in message and "appKey/appSecret" in message


def test_a_skewed_hub_clock_is_reported_to_the_operator(legacy: Legacy) -> None:
    _, code, _ = legacy.person()
    with pytest.raises(Unavailable) as caught:
        legacy.adapter().verify(code, now=legacy.clock() - timedelta(minutes=6))
    assert "40102" in caught.value.message and "clock" in caught.value.message


# ------------------------------------------------------------------------- no good answer


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_network_failure_is_unavailable() -> None:
    adapter = HbjkmAdapter(
        f"http://127.0.0.1:{closed_port()}",
        app_key=HUB.app_key,
        app_secret=HUB.app_secret,
        federation_secret=FEDERATION_SECRET,
        timeout=1.0,
    )
    with adapter, pytest.raises(Unavailable) as caught:
        adapter.verify("HBJKM:" + "a" * 32, now=datetime.now(UTC))
    assert caught.value.message == "legacy issuer 420000 did not answer"


def test_a_legacy_system_error_is_unavailable(
    legacy: Legacy, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, code, _ = legacy.person()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database gone")

    monkeypatch.setattr(legacy.node.service.store, "validate", broken)
    r = legacy.client.post(
        "/hbjkm/userHealth/validateInfo",
        json={"bizExtData": code},
        headers=signed(HUB, legacy.clock()),
    )
    assert r.status_code == 200
    assert r.json() == {"errcode": -1, "errmsg": "系统繁忙，请稍后再试"}
    with pytest.raises(Unavailable) as caught:
        legacy.adapter().verify(code, now=legacy.clock())
    assert caught.value.message == "legacy issuer 420000 did not answer"


@pytest.mark.parametrize(
    "reply",
    [
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.RemoteProtocolError("eh"),
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(502, json={"errcode": 0}),
        httpx.Response(200, text="<html>维护中</html>"),
        httpx.Response(200, json=[]),
        httpx.Response(200, json={"errcode": -1, "errmsg": "系统繁忙"}),
        httpx.Response(200, json={"errcode": 45009, "errmsg": "接口调用超过限制"}),
        httpx.Response(200, json={"errcode": 99999}),
        httpx.Response(200, json={"errcode": "x"}),
        httpx.Response(200, json={"errcode": 0, "person": None}),
        httpx.Response(200, json={"errcode": 0, "person": {"desensitizeName": "张*"}}),
        httpx.Response(
            200,
            json={
                "errcode": 0,
                "person": {"desensitizeName": "张*", "desensitizeCardId": "42**12"},
                "healthyReport": [],
            },
        ),
    ],
)
def test_no_usable_answer_is_unavailable(reply: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(reply, Exception):
            raise reply
        return reply  # type: ignore[no-any-return]

    with pytest.raises(Unavailable) as caught:
        offline_adapter(handler).verify("HBJKM:" + "b" * 32, now=datetime.now(UTC))
    assert caught.value.message == "legacy issuer 420000 did not answer"


def test_a_wrong_base_url_says_so() -> None:
    adapter = offline_adapter(lambda request: httpx.Response(404, json={"errcode": 40400}))
    with pytest.raises(Unavailable) as caught:
        adapter.verify("HBJKM:" + "c" * 32, now=datetime.now(UTC))
    assert "HTTP 404" in caught.value.message and "base URL" in caught.value.message


def test_what_the_legacy_system_sends_is_masked_again_and_tolerated() -> None:
    """A careless answer: a full name, string errcode, an unknown test text, newest report last."""
    answer = {
        "errcode": "0",
        "person": {"desensitizeName": "李四光", "desensitizeCardId": "420102198001011234"},
        "healthyReport": [
            {"healthyStaus": "00", "reportTime": "2026-11-18 09:00:00"},
            {"healthyStaus": "10", "reportTime": "2026-11-20 09:00:00"},
            {"healthyStaus": "01", "reportTime": "not a time"},
        ],
        "hsjc": {"hsjcjg": "待出结果", "hsjcsj": "2026-11-20 09:00:00"},
    }
    adapter = offline_adapter(lambda request: httpx.Response(200, json=answer))
    verdict = adapter.verify("HBJKM:" + "d" * 32, now=datetime.now(UTC))
    assert verdict.masked_name == "李**"
    assert verdict.masked_id == "42**************34"
    assert verdict.colour is Colour.RED and verdict.reasons == ("legacy.status-10",)
    assert verdict.status_since == datetime(2026, 11, 20, 9, 0, tzinfo=BEIJING)
    assert verdict.test_outcome is None and verdict.test_reported_at is None
    assert verdict.sid is None


def test_the_adapter_signs_its_calls_as_the_legacy_system_expects() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"errcode": 40001, "errmsg": "无效的健康码"})

    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    with pytest.raises(InvalidCode):
        offline_adapter(handler).verify("HBJKM:" + "e" * 32, now=now)
    (request,) = seen
    assert request.url == "http://legacy.invalid/hbjkm/userHealth/validateInfo"
    assert request.method == "POST"
    assert request.headers["appKey"] == HUB.app_key
    assert request.headers["timestamp"] == "1795140000000"
    assert request.headers["sign"] == sign(HUB.app_key, "1795140000000", HUB.app_secret)
    assert request.content == b'{"bizExtData":"HBJKM:' + b"e" * 32 + b'"}'


def test_programmer_mistakes_are_type_and_value_errors() -> None:
    adapter = offline_adapter()
    with pytest.raises(TypeError):
        adapter.verify(b"HBJKM:" + b"0" * 32, now=datetime.now(UTC))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        adapter.verify("HBJKM:" + "0" * 32, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        HbjkmAdapter("http://x", app_key="k", app_secret="s", federation_secret=b"short")


# ------------------------------------------------------------------------- personal data


def test_the_legacy_database_holds_no_plaintext_identity(legacy: Legacy, db_url: str) -> None:
    _, _, programmatic = legacy.person()
    over_http = make_id("420106", "19750505", "246")
    answer = legacy.post(
        "/hbjkm/user/register",
        {"xm": "欧阳娜娜", "zjlx": "1", "zjhm": over_http, "sjhm": "13700001111"},
    )
    assert answer["errcode"] == 0, answer

    secrets = [programmatic, over_http, PHONE, "13700001111", NAME, "欧阳娜娜"]
    engine = legacy.node.db.engine
    with engine.connect() as conn:
        dump = repr([conn.execute(select(t)).all() for t in metadata.sorted_tables])
    for secret in secrets:
        assert secret not in dump
        assert secret.encode() not in dump.encode()
    if db_url.startswith("sqlite"):
        path = Path(db_url.split(":///", 1)[1])
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for secret in secrets:
            assert secret.encode() not in raw


# ----------------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"HBJKM:[0-9a-fA-F]{30,34}", fullmatch=True))
def test_recognises_never_raises(text: str) -> None:
    assert isinstance(HbjkmAdapter.recognises(text), bool)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.text(max_size=60)
    | st.from_regex(r"HBJKM:[0-9a-f]{32}", fullmatch=True)
    | st.builds(lambda s: "HBJKM:" + s, st.text(max_size=40))
)
def test_verify_of_arbitrary_text_raises_only_invalid_code_or_unavailable(
    legacy: Legacy, text: str
) -> None:
    adapter = legacy.adapter()
    with pytest.raises((InvalidCode, Unavailable)):
        adapter.verify(text, now=legacy.clock())


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
_answers = st.fixed_dictionaries(
    {},
    optional={
        "errcode": st.sampled_from([0, "0", -1, 40001, 40003, 40100, 1]) | _json,
        "person": st.fixed_dictionaries(
            {},
            optional={
                "desensitizeName": _json | st.text(max_size=70),
                "desensitizeCardId": _json,
                "cardType": st.sampled_from(["1", "2", "9"]) | _json,
                "cardId": st.just(make_id()) | _json,
            },
        )
        | _json,
        "healthyReport": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "healthyStaus": st.sampled_from(["00", "01", "10"]) | _json,
                    "reportTime": st.just("2026-11-20 10:00:00") | _json,
                },
            )
            | _json,
            max_size=3,
        )
        | _json,
        "hsjc": st.fixed_dictionaries(
            {},
            optional={
                "hsjcjg": st.sampled_from(["阴性", "阳性"]) | _json,
                "hsjcsj": st.just("2026-13-40 25:00:00") | _json,
                "cysj": _json,
            },
        )
        | _json,
    },
)


@settings(max_examples=300, deadline=None)
@given(_answers)
def test_any_answer_gives_a_verdict_or_invalid_code_or_unavailable(answer: Any) -> None:
    adapter = offline_adapter(lambda request: httpx.Response(200, json=answer))
    try:
        verdict = adapter.verify("HBJKM:" + "f" * 32, now=datetime.now(UTC))
    except (InvalidCode, Unavailable):
        return
    assert isinstance(verdict.colour, Colour)
    assert verdict.reasons and verdict.reasons[0].startswith("legacy.status-")


# --------------------------------------------------------------------------- real loopback


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a loopback port in a thread; yields its base URL."""
    import threading

    import uvicorn

    port = closed_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", ws="none", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            thread.join(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_adapter_over_real_loopback_http(legacy: Legacy) -> None:
    _, code, id_number = legacy.person(status="01")
    with serving(legacy.node.app) as url:
        adapter = HbjkmAdapter(
            url,
            app_key=HUB.app_key,
            app_secret=HUB.app_secret,
            federation_secret=FEDERATION_SECRET,
        )
        with adapter:
            verdict = adapter.verify(code, now=legacy.clock())
            with pytest.raises(InvalidCode):
                adapter.verify("HBJKM:" + "9" * 32, now=legacy.clock())
    assert verdict.colour is Colour.YELLOW
    assert verdict.sid == subject_id(FEDERATION_SECRET, DocumentType.RESIDENT_ID, id_number)
