"""What every node serves to a browser: static files and the API documentation.

Browser libraries are vendored from npm under ``static/vendor`` (``scripts/vendor_web.py``
rebuilds them from ``vendor/package-lock.json``; ``static/vendor/VENDORED.json`` lists each
file with its package, version and SHA-256), so no page loads anything from a CDN and a node
with no internet serves complete pages.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "install_docs"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_SWAGGER = "/static/vendor/swagger-ui-dist"


def install_docs(app: FastAPI, *, title: str, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/static`` and Swagger UI at ``/docs`` from the package (FastAPI's ``docs_url``
    must be None: its page loads Swagger UI from a CDN)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        # A node mounted under a prefix (a region the hub hosts) links under that prefix.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{title} — API",
            swagger_js_url=f"{root}{_SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{_SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{root}{_SWAGGER}/favicon-32x32.png",
            # Swagger UI would otherwise fetch a badge from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
