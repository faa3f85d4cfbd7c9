"""The citizen pages at ``/`` of every issuer node (and of each region the hub hosts).

Sign-in is the phone and a one-time code, in two steps (ask for the code, type it in); the
session token the API would have returned goes into the node's HttpOnly session cookie and
lasts as long as the API session. Then: the people on the account (oneself and up to four
relatives) and applying for them; the daily declaration and itineraries; **my code**, a QR
drawn in the browser from the code string (``static/js/citizen/code.mjs``) with the colour
as the page's background and a new code every minute; who checked the code and which staff
read the record; corrections; a printable card with a long-lived code drawn server side
(``segno``) for a relative without a smartphone.

Every route calls the issuer's use cases with the caller the cookie stands for, exactly as
the API does, so role rules, grants and audit are the API's. No URL carries personal data:
a person is addressed by their place on the account's list (``/people/0`` is the first),
never by ID number or pseudonym. The routes are public paths of the node only so that an
anonymous reader gets the sign-in page instead of a JSON 401; each checks the caller itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import segno
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from yimatong.credentials import Caller
from yimatong.domain import errors
from yimatong.domain.regions import Level
from yimatong.domain.token import CodeKind
from yimatong.issuer.api import (
    ApplicationRequest,
    CorrectionRequest,
    DeclarationRequest,
    ItineraryRequest,
)
from yimatong.issuer.services import IssuerService, TravelLeg
from yimatong.verifier.policy import POPUP_TEXTS
from yimatong.verifier.texts import colour_label, reason_label
from yimatong.web import citizen_texts as _texts  # noqa: F401  (registers the texts)
from yimatong.web.admin import local_time, parse_local_time, status_of
from yimatong.web.pages import Pages
from yimatong.web.session import set_session
from yimatong.web_common import ORJSONResponse, client_address

__all__ = ["CITIZEN_PUBLIC_PATHS", "SYMPTOMS", "citizen_pages"]

#: The citizen pages (each asks for sign-in itself). The code's JSON refresh is not listed:
#: without a session it answers a 401 problem, as the API does.
CITIZEN_PUBLIC_PATHS = frozenset(
    {
        "GET /",
        "POST /signin/otp",
        "POST /signin",
        "POST /apply",
        "GET /people/{n}",
        "GET /people/{n}/code",
        "GET /people/{n}/qr.svg",
        "POST /links/{request_id}/confirm",
        "POST /links/{request_id}/withdraw",
        "GET /people/{n}/declare",
        "POST /people/{n}/declare",
        "POST /people/{n}/itinerary",
        "GET /people/{n}/activity",
        "GET /people/{n}/corrections",
        "POST /people/{n}/corrections",
        "GET /people/{n}/card",
    }
)

#: Symptoms the declaration offers (the words the rule sets match; ``fever`` is one).
SYMPTOMS = ("fever", "cough", "sore throat", "fatigue", "loss of smell")

#: How often "my code" fetches a new code, in seconds (``?refresh=`` may ask for less).
REFRESH_SECONDS = 60
_MIN_REFRESH = 2

_OTP = re.compile(r"[0-9]{6}")
_AREA = re.compile(r"[0-9]{6}|[0-9]{9}")


def _form_value(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _problem_text(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))


def citizen_pages(
    pages: Pages,
    service: IssuerService,
    *,
    region: str,
    clock: Callable[[], datetime] | None = None,
) -> APIRouter:
    """The citizen pages of one issuer (``region`` names its session cookie)."""
    r = APIRouter(include_in_schema=False)
    now = clock or service.clock
    env = pages.env
    env.filters.setdefault("admin_time", local_time)

    def t_of(request: Request) -> Callable[..., str]:
        t: Callable[..., str] = pages.context(request)["t"]
        return t

    def guard(request: Request) -> Caller | Response:
        caller: Caller | None = getattr(request.state, "caller", None)
        if caller is None:
            return pages.redirect(request, "/")
        if caller.role != "citizen":
            return pages.render(request, "citizen/wrong_role.html", status=403)
        return caller

    def failure(request: Request, exc: errors.YimatongError, back: str = "/") -> Response:
        return pages.render(
            request,
            "citizen/error.html",
            status=status_of(exc),
            message=_error_message(t_of(request), exc),
            back=back,
        )

    def person(caller: Caller, n: int) -> dict[str, Any]:
        people = service.my_subjects(caller)
        if not 0 <= n < len(people):
            raise errors.NotFound("no such person on your account")
        return {**people[n], "n": n}

    def where(detail: Any, pick: int) -> str:
        """The place a reason is about (a risk area), by name: "：浙江省 杭州市 西湖区 西湖街道"."""
        area = detail.get("risk_area") or detail.get("area") if isinstance(detail, dict) else None
        if not isinstance(area, str) or not area.isdigit():
            return ""
        return ("：" if pick == 0 else ": ") + service.area_name(area)

    def labels(request: Request, view: dict[str, Any], n: int | None = None) -> dict[str, Any]:
        """The health view's colour, reasons and way back to green in the reader's language;
        a manual colour's reason carries the link to appeal against it (person ``n``)."""
        context = pages.context(request)
        pick = 0 if context["lang"] == "zh" else 1
        turn = view.get("turns_green")

        def appeal(reason: dict[str, Any]) -> str | None:
            detail = reason.get("detail") or {}
            if (
                n is None
                or not reason["code"].startswith("override.")
                or not detail.get("override")
            ):
                return None
            return str(
                context["url"](f"/people/{n}/corrections?override={int(detail['override'])}")
            )

        return {
            "colour": view.get("colour"),
            "colour_label": colour_label(view.get("colour"))[pick],
            "reasons": [
                {
                    "code": x["code"],
                    "label": reason_label(x["code"])[pick] + where(x.get("detail"), pick),
                    "detail": x.get("detail"),
                    "appeal": appeal(x),
                }
                for x in view.get("reasons", [])
            ],
            # a pop-up (弹窗): what the person does about it, in words (docs/travel.md)
            "popup": [
                context["t"](f"citizen.popup.{code[6:]}")
                for code in dict.fromkeys(x["code"] for x in view.get("reasons", []))
                if code in POPUP_TEXTS
            ],
            "turns_green": (turn.get("description_zh") if pick == 0 else turn.get("description_en"))
            if turn
            else None,
            "turns_green_at": local_time(turn.get("not_before")) if turn else "",
            "hours_since_negative_test": view.get("hours_since_negative_test"),
            "colour_since": local_time(view.get("colour_since")),
        }

    # ------------------------------------------------------------------ sign-in
    @r.get("/")
    def home(request: Request) -> Response:
        caller: Caller | None = getattr(request.state, "caller", None)
        if caller is None:
            return pages.render(request, "citizen/signin.html", step="phone")
        if caller.role != "citizen":
            return pages.render(request, "citizen/wrong_role.html", status=403)
        return _home(request, caller)

    def _home(
        request: Request,
        caller: Caller,
        *,
        error: str | None = None,
        status: int = 200,
        values: dict[str, str] | None = None,
    ) -> Response:
        people = service.my_subjects(caller)
        pending = service.link_requests(caller)
        relatives = sum(p["relationship"] != "self" for p in people) + len(pending)
        notice = request.query_params.get("done", "")
        return pages.render(
            request,
            "citizen/home.html",
            status=status,
            people=people,
            pending=pending,
            has_self=any(p["relationship"] == "self" for p in people),
            room=relatives < 4,
            error=error,
            notice=notice if notice in ("linked", "pending", "declared", "corrected") else "",
            values=values or {},
        )

    @r.post("/signin/otp")
    async def ask_code(request: Request) -> Response:
        form = await request.form()
        phone = _form_value(form, "phone")[:20]
        try:
            await run_in_threadpool(service.request_otp, phone, client=client_address(request))
        except errors.YimatongError as exc:
            return pages.render(
                request,
                "citizen/signin.html",
                status=status_of(exc),
                step="phone",
                phone=phone,
                error=_error_message(t_of(request), exc),
            )
        return pages.render(request, "citizen/signin.html", step="code", phone=phone)

    @r.post("/signin")
    async def sign_in(request: Request) -> Response:
        form = await request.form()
        phone = _form_value(form, "phone")[:20]
        otp = _form_value(form, "otp")[:10]
        try:
            if not _OTP.fullmatch(otp):
                raise errors.InvalidInput("the one-time code is six digits", field="otp")
            token, expires = await run_in_threadpool(
                service.open_session, phone, otp, client=client_address(request)
            )
        except errors.YimatongError as exc:
            return pages.render(
                request,
                "citizen/signin.html",
                status=status_of(exc),
                step="code",
                phone=phone,
                error=_error_message(t_of(request), exc),
            )
        response = pages.redirect(request, "/")
        seconds = max(1, int((expires - now()).total_seconds()))
        set_session(response, request, region, token, max_age=seconds)
        return response

    # ------------------------------------------------------------- applications
    @r.post("/apply")
    async def apply(request: Request) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        form = await request.form()
        values = {
            k: _form_value(form, k) for k in ("who", "name", "id_number", "phone", "relationship")
        }
        body: dict[str, Any] = {
            "name": values["name"],
            "id_type": "111",
            "id_number": values["id_number"],
        }
        if values["who"] == "relative":
            body["for_relative"] = {"relationship": values["relationship"]}
            if values["phone"]:
                body["phone"] = values["phone"]
        t = t_of(request)
        try:
            parsed = ApplicationRequest.model_validate(body)
        except ValidationError as exc:
            error = t("citizen.invalid", detail=_problem_text(exc))
            return await run_in_threadpool(
                _home, request, caller, error=error, status=422, values=values
            )
        try:
            answer = await run_in_threadpool(
                lambda: service.apply(
                    caller,
                    name=parsed.name,
                    id_type=parsed.id_type,
                    id_number=parsed.id_number,
                    phone=parsed.phone,
                    relationship=parsed.for_relative.relationship if parsed.for_relative else None,
                )
            )
        except errors.YimatongError as exc:
            return await run_in_threadpool(
                _home,
                request,
                caller,
                error=_error_message(t, exc),
                status=status_of(exc),
                values=values,
            )
        return pages.redirect(request, f"/?done={answer['status']}")

    # -------------------------------------------------------------- one person
    @r.get("/people/{n}")
    def one_person(request: Request, n: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        try:
            who = person(caller, n)
        except errors.YimatongError as exc:
            return failure(request, exc)
        return pages.render(
            request, "citizen/person.html", who=who, notice=request.query_params.get("done", "")
        )

    @r.post("/links/{request_id}/confirm")
    async def confirm_link(request: Request, request_id: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        form = await request.form()
        code = _form_value(form, "code")[:10]
        try:
            await run_in_threadpool(service.confirm_link, caller, request_id, code)
        except errors.YimatongError as exc:
            return await run_in_threadpool(
                _home, request, caller, error=_error_message(t_of(request), exc),
                status=status_of(exc),
            )  # fmt: skip
        return pages.redirect(request, "/?done=linked")

    @r.post("/links/{request_id}/withdraw")
    def withdraw_link(request: Request, request_id: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        try:
            service.withdraw_link_request(caller, request_id)
        except errors.YimatongError as exc:
            return failure(request, exc)
        return pages.redirect(request, "/")

    @r.get("/people/{n}/qr.svg")
    def qr_image(request: Request, n: int) -> Response:
        """The code page's QR for a browser without script (a <noscript> image): drawn here,
        so only readers without script cost the node a QR rendering."""
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        try:
            who = person(caller, n)
            made = service.generate_code(caller, who["sid"], CodeKind.DYNAMIC)
        except errors.YimatongError as exc:
            return failure(request, exc)
        return Response(
            _svg(made["code"], xml=True),
            media_type="image/svg+xml",
            headers={"Cache-Control": "no-store"},
        )

    def _code_view(request: Request, caller: Caller, who: dict[str, Any]) -> dict[str, Any]:
        made = service.generate_code(caller, who["sid"], CodeKind.DYNAMIC)
        health = service.health(caller, who["sid"], purpose=None)
        return {
            "code": made["code"],
            "expires_at": made["expires_at"],
            "expires_local": local_time(made["expires_at"]),
            "issued_at": made["issued_at"],
            **labels(request, health, who["n"]),
        }

    def _travel_view(caller: Caller, who: dict[str, Any]) -> dict[str, Any] | None:
        """The travel code (行程码) beside the health code: its cities and its own signed QR;
        None for a proxy without the itinerary grant."""
        if not who["grants"]["itinerary"]:
            return None
        made = service.travel_code(caller, who["sid"])
        return {
            "cities": made["cities"],
            "starred": made["starred"],
            "expires_at": made["expires_at"],
            "qr": _svg(made["code"]),
        }

    @r.get("/people/{n}/code")
    def my_code(request: Request, n: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        try:
            who = person(caller, n)
            view = _code_view(request, caller, who)
            travel = _travel_view(caller, who)
        except errors.YimatongError as exc:
            return failure(request, exc)
        asked = request.query_params.get("refresh", "")
        refresh = REFRESH_SECONDS
        if asked.isdigit():
            refresh = min(REFRESH_SECONDS, max(_MIN_REFRESH, int(asked)))
        return pages.render(
            request,
            "citizen/code.html",
            who=who,
            view=view,
            travel=travel,
            refresh=refresh,
            now=local_time(now()),
            config={
                "refresh_seconds": refresh,
                "endpoint": pages.root(request) + f"/people/{n}/code",
                "lang": pages.context(request)["lang"],
            },
        )

    @r.post("/people/{n}/code")
    def fresh_code(request: Request, n: int) -> Response:
        """The script's refresh: a new code and the current colour and reasons (JSON)."""
        caller: Caller | None = getattr(request.state, "caller", None)
        if caller is None:
            raise errors.Unauthorized("sign in first")
        who = person(caller, n)  # a refused caller: the API's problem details
        view = _code_view(request, caller, who)
        return ORJSONResponse(view, headers={"Cache-Control": "no-store"})

    # -------------------------------------------------- declaration and travel
    @r.get("/people/{n}/declare")
    def declare_form(request: Request, n: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        try:
            who = person(caller, n)
        except errors.YimatongError as exc:
            return failure(request, exc)
        return _declare_page(request, who)

    def _declare_page(
        request: Request,
        who: dict[str, Any],
        *,
        error: str | None = None,
        status: int = 200,
        values: dict[str, Any] | None = None,
        notice: str = "",
    ) -> Response:
        return pages.render(
            request,
            "citizen/declare.html",
            status=status,
            who=who,
            symptoms=SYMPTOMS,
            error=error,
            values=values or {},
            notice=notice or request.query_params.get("done", ""),
        )

    @r.post("/people/{n}/declare")
    async def declare(request: Request, n: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        form = await request.form()
        t = t_of(request)
        values: dict[str, Any] = {
            "temperature": _form_value(form, "temperature"),
            "residence": _form_value(form, "residence"),
            "contact": _form_value(form, "contact") == "yes",
            "symptoms": [s for s in form.getlist("symptoms") if isinstance(s, str)],
        }
        try:
            who = await run_in_threadpool(person, caller, n)
        except errors.YimatongError as exc:
            return failure(request, exc)
        try:
            body: dict[str, Any] = {
                "subject": who["sid"],
                "symptoms": [s for s in values["symptoms"] if s in SYMPTOMS],
                "contact": values["contact"],
            }
            if values["temperature"]:
                body["temperature"] = values["temperature"]
            if values["residence"]:
                body["residence"] = values["residence"]
            parsed = DeclarationRequest.model_validate(body)
        except ValidationError as exc:
            return _declare_page(
                request,
                who,
                error=t("citizen.invalid", detail=_problem_text(exc)),
                status=422,
                values=values,
            )
        try:
            await run_in_threadpool(
                lambda: service.declare(
                    caller,
                    parsed.subject,
                    temperature=parsed.temperature,
                    symptoms=parsed.symptoms,
                    travel=[],
                    contact_with_case=parsed.contact,
                    residence=parsed.residence,
                )
            )
        except errors.YimatongError as exc:
            return _declare_page(
                request, who, error=_error_message(t, exc), status=status_of(exc), values=values
            )
        return pages.redirect(request, f"/people/{n}?done=declared")

    @r.post("/people/{n}/itinerary")
    async def itinerary(request: Request, n: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        form = await request.form()
        t = t_of(request)
        values = {k: _form_value(form, k) for k in ("area", "from", "to")}
        try:
            who = await run_in_threadpool(person, caller, n)
        except errors.YimatongError as exc:
            return failure(request, exc)
        try:
            start = parse_local_time(values["from"], "from")
            end = parse_local_time(values["to"], "to")
            if start is None:
                raise errors.InvalidInput("from: when you arrived is needed", field="from")
            parsed = ItineraryRequest.model_validate(
                {"subject": who["sid"], "region": values["area"], "from": start, "to": end}
            )
        except ValidationError as exc:
            return _declare_page(
                request,
                who,
                error=t("citizen.invalid", detail=_problem_text(exc)),
                status=422,
                values=values,
            )
        except errors.YimatongError as exc:
            return _declare_page(
                request, who, error=_error_message(t, exc), status=status_of(exc), values=values
            )
        try:
            await run_in_threadpool(
                service.add_itinerary,
                caller,
                parsed.subject,
                TravelLeg(parsed.region, parsed.from_, parsed.to),
            )
        except errors.YimatongError as exc:
            return _declare_page(
                request, who, error=_error_message(t, exc), status=status_of(exc), values=values
            )
        return pages.redirect(request, f"/people/{n}/declare?done=itinerary")

    @r.get("/areas")
    def areas(request: Request) -> Response:
        """The declaration's area picker: the divisions directly under ``parent`` (the
        provinces without one), as JSON. Public data, for signed-in citizens only."""
        caller: Caller | None = getattr(request.state, "caller", None)
        if caller is None:
            raise errors.Unauthorized("sign in first")
        if caller.role != "citizen":
            raise errors.Forbidden("this needs one of the roles: citizen")
        parent = request.query_params.get("parent", "")
        if not parent:
            found = list(service.divisions.regions(Level.PROVINCE))
        elif _AREA.fullmatch(parent):
            try:
                found = service.divisions.children(parent)
            except errors.InvalidInput:
                raise errors.NotFound("no such division") from None
        else:
            raise errors.InvalidInput("parent is a 6- or 9-digit division code", field="parent")
        return ORJSONResponse(
            [{"code": a.code, "name": a.name} for a in found],
            headers={"Cache-Control": "private, max-age=3600"},
        )

    # ------------------------------------------------------------- activity
    @r.get("/people/{n}/activity")
    def activity(request: Request, n: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        try:
            who = person(caller, n)
            seen = service.activity(caller, who["sid"])
        except errors.YimatongError as exc:
            return failure(request, exc)
        lang = pages.context(request)["lang"]
        pick = 0 if lang == "zh" else 1
        for item in seen.get("shared", []):
            item["colour_label"] = colour_label(item["colour"])[pick]
            item["reason_labels"] = [reason_label(c)[pick] for c in item["reasons"]]
        for change in seen.get("colours", []):
            change["from_label"] = colour_label(change["colour_from"])[pick]
            change["to_label"] = colour_label(change["colour_to"])[pick]
            change["reason_labels"] = [reason_label(r["code"])[pick] for r in change["reasons"]]
        return pages.render(request, "citizen/activity.html", who=who, seen=seen)

    # ----------------------------------------------------------- corrections
    def _corrections_page(
        request: Request,
        caller: Caller,
        who: dict[str, Any],
        *,
        error: str | None = None,
        status: int = 200,
        values: dict[str, str] | None = None,
    ) -> Response:
        items = service.my_corrections(caller, who["sid"])
        health = service.health(caller, who["sid"], purpose=None)
        stays: list[dict[str, Any]] = (
            health.get("itinerary", []) if who["grants"]["itinerary"] else []
        )
        # The manual colours in force for this person, each one can be appealed against.
        manual = [
            {"id": int(r["detail"]["override"]), "label": reason_label(r["code"])}
            for r in health.get("reasons", [])
            if r["code"].startswith("override.") and (r.get("detail") or {}).get("override")
        ]
        chosen = dict(values or {})
        wanted = request.query_params.get("override", "")
        if not chosen.get("target") and wanted.isdigit():
            chosen["target"] = f"override:{int(wanted)}"
        return pages.render(
            request,
            "citizen/corrections.html",
            status=status,
            who=who,
            items=items,
            stays=stays,
            overrides=manual,
            error=error,
            values=chosen,
            notice=request.query_params.get("done", ""),
        )

    @r.get("/people/{n}/corrections")
    def corrections(request: Request, n: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        try:
            who = person(caller, n)
            return _corrections_page(request, caller, who)
        except errors.YimatongError as exc:
            return failure(request, exc)

    @r.post("/people/{n}/corrections")
    async def correct(request: Request, n: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        form = await request.form()
        t = t_of(request)
        values = {k: _form_value(form, k) for k in ("target", "statement")}
        try:
            who = await run_in_threadpool(person, caller, n)
        except errors.YimatongError as exc:
            return failure(request, exc)
        body: dict[str, Any] = {"subject": who["sid"], "statement": values["statement"]}
        target = values["target"]
        if target.isdigit():
            body.update(kind="itinerary", target_id=int(target))
        elif target.startswith("override:") and target[9:].isdigit():
            body.update(kind="override", target_id=int(target[9:]))
        else:
            body["kind"] = "other"
        try:
            parsed = CorrectionRequest.model_validate(body)
            await run_in_threadpool(
                lambda: service.submit_correction(
                    caller,
                    parsed.subject,
                    kind=parsed.kind,
                    target_id=parsed.target_id,
                    statement=parsed.statement,
                )
            )
        except ValidationError as exc:
            error = t("citizen.invalid", detail=_problem_text(exc))
            return await run_in_threadpool(
                _corrections_page, request, caller, who, error=error, status=422, values=values
            )
        except errors.YimatongError as exc:
            return await run_in_threadpool(
                _corrections_page,
                request,
                caller,
                who,
                error=_error_message(t, exc),
                status=status_of(exc),
                values=values,
            )
        return pages.redirect(request, f"/people/{n}/corrections?done=submitted")

    # ------------------------------------------------------------ printed card
    @r.get("/people/{n}/card")
    def card(request: Request, n: int) -> Response:
        caller = guard(request)
        if isinstance(caller, Response):
            return caller
        try:
            who = person(caller, n)
            made = service.generate_code(caller, who["sid"], CodeKind.PRINTED)
        except errors.YimatongError as exc:
            return failure(request, exc)
        svg = _svg(made["code"])
        return pages.render(
            request,
            "citizen/card.html",
            who=who,
            made=made,
            svg=svg,
            expires=local_time(made["expires_at"]),
            issued=local_time(made["issued_at"]),
        )

    return r


def _svg(code: str, *, xml: bool = False) -> str:
    """A QR of ``code`` as SVG (segno: a quiet zone of 4 modules, black on white); inline in
    a page, or (``xml``) a document of its own."""
    qr = segno.make_qr(code, error="m")
    if not xml:
        return str(qr.svg_inline(scale=4, border=4, dark="#000", light="#fff", omitsize=True))
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=8, border=4, dark="#000", light="#fff")
    return out.getvalue().decode("utf-8")


def _error_message(t: Callable[..., str], exc: errors.YimatongError) -> str:
    """What a page says for a refused use case: the API's own words inside ours."""
    if isinstance(exc, errors.TooManyRequests):
        return t("citizen.too_many", detail=exc.message, seconds=exc.retry_after)
    if isinstance(exc, errors.Unauthorized):
        return t("citizen.wrong_code")
    if isinstance(exc, errors.NotFound):
        return t("citizen.not_found")
    if isinstance(exc, errors.InvalidInput):
        return t("citizen.invalid", detail=exc.message)
    if isinstance(exc, errors.Forbidden):
        return t("citizen.forbidden", detail=exc.message)
    return t("citizen.failed", detail=exc.message)
