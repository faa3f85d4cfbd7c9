"""What every node serves to a browser: static files and the API documentation.

Browser libraries are vendored from npm under ``static/vendor`` (``scripts/vendor_web.py``
rebuilds them from ``vendor/package-lock.json``; ``static/vendor/VENDORED.json`` lists each
file with its package, version and SHA-256), so no page loads anything from a CDN and a node
with no internet serves complete pages.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "install_docs"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_SWAGGER = "/static/vendor/swagger-ui-dist"


#: /docs only: Swagger UI sets style attributes, so its page allows inline styles (never script).
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_DOCS = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(("html",)),
).get_template("docs.html")


def install_docs(app: FastAPI, *, title: str, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/static`` and Swagger UI at ``/docs`` from the package (FastAPI's ``docs_url``
    must be None: its page loads Swagger UI from a CDN and starts it with inline script)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        # A node mounted under a prefix (a region the hub hosts) links under that prefix.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        html = _DOCS.render(
            title=title,
            openapi=root + openapi_url,
            swagger=f"{root}{_SWAGGER}",
            static=f"{root}/static",
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP})
