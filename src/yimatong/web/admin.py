"""The admin pages: what every admin page shares, and the staff part of an issuer node.

Every admin page is behind sign-in with a credential (``/signin/staff`` turns it into the
node's HttpOnly session cookie) and checks the caller's role itself: no session → the sign-in
page (303, coming back here afterwards); a session of another role (a checkpoint, a citizen)
→ the sign-in page again, 403, saying which roles the page needs. The routes are listed as
public paths of the node only so that an anonymous reader gets that page instead of a JSON
401; what they do is the use cases', which check role and scope again exactly as the API does.
A form posts to its page route with the session's CSRF token (``web_common`` refuses a change
through the cookie without it), the use case runs, and the page redirects or shows its answer.

On an issuer node (and each region the hub hosts) ``/admin`` is the staff's corrections queue:
the pending corrections (the listing is audited, as ``GET /v1/corrections`` audits it), one
correction with the person's statement (audited as ``GET /v1/corrections/{id}``), and the
decision (``POST /v1/corrections/{id}/decision``'s use case, audited the same way).
The hub's pages are in ``admin_hub.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from yimatong.credentials import Caller
from yimatong.domain import errors
from yimatong.domain.overrides import REASONS
from yimatong.issuer.overrides import OverrideSubject
from yimatong.issuer.services import IssuerService
from yimatong.web import admin_texts as _texts  # noqa: F401  (registers the texts)
from yimatong.web.pages import Pages
from yimatong.web_common import STATUS

__all__ = [
    "CHINA",
    "ISSUER_ADMIN_PUBLIC_PATHS",
    "Guard",
    "issuer_admin_pages",
    "local_time",
    "parse_local_time",
]

CHINA = timezone(timedelta(hours=8))

#: The issuer's admin pages (each asks for sign-in itself).
ISSUER_ADMIN_PUBLIC_PATHS = frozenset(
    {
        "GET /admin",
        "GET /admin/corrections/{correction_id}",
        "POST /admin/corrections/{correction_id}",
        "GET /admin/overrides",
        "POST /admin/overrides",
        "POST /admin/overrides/{override_id}",
    }
)

STAFF = ("staff", "admin")


def local_time(value: Any) -> str:
    """A time as China time, to the minute ("2026-11-20 10:00"); '' for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if not isinstance(value, datetime):
        return str(value)
    return str(value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"))


def input_time(value: datetime | None) -> str:
    """A time for an ``<input type="datetime-local">`` (China time)."""
    return value.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M") if value is not None else ""


def parse_local_time(text: str, field: str) -> datetime | None:
    """A ``datetime-local`` value (China time, no zone) → aware datetime; '' → None."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidInput(f"{field} must be a date and time", field=field) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA)
    if not 1900 <= value.year <= 9000:
        raise errors.InvalidInput(f"{field} is out of range", field=field)
    return value


def status_of(exc: errors.YimatongError) -> int:
    return next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)


def error_text(t: Callable[..., str], exc: errors.YimatongError) -> str:
    """The message a page shows for a refused use case (the API's own detail inside)."""
    if isinstance(exc, errors.Forbidden):
        return t("admin.not_yours", detail=exc.message)
    if isinstance(exc, errors.InvalidInput):
        return t("admin.invalid", detail=exc.message)
    return t("admin.failed", detail=exc.message)


class Guard:
    """The caller of an admin page, or the sign-in page to answer instead."""

    def __init__(self, pages: Pages, *, nav: Callable[[Caller], list[tuple[str, str]]]) -> None:
        self.pages = pages
        self.nav = nav
        env = pages.env
        env.filters.setdefault("admin_time", local_time)
        env.filters.setdefault("admin_input_time", input_time)

    def __call__(self, request: Request, roles: Iterable[str]) -> Caller | Response:
        roles = tuple(roles)
        caller: Caller | None = getattr(request.state, "caller", None)
        # Every admin form posts to a path that is also a page: come back to that page.
        here = request.url.path[len(self.pages.root(request)) :] or "/"
        if caller is None:
            return self.pages.redirect(request, f"/signin/staff?next={quote(here, safe='/')}")
        if caller.role not in roles:
            t = self.pages.context(request)["t"]
            names = ", ".join(t(f"admin.role.{r}") for r in roles)
            return self.pages.render(
                request,
                "admin/signin.html",
                status=403,
                next=here,
                needs=t("admin.role_needed", roles=names),
            )
        return caller

    def render(
        self, request: Request, caller: Caller, name: str, *, status: int = 200, **values: Any
    ) -> Response:
        nav = self.nav(caller)
        here = request.url.path[len(self.pages.root(request)) :]
        current = next((p for p, _ in nav if here == p or here.startswith(p + "/")), here)
        return self.pages.render(
            request,
            name,
            status=status,
            admin_caller=caller,
            admin_nav=nav,
            admin_here=current,
            **values,
        )


# ---------------------------------------------------------------------------- the issuer
def _issuer_nav(caller: Caller) -> list[tuple[str, str]]:
    if caller.role == "authority":  # the health authority: manual colours, not corrections
        return [("/admin/overrides", "admin.section.overrides")]
    return [("/admin", "admin.section.corrections")]


AUTHORITY = ("authority",)
#: A line of the people of an override: ``sid kind seq`` (the hub feed seq of the fact).
_PERSON = re.compile(r"^\s*([0-9a-f]{32})[\s,]+([a-z_]{1,32})[\s,]+([0-9]{1,15})\s*$")


def parse_people(text: str) -> list[OverrideSubject]:
    """The people of an override as typed: one ``sid kind seq`` per line (blank lines skipped)."""
    people = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        found = _PERSON.match(line)
        if found is None:
            raise errors.InvalidInput(
                f"line {number}: write the pseudonym, the fact's kind and its seq", field="people"
            )
        people.append(OverrideSubject(found[1], found[2], int(found[3])))
    if not people:
        raise errors.InvalidInput("name at least one person", field="people")
    return people


def issuer_admin_pages(pages: Pages, service: IssuerService) -> APIRouter:
    """``/admin`` of an issuer node: the corrections queue (staff and the node's admin), and
    ``/admin/overrides``: manual colours, asked for and decided by the health authority."""
    r = APIRouter(include_in_schema=False)
    guard = Guard(pages, nav=_issuer_nav)

    @r.get("/admin")
    def queue(request: Request) -> Response:
        caller_now: Caller | None = getattr(request.state, "caller", None)
        if caller_now is not None and caller_now.role == "authority":
            return pages.redirect(request, "/admin/overrides")  # the authority's own page
        caller = guard(request, STAFF)
        if isinstance(caller, Response):
            return caller
        items = service.pending_corrections(caller)
        return guard.render(
            request,
            caller,
            "admin/corrections.html",
            items=items,
            notice=_decided_notice(pages, request),
        )

    @r.get("/admin/corrections/{correction_id}")
    def correction(request: Request, correction_id: int) -> Response:
        caller = guard(request, STAFF)
        if isinstance(caller, Response):
            return caller
        return _show_correction(request, caller, correction_id)

    def _show_correction(
        request: Request,
        caller: Caller,
        correction_id: int,
        *,
        error: str | None = None,
        status: int = 200,
        note: str = "",
    ) -> Response:
        try:
            item = service.get_correction(caller, correction_id)
        except errors.YimatongError as exc:
            t = pages.context(request)["t"]
            return guard.render(
                request,
                caller,
                "admin/error.html",
                status=status_of(exc),
                message=error_text(t, exc),
                back="/admin",
            )
        return guard.render(
            request,
            caller,
            "admin/correction.html",
            status=status,
            item=item,
            error=error,
            note=note,
        )

    @r.post("/admin/corrections/{correction_id}")
    async def decide(
        request: Request,
        correction_id: int,
        decision: str = Form(""),
        note: str = Form("", max_length=4000),
    ) -> Response:
        caller = guard(request, STAFF)
        if isinstance(caller, Response):
            return caller
        try:
            if decision not in ("accept", "reject"):
                raise errors.InvalidInput("choose accept or reject", field="decision")
            done = await run_in_threadpool(
                service.decide_correction,
                caller,
                correction_id,
                accept=decision == "accept",
                note=note,
            )
        except errors.YimatongError as exc:
            t = pages.context(request)["t"]
            return await run_in_threadpool(
                _show_correction,
                request,
                caller,
                correction_id,
                error=error_text(t, exc),
                status=status_of(exc),
                note=note,
            )
        return pages.redirect(request, f"/admin?decided={done['id']}&status={done['status']}")

    # ------------------------------------------------------------ manual colours
    def _overrides_page(
        request: Request,
        caller: Caller,
        *,
        error: str | None = None,
        status: int = 200,
        values: dict[str, str] | None = None,
    ) -> Response:
        items = service.list_overrides(caller, status=None)
        return guard.render(
            request,
            caller,
            "admin/overrides.html",
            status=status,
            items=items,
            reasons=list(REASONS.values()),
            error=error,
            values=values or {},
            notice=request.query_params.get("done", ""),
        )

    @r.get("/admin/overrides")
    def overrides(request: Request) -> Response:
        caller = guard(request, AUTHORITY)
        if isinstance(caller, Response):
            return caller
        return _overrides_page(request, caller)

    @r.post("/admin/overrides")
    async def ask_override(
        request: Request,
        colour: str = Form(""),
        reason: str = Form(""),
        note: str = Form("", max_length=1000),
        expires: str = Form("", max_length=40),
        people: str = Form("", max_length=300_000),
    ) -> Response:
        caller = guard(request, AUTHORITY)
        if isinstance(caller, Response):
            return caller
        values = {"colour": colour, "reason": reason, "note": note, "expires": expires}
        values["people"] = people
        try:
            ends = parse_local_time(expires, "expires_at")
            if ends is None:
                raise errors.InvalidInput("an override needs an end", field="expires_at")
            done = await run_in_threadpool(
                lambda: service.request_override(
                    caller,
                    colour=colour,
                    reason=reason,
                    note=note,
                    expires_at=ends,
                    people=parse_people(people),
                )
            )
        except errors.YimatongError as exc:
            t = pages.context(request)["t"]
            message, code = error_text(t, exc), status_of(exc)
            return await run_in_threadpool(
                lambda: _overrides_page(request, caller, error=message, status=code, values=values)
            )
        return pages.redirect(request, f"/admin/overrides?done={done['id']}")

    @r.post("/admin/overrides/{override_id}")
    async def decide_override(
        request: Request,
        override_id: int,
        action: str = Form(""),
        note: str = Form("", max_length=1000),
        approval: str = Form("", max_length=20_000),
    ) -> Response:
        caller = guard(request, AUTHORITY)
        if isinstance(caller, Response):
            return caller
        try:
            if action == "approve":
                work = lambda: service.approve_override(caller, override_id)  # noqa: E731
            elif action == "refuse":
                work = lambda: service.refuse_override(caller, override_id, note=note)  # noqa: E731
            elif action == "hub":
                document = _json_object(approval)
                work = lambda: service.hub_approval(caller, override_id, document)  # noqa: E731
            else:
                raise errors.InvalidInput(
                    "choose approve, refuse or the hub's approval", field="action"
                )
            done = await run_in_threadpool(work)
        except errors.YimatongError as exc:
            t = pages.context(request)["t"]
            message, code = error_text(t, exc), status_of(exc)
            return await run_in_threadpool(
                lambda: _overrides_page(request, caller, error=message, status=code)
            )
        return pages.redirect(request, f"/admin/overrides?done={done['id']}")

    return r


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise errors.InvalidInput(
            "paste the hub's approval as it came (JSON)", field="approval"
        ) from None
    if not isinstance(value, dict):
        raise errors.InvalidInput("paste the hub's approval as it came (JSON)", field="approval")
    return value


def _decided_notice(pages: Pages, request: Request) -> str | None:
    decided = request.query_params.get("decided", "")
    status = request.query_params.get("status", "")
    if not decided.isdigit() or status not in ("accepted", "rejected"):
        return None
    t = pages.context(request)["t"]
    return str(t("admin.corr.decided", id=decided, status=t(f"admin.corr.status.{status}")))
