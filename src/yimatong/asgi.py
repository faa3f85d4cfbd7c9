"""ASGI entry for ``yimatong serve`` (a uvicorn factory); settings come from the environment."""

from __future__ import annotations

import os

from starlette.types import ASGIApp

__all__ = ["create_app"]


def create_app() -> ASGIApp:
    from yimatong.config import Settings
    from yimatong.logs import configure

    # Each worker process is a fresh interpreter: it sets up its own logging.
    configure(os.environ.get("YMT_LOG_LEVEL", "info"))
    settings = Settings.from_environ(os.environ)
    if settings.role == "hub":
        from yimatong.hub.app import build_hub

        return build_hub(settings, migrate=False, hosted=settings.hosted).app
    if settings.role == "road":
        from yimatong.roadnode.app import build_road

        return build_road(settings, migrate=False).app
    if settings.role == "legacy":
        from yimatong.legacy.app import build_legacy

        return build_legacy(settings).app
    from yimatong.bootstrap import build_issuer

    return build_issuer(settings, migrate=False).app
