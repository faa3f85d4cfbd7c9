"""The HBJKM imitation's HTTP API and :func:`build_legacy`, which wires it as a node.

Its conventions, not ours: pinyin-abbreviated field names, answers
``{"errcode": 0, "errmsg": "ok", ...}`` with HTTP 200 for every error the API defines,
partner authentication by ``appKey``/``timestamp``/``sign`` headers, Beijing local times without
an offset. It serves ``GET /healthz`` (so the demo can wait for it) and nothing of yimatong's
``/v1`` API, OpenAPI or problem details.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from yimatong import __version__
from yimatong.adapters.crypto import FieldCipher
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.engine import make_engine
from yimatong.config import Settings
from yimatong.domain.edge import BadValue, check_event, is_digits
from yimatong.legacy.auth import (
    LegacyApp,
    authenticate,
    load_or_create_apps,
    load_or_create_index_key,
)
from yimatong.legacy.store import ErrCode, LegacyError, LegacyStore, parse_time

if TYPE_CHECKING:
    from yimatong.bootstrap import Node

__all__ = ["LegacyService", "build_legacy", "legacy_app", "open_store"]

log = logging.getLogger("yimatong.legacy")

Clock = Callable[[], datetime]
Handler = Callable[[LegacyApp, dict[str, Any], datetime], dict[str, Any]]


def _system_clock() -> datetime:
    return datetime.now(UTC)


class LegacyService:
    """What ``Node.service`` holds for the legacy role: the store, the apps, the clock, the rng."""

    def __init__(
        self,
        store: LegacyStore,
        apps: Mapping[str, LegacyApp],
        *,
        clock: Clock,
        rng: random.Random,
        region: str,
    ) -> None:
        self.store = store
        self.apps = dict(apps)
        self.clock = clock
        self.rng = rng
        self.region = region

    def app_named(self, name: str) -> LegacyApp:
        """The partner app called ``name`` (``admin``, ``hub``): for the demo's wiring."""
        for app in self.apps.values():
            if app.name == name:
                return app
        raise KeyError(name)


def open_store(settings: Settings, *, rng: random.Random | None = None) -> LegacyStore:
    """The legacy store for ``settings`` with its schema created (for seeding without HTTP)."""
    settings = settings.with_defaults()
    rng = rng or random.SystemRandom()
    store = LegacyStore(
        make_engine(settings.db_url),
        FieldCipher.from_spec(settings.data_keys),
        load_or_create_index_key(settings.state_dir, rng=rng),
    )
    store.create_schema()
    return store


def build_legacy(
    settings: Settings,
    *,
    clock: Clock = _system_clock,
    rng: random.Random | None = None,
    app_keys: Mapping[str, LegacyApp] | None = None,
) -> Node:
    """The legacy HBJKM system as a :class:`~yimatong.bootstrap.Node`.

    Partner apps come from ``app_keys`` (appKey → app) or else from ``STATE_DIR/legacy-apps.json``
    (created on first start with an ``admin`` and a ``hub`` app). ``rng`` makes codes, user ids
    and first-start secrets; the default is the operating system's CSPRNG.
    """
    # Imported here so that bootstrap may import this module without a cycle.
    from yimatong.bootstrap import Node

    settings = settings.with_defaults()
    rng = rng or random.SystemRandom()
    if app_keys is None:
        apps = load_or_create_apps(settings.state_dir, rng=rng)
    else:
        apps = dict(app_keys)
        for key, partner in apps.items():
            if key != partner.app_key:
                raise ValueError(f"app_keys[{key!r}] holds the app {partner.app_key!r}")
    store = open_store(settings, rng=rng)
    service = LegacyService(store, apps, clock=clock, rng=rng, region=settings.region)
    api = legacy_app(service, body_limit=settings.max_body_bytes)
    return Node(settings=settings, db=Database(store.engine), app=api, fastapi=api, service=service)


# ------------------------------------------------------------------------------------ the API


def _answer(errcode: int, errmsg: str, status: int = 200, **extra: Any) -> Response:
    body = {"errcode": errcode, "errmsg": errmsg, **extra}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _field(body: Mapping[str, Any], name: str, *, max_length: int = 64) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise LegacyError(ErrCode.BAD_PARAMETER, f"参数{name}无效")
    return value


def _event(moment: datetime, now: datetime) -> datetime:
    """A test's time: within the shared event window (a year back, minutes ahead)."""
    try:
        return check_event(moment, now, "time")
    except BadValue:
        raise LegacyError(ErrCode.BAD_PARAMETER, "时间超出允许范围") from None


async def _read_json(request: Request, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and (not is_digits(declared) or int(declared) > limit):
        raise LegacyError(ErrCode.BAD_PARAMETER, "请求体过大")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise LegacyError(ErrCode.BAD_PARAMETER, "请求体过大")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise LegacyError(ErrCode.BAD_PARAMETER, "请求体不是有效的JSON") from None
    if not isinstance(body, dict):
        raise LegacyError(ErrCode.BAD_PARAMETER, "请求体应为JSON对象")
    return body


def legacy_app(service: LegacyService, *, body_limit: int = 65536) -> FastAPI:
    """The HBJKM HTTP API over ``service``."""
    store = service.store
    app = FastAPI(
        title="湖北健康码 partner API (imitation)",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    async def handle(request: Request, scope: str, handler: Handler) -> Response:
        try:
            now = service.clock()
            caller = authenticate(service.apps, request.headers, now=now, scope=scope)
            body = await _read_json(request, body_limit)
            data = await run_in_threadpool(handler, caller, body, now)
        except LegacyError as exc:
            return _answer(exc.errcode, exc.errmsg)
        except Exception as exc:
            # Its own "system busy"; the text may hold request data, so log the type only.
            log.error("legacy error %s on %s", type(exc).__name__, request.url.path)
            return _answer(ErrCode.SYSTEM_BUSY, "系统繁忙，请稍后再试")
        return _answer(ErrCode.OK, "ok", **data)

    def validate_info(caller: LegacyApp, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        code = body.get("bizExtData")
        if not isinstance(code, str) or not code:
            raise LegacyError(ErrCode.BAD_PARAMETER, "参数bizExtData无效")
        return store.validate(code, now=now, full_identity="fullIdentity" in caller.scopes)

    def register(caller: LegacyApp, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        user_id = store.register(
            name=_field(body, "xm"),
            card_type=_field(body, "zjlx", max_length=2),
            card_id=_field(body, "zjhm", max_length=32),
            phone=_field(body, "sjhm", max_length=11),
            now=now,
            rng=service.rng,
        )
        return {"data": {"userId": user_id}}

    def generate(caller: LegacyApp, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        code, expires = store.issue_code(_field(body, "userId"), now=now, rng=service.rng)
        return {"data": {"code": code, "expireTime": expires.strftime("%Y-%m-%d %H:%M:%S")}}

    def set_status(caller: LegacyApp, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        store.set_status(
            _field(body, "userId"), _field(body, "healthyStaus", max_length=2), now=now
        )
        return {}

    def record_test(caller: LegacyApp, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        sampled = body.get("cysj")
        store.record_test(
            _field(body, "userId"),
            result=_field(body, "hsjcjg", max_length=8),
            tested_at=_event(parse_time(body.get("hsjcsj")), now),
            sampled_at=None if sampled in (None, "") else _event(parse_time(sampled), now),
        )
        return {}

    routes: dict[str, tuple[str, Handler]] = {
        "/hbjkm/userHealth/validateInfo": ("validateInfo", validate_info),
        "/hbjkm/user/register": ("user", register),
        "/hbjkm/code/generate": ("user", generate),
        "/hbjkm/admin/setStatus": ("admin", set_status),
        "/hbjkm/admin/hsjc": ("admin", record_test),
    }
    for path, (scope, handler) in routes.items():

        async def endpoint(
            request: Request, _scope: str = scope, _handler: Handler = handler
        ) -> Response:
            return await handle(request, _scope, _handler)

        app.add_route(path, endpoint, methods=["POST"], include_in_schema=False)

    async def healthz(request: Request) -> Response:
        body = {"status": "ok", "role": "legacy", "region": service.region, "system": "HBJKM"}
        return Response(orjson.dumps(body), media_type="application/json")

    app.add_route("/healthz", healthz, methods=["GET"], include_in_schema=False)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _answer(ErrCode.NO_SUCH_API, "接口不存在", status=404)
        return _answer(exc.status_code, str(exc.detail), status=exc.status_code)

    return app
