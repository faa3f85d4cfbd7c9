"""The hub's admin pages at ``/admin``: risk areas, entry policies and their simulator, issuers
with their keys and revocations, labs, and the dashboards.

Each page calls the use case its API route calls, with the signed-in credential, so role and
scope are checked where they always are: setting an area's level is ``RiskAreas.set_area``
(``PUT /v1/risk-areas/{code}``: a health authority, within its scope), saving a policy is
``EntryPolicies.put`` (``PUT /v1/policies/{region}``), revoking a key is
``Registry.revoke_key`` (``DELETE /v1/issuers/{region}/keys/{kid}``: the hub administrator),
registering a lab is ``Labs.register`` (``POST /v1/labs``). Reading is scoped the same way: an
authority scoped to 330000 finds and opens only areas within 330000. The dashboards draw the
read-only ``GET /v1/stats/{figure}`` routes (``hub.stats``) with the vendored uPlot.

Who sees what (the home page lists only the sections the credential may open):

| section | roles |
| --- | --- |
| risk areas, entry policies, simulator, dashboards | admin, authority |
| policy editor | authority (only for regions within its scope) |
| issuers and keys, labs | admin |
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from yimatong.credentials import Caller
from yimatong.domain import errors
from yimatong.domain.edge import is_digits
from yimatong.domain.facts import RiskLevel
from yimatong.domain.regions import default_divisions
from yimatong.hub.context import HubContext
from yimatong.hub.data_risk import RiskAreas
from yimatong.hub.labs import Labs
from yimatong.hub.policies import EntryPolicies, PolicyDecider, check_rule, within_scope
from yimatong.hub.registry import NATIONAL
from yimatong.hub.simulator import PolicySimulator
from yimatong.verifier.policy import PLACE_KINDS
from yimatong.web.admin import Guard, error_text, parse_local_time, status_of
from yimatong.web.pages import Pages

__all__ = ["HUB_ADMIN_PUBLIC_PATHS", "hub_admin_pages"]

#: The hub's admin pages (each asks for sign-in itself).
HUB_ADMIN_PUBLIC_PATHS = frozenset(
    {
        "GET /",
        "GET /admin",
        "GET /admin/areas",
        "GET /admin/areas/{code}",
        "POST /admin/areas/{code}",
        "GET /admin/policies",
        "GET /admin/policies/edit",
        "POST /admin/policies/edit",
        "GET /admin/simulate",
        "POST /admin/simulate",
        "GET /admin/issuers",
        "GET /admin/issuers/{region}/keys/{kid}/revoke",
        "POST /admin/issuers/{region}/keys/{kid}/revoke",
        "GET /admin/labs",
        "POST /admin/labs",
        "GET /admin/dashboards",
    }
)

VIEWERS = ("admin", "authority")
ADMIN = ("admin",)
AUTHORITY = ("authority",)
LEVELS = ("low", "medium", "high")
#: A rule to start from when a region and kind of place has none yet.
STARTER_RULE = {"===": [{"var": "code.colour"}, "green"]}

_SECTIONS = (
    ("/admin/areas", "admin.section.areas", VIEWERS),
    ("/admin/policies", "admin.section.policies", VIEWERS),
    ("/admin/simulate", "admin.section.simulate", VIEWERS),
    ("/admin/issuers", "admin.section.issuers", ADMIN),
    ("/admin/labs", "admin.section.labs", ADMIN),
    ("/admin/dashboards", "admin.section.dashboards", VIEWERS),
)


def _nav(caller: Caller) -> list[tuple[str, str]]:
    return [(path, key) for path, key, roles in _SECTIONS if caller.role in roles]


def _region_or_none(value: str) -> str | None:
    """A six-digit region the pages may show (the nation included), else None."""
    value = value.strip()
    if value == NATIONAL:
        return value
    if not is_digits(value, 6):
        return None
    try:
        default_divisions().validate_area(value)
    except errors.InvalidInput:
        return None
    return value


def _scope_default(caller: Caller) -> str:
    scope = caller.scope if caller.role == "authority" else None
    return scope if scope and is_digits(scope, 6) else ""


def hub_admin_pages(
    pages: Pages, ctx: HubContext, *, on_close: Callable[[Callable[[], None]], None]
) -> APIRouter:
    """The router; ``on_close`` is given what to call when the node stops."""
    r = APIRouter(include_in_schema=False)
    guard = Guard(pages, nav=_nav)
    risk = RiskAreas(ctx)
    policies = EntryPolicies(ctx)
    decider = ctx.decider if isinstance(ctx.decider, PolicyDecider) else None
    simulator = PolicySimulator(ctx, decider=decider)
    labs = Labs(ctx)
    on_close(simulator.close)

    def t_of(request: Request) -> Any:
        return pages.context(request)["t"]

    def failed(request: Request, caller: Caller, exc: errors.YimatongError, back: str) -> Response:
        return guard.render(
            request,
            caller,
            "admin/error.html",
            status=status_of(exc),
            message=error_text(t_of(request), exc),
            back=back,
        )

    # ------------------------------------------------------------- the hub's door
    @r.get("/")
    def door(request: Request) -> Response:
        """What a newcomer sees at the hub's address: where the pages are."""
        hosted = sorted((str(row.region), str(row.name))
                        for row in ctx.registry.issuers_by_kind("hosted"))  # fmt: skip
        return pages.render(request, "hub_home.html", hosted=hosted)

    # ------------------------------------------------------------------ home
    @r.get("/admin")
    def home(request: Request) -> Response:
        caller = guard(request, VIEWERS)
        if isinstance(caller, Response):
            return caller
        return guard.render(request, caller, "admin/home.html")

    # ------------------------------------------------------------ risk areas
    @r.get("/admin/areas")
    def areas(request: Request) -> Response:
        caller = guard(request, VIEWERS)
        if isinstance(caller, Response):
            return caller
        query = request.query_params.get("q", "")[:40]
        found = risk.find(caller, query) if query.strip() else None
        return guard.render(request, caller, "admin/areas.html", query=query, found=found)

    def show_area(
        request: Request,
        caller: Caller,
        code: str,
        *,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        try:
            area = risk.describe(caller, code)
        except errors.YimatongError as exc:
            return failed(request, caller, exc, "/admin/areas")
        notice = None
        level, version = request.query_params.get("level"), request.query_params.get("version")
        if status == 200 and level in LEVELS and version and version.isdigit():
            t = t_of(request)
            notice = t(
                "admin.areas.done", name=area["name"], level=t(f"level.{level}"), version=version
            )
        return guard.render(
            request,
            caller,
            "admin/area.html",
            status=status,
            area=area,
            levels=LEVELS,
            error=error,
            notice=notice,
            form=form or {"level": "", "from": "", "to": ""},
        )

    @r.get("/admin/areas/{code}")
    def area(request: Request, code: str) -> Response:
        caller = guard(request, VIEWERS)
        if isinstance(caller, Response):
            return caller
        return show_area(request, caller, code)

    @r.post("/admin/areas/{code}")
    def set_area(
        request: Request,
        code: str,
        level: str = Form(""),
        start: str = Form("", alias="from", max_length=40),
        end: str = Form("", alias="to", max_length=40),
    ) -> Response:
        caller = guard(request, VIEWERS)
        if isinstance(caller, Response):
            return caller
        try:
            if level not in LEVELS:
                raise errors.InvalidInput("level must be low, medium or high", field="level")
            begins = parse_local_time(start, "from") or ctx.clock()
            done = risk.set_area(
                caller,
                code,
                level=RiskLevel(level),
                start=begins,
                end=parse_local_time(end, "to"),
            )
        except errors.YimatongError as exc:
            form = {"level": level, "from": start, "to": end}
            return show_area(
                request,
                caller,
                code,
                status=status_of(exc),
                error=error_text(t_of(request), exc),
                form=form,
            )
        return pages.redirect(
            request, f"/admin/areas/{done['area']}?level={done['level']}&version={done['version']}"
        )

    # -------------------------------------------------------------- policies
    @r.get("/admin/policies")
    def policy_list(request: Request) -> Response:
        caller = guard(request, VIEWERS)
        if isinstance(caller, Response):
            return caller
        asked = request.query_params.get("region", "") or _scope_default(caller)
        region = _region_or_none(asked)
        document = policies.signed(region)[1]["payload"] if region else None
        history = policies.history(region) if region else []
        saved = request.query_params.get("saved", "")
        return guard.render(
            request,
            caller,
            "admin/policies.html",
            asked=asked,
            region=region,
            document=document,
            history=history,
            place_kinds=PLACE_KINDS,
            saved=saved if saved.isdigit() else None,
            may_edit=caller.role == "authority",
        )

    def show_editor(
        request: Request,
        caller: Caller,
        form: dict[str, str],
        *,
        status: int = 200,
        error: str | None = None,
        ok: bool = False,
    ) -> Response:
        return guard.render(
            request,
            caller,
            "admin/policy_edit.html",
            status=status,
            form=form,
            place_kinds=PLACE_KINDS,
            error=error,
            ok=ok,
        )

    @r.get("/admin/policies/edit")
    def policy_editor(request: Request) -> Response:
        caller = guard(request, AUTHORITY)
        if isinstance(caller, Response):
            return caller
        region = _region_or_none(request.query_params.get("region", "")) or _scope_default(caller)
        if region and not within_scope(region, caller.scope):
            # Saving would be refused (EntryPolicies.put): the editor does not open either.
            refused = errors.Forbidden(
                f"this credential may set policies only within {caller.scope}"
            )
            return failed(request, caller, refused, "/admin/policies")
        kind = request.query_params.get("place_kind", "any")
        kind = kind if kind in PLACE_KINDS else "any"
        latest = next(
            (p for p in (policies.history(region) if region else []) if p["place_kind"] == kind),
            None,
        )
        rule = latest["rule"] if latest else STARTER_RULE
        form = {
            "region": region,
            "place_kind": kind,
            "rule": json.dumps(rule, ensure_ascii=False, indent=2),
            "description": latest["description"] if latest else "",
            "valid_from": "",
            "valid_to": "",
        }
        return show_editor(request, caller, form)

    @r.post("/admin/policies/edit")
    def policy_save(
        request: Request,
        region: str = Form("", max_length=12),
        place_kind: str = Form("any", max_length=16),
        rule: str = Form("", max_length=64 * 1024),
        description: str = Form("", max_length=2000),
        valid_from: str = Form("", max_length=40),
        valid_to: str = Form("", max_length=40),
        action: str = Form("save"),
    ) -> Response:
        caller = guard(request, AUTHORITY)
        if isinstance(caller, Response):
            return caller
        form = {
            "region": region.strip(),
            "place_kind": place_kind,
            "rule": rule,
            "description": description,
            "valid_from": valid_from,
            "valid_to": valid_to,
        }
        t = t_of(request)
        try:
            parsed = json.loads(rule)
        except json.JSONDecodeError as exc:
            error = t("admin.policies.not_json", line=exc.lineno, col=exc.colno, msg=exc.msg)
            return show_editor(request, caller, form, status=422, error=error)
        try:
            if action == "check":
                check_rule(parsed)
                return show_editor(request, caller, form, ok=True)
            saved = policies.put(
                caller,
                form["region"],
                place_kind=place_kind,
                rule=parsed,
                description=description,
                valid_from=parse_local_time(valid_from, "valid_from"),
                valid_to=parse_local_time(valid_to, "valid_to"),
            )
        except errors.YimatongError as exc:
            error = t("admin.policies.refused", detail=exc.message)
            return show_editor(request, caller, form, status=status_of(exc), error=error)
        return pages.redirect(
            request, f"/admin/policies?region={saved['region']}&saved={saved['version']}"
        )

    # ------------------------------------------------------------- simulator
    @r.get("/admin/simulate")
    def simulate_form(request: Request) -> Response:
        caller = guard(request, VIEWERS)
        if isinstance(caller, Response):
            return caller
        form = {"region": _scope_default(caller), "place_kind": "any", "temperature": "", "at": ""}
        return guard.render(
            request, caller, "admin/simulate.html", form=form, place_kinds=PLACE_KINDS
        )

    @r.post("/admin/simulate")
    async def simulate(
        request: Request,
        code: str = Form("", max_length=4000),
        id_number: str = Form("", max_length=40),
        region: str = Form("", max_length=12),
        place_kind: str = Form("any", max_length=16),
        temperature: str = Form("", max_length=10),
        at: str = Form("", max_length=40),
    ) -> Response:
        caller = guard(request, VIEWERS)
        if isinstance(caller, Response):
            return caller
        # The code and the ID number are not sent back into the form: the page keeps no copy.
        form = {"region": region, "place_kind": place_kind, "temperature": temperature, "at": at}
        try:
            degrees = _temperature(temperature)
            result = await run_in_threadpool(
                lambda: simulator.simulate(
                    caller,
                    region=region.strip(),
                    place_kind=place_kind,
                    code=code,
                    id_number=id_number,
                    temperature=degrees,
                    at=parse_local_time(at, "at"),
                )
            )
        except errors.YimatongError as exc:
            return guard.render(
                request,
                caller,
                "admin/simulate.html",
                status=status_of(exc),
                form=form,
                place_kinds=PLACE_KINDS,
                error=error_text(t_of(request), exc),
            )
        return guard.render(
            request,
            caller,
            "admin/simulate.html",
            form=form,
            place_kinds=PLACE_KINDS,
            result=result,
        )

    # --------------------------------------------------------------- issuers
    @r.get("/admin/issuers")
    def issuers(request: Request) -> Response:
        caller = guard(request, ADMIN)
        if isinstance(caller, Response):
            return caller
        payload = ctx.registry.trust_list(0)[1]["payload"]
        keys: dict[str, list[dict[str, Any]]] = {}
        for key in payload["keys"]:
            keys.setdefault(key["region"], []).append(key)
        changes = ctx.registry.latest_changes(caller, 50)
        revoked = request.query_params.get("revoked", "")
        version = request.query_params.get("version", "")
        notice = None
        if len(revoked) == 16 and is_digits(version, len(version)) and version:
            notice = t_of(request)("admin.issuers.done", kid=revoked, version=version)
        return guard.render(
            request,
            caller,
            "admin/issuers.html",
            issuers=payload["issuers"],
            keys=keys,
            changes=changes,
            trust_version=payload["version"],
            notice=notice,
            national=NATIONAL,
        )

    def find_key(region: str, kid: str) -> tuple[Any, Any]:
        if region == NATIONAL:
            raise errors.Forbidden("the hub's own keys come only from its keystore")
        issuer = ctx.registry.issuer(region)
        try:
            key = ctx.registry.region_keys(region).get(bytes.fromhex(kid))
        except ValueError:
            key = None
        if key is None:
            raise errors.NotFound(f"issuer {region} has no key {kid[:16]}")
        return issuer, key

    @r.get("/admin/issuers/{region}/keys/{kid}/revoke")
    def revoke_form(request: Request, region: str, kid: str) -> Response:
        caller = guard(request, ADMIN)
        if isinstance(caller, Response):
            return caller
        try:
            issuer, key = find_key(region, kid)
        except errors.YimatongError as exc:
            return failed(request, caller, exc, "/admin/issuers")
        return guard.render(
            request, caller, "admin/revoke.html", issuer=issuer, key=key, kid=kid.lower()
        )

    @r.post("/admin/issuers/{region}/keys/{kid}/revoke")
    def revoke(request: Request, region: str, kid: str) -> Response:
        caller = guard(request, ADMIN)
        if isinstance(caller, Response):
            return caller
        try:
            find_key(region, kid)
            done = ctx.registry.revoke_key(caller, region, kid.lower())
        except errors.YimatongError as exc:
            return failed(request, caller, exc, "/admin/issuers")
        return pages.redirect(
            request, f"/admin/issuers?revoked={done['kid']}&version={done['version']}"
        )

    # ------------------------------------------------------------------ labs
    def show_labs(
        request: Request,
        caller: Caller,
        *,
        status: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
        created: dict[str, Any] | None = None,
    ) -> Response:
        return guard.render(
            request,
            caller,
            "admin/labs.html",
            status=status,
            labs=labs.registered(caller),
            error=error,
            form=form or {"lab_id": "", "name": "", "region": "", "public_key": ""},
            created=created,
        )

    @r.get("/admin/labs")
    def lab_list(request: Request) -> Response:
        caller = guard(request, ADMIN)
        if isinstance(caller, Response):
            return caller
        return show_labs(request, caller)

    @r.post("/admin/labs")
    def lab_register(
        request: Request,
        lab_id: str = Form("", max_length=64),
        name: str = Form("", max_length=200),
        region: str = Form("", max_length=12),
        public_key: str = Form("", max_length=4000),
    ) -> Response:
        caller = guard(request, ADMIN)
        if isinstance(caller, Response):
            return caller
        form = {"lab_id": lab_id, "name": name, "region": region, "public_key": public_key}
        try:
            created = labs.register(
                caller,
                lab_id=lab_id.strip(),
                name=name.strip(),
                region=region.strip(),
                public_key="".join(public_key.split()),
            )
        except errors.YimatongError as exc:
            return show_labs(
                request,
                caller,
                status=status_of(exc),
                error=error_text(t_of(request), exc),
                form=form,
            )
        # Answered here, not redirected: the credential is shown this once and never stored.
        return show_labs(request, caller, status=201, created=created)

    # ------------------------------------------------------------ dashboards
    @r.get("/admin/dashboards")
    def dashboards(request: Request) -> Response:
        caller = guard(request, VIEWERS)
        if isinstance(caller, Response):
            return caller
        return guard.render(request, caller, "admin/dashboards.html")

    return r


def _temperature(text: str) -> float | None:
    text = text.strip().replace("，", ".").replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise errors.InvalidInput("temperature must be a number", field="temperature") from None
    if not 30 <= value <= 45:
        raise errors.InvalidInput("temperature must be from 30 to 45 °C", field="temperature")
    return value
