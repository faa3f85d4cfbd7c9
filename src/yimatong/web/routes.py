"""The routes every node's pages share: preferences, staff sign-in with a credential, sign-out.

``GET /prefs`` remembers the reader's language and text size. ``/signin/staff`` turns a
credential (staff, checkpoint, authority, administrator — the same token the API takes) into
the node's HttpOnly session cookie for the pages, after checking it as the API would; citizens
sign in with their phone on the citizen pages instead. ``POST /signout`` clears the cookie and
ends a citizen's session on the server too (a credential stays valid: it is not the page's to
revoke).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from yimatong.credentials import Caller
from yimatong.web.i18n import add_texts
from yimatong.web.pages import Pages, safe_next
from yimatong.web.session import clear_session, set_session

__all__ = ["PAGE_PUBLIC_PATHS", "STAFF_SESSION_SECONDS", "basic_pages"]

#: Page routes anyone may open (each page asks for sign-in itself where it needs one).
PAGE_PUBLIC_PATHS = frozenset(
    {"GET /prefs", "GET /signin/staff", "POST /signin/staff", "POST /signout"}
)
#: How long a staff member's page session lasts (a working shift).
STAFF_SESSION_SECONDS = 8 * 3600

add_texts(
    {
        "staff.title": {"zh": "工作人员登录", "en": "Staff sign-in"},
        "staff.token": {"zh": "凭证", "en": "Credential"},
        "staff.token_hint": {
            "zh": "由本节点管理员发放（ymt_c_ 开头）。它只保存在本浏览器的 HttpOnly Cookie 中。",
            "en": "Issued by this node's administrator (starts with ymt_c_). It is kept only in "
            "an HttpOnly cookie of this browser.",
        },
        "staff.submit": {"zh": "登录", "en": "Sign in"},
        "staff.refused": {
            "zh": "凭证无效、已撤销或不适用于此页面。",
            "en": "The credential is unknown, revoked or not for this page.",
        },
    }
)


def basic_pages(
    pages: Pages,
    *,
    region: str,
    authenticate: Callable[[str], Caller | None],
    end_session: Callable[[str], None],
) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/prefs")
    def prefs(request: Request) -> Response:
        return pages.prefs(request)

    @r.get("/signin/staff")
    def staff_form(request: Request) -> Response:
        return pages.render(
            request, "signin_staff.html", next=safe_next(request.query_params.get("next"))
        )

    @r.post("/signin/staff")
    def staff_signin(
        request: Request, token: str = Form(max_length=200), next: str = Form("/")
    ) -> Response:
        caller = authenticate(token.strip())
        if caller is None or caller.role == "citizen":
            return pages.render(
                request, "signin_staff.html", status=401, next=safe_next(next), refused=True
            )
        response = pages.redirect(request, safe_next(next))
        set_session(response, request, region, token.strip(), max_age=STAFF_SESSION_SECONDS)
        return response

    @r.post("/signout")
    def signout(request: Request) -> Response:
        session = getattr(request.state, "session", None)
        caller: Caller | None = getattr(request.state, "caller", None)
        if session and caller is not None and caller.role == "citizen":
            end_session(session)
        response = pages.redirect(request, "/")
        clear_session(response, request, region)
        return response

    return r
