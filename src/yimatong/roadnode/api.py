"""The road node's HTTP API (docs/road.md, "The road node").

Who may call what:

- **anyone**: ingest (``POST /v1/road/observations`` — a vehicle's batch carries its device's
  signature in ``Ymt-Device`` / ``Ymt-Signature``, a phone's batch none), the map's cells, a
  cell's history, the network, the rule set, the dashboard, a device's points and the log;
- **admin** (the node's administrator): registers vehicles, reads and steps every work order,
  reads every finding and the whole feed;
- **team** (scope: its team id): reads and steps its own work orders (another team's is 404);
- **department** (scope: traffic_police, transport or municipal): reads the findings, the feed
  and the work orders of the defect types its scope names (``road/data/departments-*.json``).

Nothing served names a person: a citizen's phone appears only as ``"citizen"`` (its id is
given back only to whoever already holds it, at ``/v1/road/points/{device_id}``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from yimatong.adapters.crypto import SigningKey
from yimatong.credentials import Caller
from yimatong.domain.errors import Forbidden, InvalidInput, Unauthorized
from yimatong.road.rules import Colour, Severity
from yimatong.roadnode.service import RoadService
from yimatong.web_common import ORJSONResponse, json_body, problem_responses

__all__ = ["PUBLIC", "road_router"]

PUBLIC = frozenset(
    {
        "POST /v1/road/observations",
        "GET /v1/road/cells",
        "GET /v1/road/cells/{cell}",
        "GET /v1/road/network",
        "GET /v1/road/ruleset",
        "GET /v1/road/dashboard",
        "GET /v1/road/points/{device_id}",
        "GET /v1/road/log-key",
    }
)

DeviceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
OrderId = Annotated[str, Path(pattern=r"^wo-[0-9]{6,12}$")]
CellText = Annotated[str, Path(pattern=r"^[0-9]{2}:[0-9]{1,7}:[0-9]{1,8}$")]
After = Annotated[int, Query(ge=-1, le=2**53 - 1)]


def _caller(request: Request) -> Caller:
    caller: Caller | None = request.state.caller
    if caller is None:
        raise Unauthorized("sign in first")
    return caller


def _reader(request: Request) -> str | None:
    """The department scope a reader of findings is limited to (None: the administrator)."""
    caller = _caller(request)
    if caller.role == "admin":
        return None
    if caller.role == "department" and caller.scope:
        return caller.scope
    raise Forbidden("this needs one of the roles: department, admin")


def _team_or_admin(caller: Caller) -> str | None:
    if caller.role == "admin":
        return None
    if caller.role == "team" and caller.scope:
        return caller.scope
    raise Forbidden("this needs one of the roles: team, admin")


def road_router(service: RoadService, log_key: Callable[[], SigningKey]) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["road"])

    @r.post(
        "/v1/road/observations",
        summary="Ingest a batch of observations (a vehicle's, signed; a phone's bumps, unsigned)",
        responses=problem_responses(409),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    async def ingest(request: Request) -> dict[str, Any]:
        body = await request.body()
        device = request.headers.get("ymt-device")
        signature = request.headers.get("ymt-signature")
        report = await run_in_threadpool(
            partial(service.ingest, body, device=device, signature=signature)
        )
        return report.as_dict()

    @r.get("/v1/road/cells", summary="The cells that are not green (GeoJSON in the zone's metres)")
    async def cells(
        bbox: Annotated[str | None, Query(max_length=120)] = None,
        defect: Annotated[str | None, Query(max_length=32)] = None,
        severity: Annotated[str | None, Query(pattern="^(light|moderate|severe)$")] = None,
        colour: Annotated[str | None, Query(pattern="^(yellow|red)$")] = None,
    ) -> dict[str, Any]:
        box = None
        if bbox is not None:
            try:
                parts = [float(x) for x in bbox.split(",")]
            except ValueError:
                parts = []
            if len(parts) != 4:
                raise InvalidInput("bbox is min lon,min lat,max lon,max lat", field="bbox")
            box = (parts[0], parts[1], parts[2], parts[3])
        return await run_in_threadpool(
            partial(
                service.cells,
                box,
                defect=defect,
                min_severity=None if severity is None else Severity.parse(severity),
                colour=None if colour is None else Colour[colour.upper()],
            )
        )

    @r.get(
        "/v1/road/cells/{cell}",
        summary="A cell's history: state, findings, observations, work orders",
        responses=problem_responses(404),
    )
    async def cell(cell: CellText) -> dict[str, Any]:
        return await run_in_threadpool(service.cell_history, cell)

    @r.get("/v1/road/network", summary="The district's roads (centre lines in the zone's metres)")
    async def network() -> dict[str, Any]:
        return service.network_json()

    @r.get("/v1/road/ruleset", summary="The road rule set in force (its data, versioned)")
    async def ruleset() -> dict[str, Any]:
        return service.ruleset_json()

    @r.get(
        "/v1/road/dashboard",
        summary="Cells by colour, orders by status, times to finding and repair",
    )
    async def dashboard() -> dict[str, Any]:
        return await run_in_threadpool(service.dashboard)

    @r.get(
        "/v1/road/log-key",
        summary="The public key that signs this node's log heads (pin it out of band)",
    )
    async def key() -> dict[str, Any]:
        public = (await run_in_threadpool(log_key)).public
        return {
            "kid": public.kid.hex(),
            "alg": public.alg.value,
            "public_key": base64.b64encode(public.spki_der()).decode("ascii"),
        }

    @r.get("/v1/road/points/{device_id}", summary="A citizen device's reward points")
    async def points(device_id: DeviceId) -> dict[str, Any]:
        return await run_in_threadpool(service.points_of, device_id)

    @r.post(
        "/v1/road/devices",
        summary="Register a sensing vehicle and its public key (administrator)",
        responses=problem_responses(409),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    async def register(request: Request) -> dict[str, Any]:
        caller = _caller(request)
        if caller.role != "admin":
            raise Forbidden("this needs the role admin")
        body = await json_body(request)
        if not isinstance(body, dict):
            raise InvalidInput("the body is a JSON object", field="body")
        device_id, owner, key = body.get("device_id"), body.get("owner"), body.get("public_key")
        if not isinstance(device_id, str):
            raise InvalidInput("device_id is a string", field="device_id")
        if not isinstance(owner, str):
            raise InvalidInput("owner is a string", field="owner")
        try:
            der = base64.b64decode(str(key), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("public_key is base64 DER", field="public_key") from None
        return await run_in_threadpool(
            partial(
                service.register_vehicle,
                device_id,
                owner=owner,
                public_key_der=der,
                trusted=body.get("trusted") is True,
            )
        )

    @r.get("/v1/road/work-orders", summary="Work orders (a team's own; a department's types)")
    async def orders(
        request: Request,
        status: Annotated[
            str | None, Query(pattern="^(dispatched|on_site|repaired|verified)$")
        ] = None,
    ) -> dict[str, Any]:
        team, defects = _order_reader(service, _caller(request))
        return await run_in_threadpool(
            partial(service.work_orders, status=status, team=team, defects=defects)
        )

    @r.get(
        "/v1/road/work-orders/{order_id}",
        summary="One work order with its events",
        responses=problem_responses(404),
    )
    async def order(request: Request, order_id: OrderId) -> dict[str, Any]:
        team, defects = _order_reader(service, _caller(request))
        return await run_in_threadpool(
            partial(service.work_order, order_id, team=team, defects=defects)
        )

    @r.post(
        "/v1/road/work-orders/{order_id}/steps",
        summary="A team's step: on site, or repaired with the photo's SHA-256",
        responses=problem_responses(404, 409),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    async def step(request: Request, order_id: OrderId) -> dict[str, Any]:
        team = _team_or_admin(_caller(request))
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("step"), str):
            raise InvalidInput('the body is {"step": …}', field="step")
        photo = body.get("photo_sha256")
        if photo is not None and not isinstance(photo, str):
            raise InvalidInput("photo_sha256 is a string", field="photo_sha256")
        return await run_in_threadpool(
            partial(service.advance, order_id, body["step"], team=team, photo_sha256=photo)
        )

    @r.get("/v1/road/findings", summary="Confirmed findings with their evidence (departments)")
    async def findings(request: Request, after: After = 0) -> dict[str, Any]:
        scope = _reader(request)
        return await run_in_threadpool(partial(service.findings, scope, after=after))

    @r.get("/v1/road/feed", summary="The road log's entries after an index (departments)")
    async def feed(request: Request, after: After = -1) -> dict[str, Any]:
        scope = _reader(request)
        return await run_in_threadpool(partial(service.feed, scope, after=after))

    return r


def _order_reader(service: RoadService, caller: Caller) -> tuple[str | None, frozenset[str] | None]:
    """(team, defect types) a reader of work orders is limited to."""
    if caller.role == "admin":
        return None, None
    if caller.role == "team" and caller.scope:
        return caller.scope, None
    if caller.role == "department" and caller.scope:
        return None, service.scope_defects(caller.scope)
    raise Forbidden("this needs one of the roles: team, department, admin")
