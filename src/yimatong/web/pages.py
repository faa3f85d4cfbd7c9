"""Server-rendered pages: one Jinja2 environment, and the context every page gets.

Pages are plain HTML that works without script (forms post to the page routes, which call
the same use cases as the API and redirect); small ES modules add what only a browser can do
(drawing a QR, the camera, offline decisions). Every page gets: ``t`` (the words in the
reader's language), ``url`` (a path under the node's prefix: a region the hub hosts serves
its pages under ``/regions/{region}``), ``static``, the CSRF token of the session, the
reader's language and text size, and the node's name. Preferences live in two small cookies
set by ``GET /prefs``; no page puts personal data in a URL or a title.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from yimatong.domain.errors import InvalidInput
from yimatong.domain.regions import Divisions
from yimatong.web.i18n import LANGS, Translator
from yimatong.web.session import csrf_token

__all__ = ["LANG_COOKIE", "SIZE_COOKIE", "Pages", "divisions_name", "page_session", "safe_next"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANG_COOKIE = "ymt_lang"
SIZE_COOKIE = "ymt_size"


def page_session(request: Request) -> str | None:
    """The session token behind this request's cookie (set by authentication), if any."""
    token = getattr(request.state, "session", None)
    return token if isinstance(token, str) else None


def divisions_name(divisions: Divisions, region: str) -> str:
    """The node's name for its pages: the region's name (浙江省), or the code if unknown."""
    if region == "000000":
        return "国家平台"
    try:
        return str(divisions.validate_area(region).name)
    except InvalidInput:  # an unknown code still serves pages, under its number
        return region


def safe_next(value: str | None, default: str = "/") -> str:
    """A path on this node to go back to; anything else (another host, a scheme) → default."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


class Pages:
    """Render the node's pages. ``session`` gives the request's session token, if any."""

    def __init__(
        self,
        *,
        node_title: str,
        node_kind: str,
        session: Callable[[Request], str | None],
    ) -> None:
        self.node_title = node_title
        self.node_kind = node_kind
        self._session = session
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(("html",)),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    @staticmethod
    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def context(self, request: Request) -> dict[str, Any]:
        lang = request.cookies.get(LANG_COOKIE, "zh")
        lang = lang if lang in LANGS else "zh"
        root = self.root(request)
        here = request.url.path[len(root) :] or "/"
        if request.url.query:
            here += "?" + request.url.query
        session = self._session(request)
        t = Translator(lang)
        return {
            "t": t,
            "lang": lang,
            "other_lang": "en" if lang == "zh" else "zh",
            "large": request.cookies.get(SIZE_COOKIE) == "large",
            "url": lambda path="/": root + path,
            "static": lambda path: f"{root}/static/{path}",
            "here": quote(here, safe="/?=&"),
            "csrf": csrf_token(session) if session else "",
            "signed_in": session is not None,
            "caller": getattr(request.state, "caller", None),
            "node_title": self.node_title,
            "node_kind": self.node_kind,
            # for scripts: ``{{ texts('checkpoint.') | tojson }}`` in a JSON data block
            "texts": t.subset,
        }

    def render(
        self, request: Request, name: str, *, status: int = 200, **values: Any
    ) -> HTMLResponse:
        context = self.context(request)
        context.update(values)
        html = self.env.get_template(name).render(context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def redirect(self, request: Request, path: str) -> Response:
        return RedirectResponse(self.root(request) + path, status_code=303)

    def prefs(self, request: Request) -> Response:
        """``GET /prefs?lang=en&size=large&next=/path``: remember, then go back."""
        response = self.redirect(request, safe_next(request.query_params.get("next")))
        path = self.root(request) or "/"
        lang = request.query_params.get("lang")
        if lang in LANGS:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=path,
                                samesite="lax")  # fmt: skip
        size = request.query_params.get("size")
        if size in ("large", "normal"):
            response.set_cookie(SIZE_COOKIE, size, max_age=365 * 86400, path=path,
                                samesite="lax")  # fmt: skip
        return response
