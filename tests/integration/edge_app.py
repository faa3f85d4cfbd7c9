"""A tiny node for the edge tests that need a real server: ``uvicorn --factory`` serves it.

It has what every node has (``install_common``: problems, authentication, body limit, error
containment) and three routes of its own: one that fails, one FastAPI body, one raw body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.types import ASGIApp

from yimatong.credentials import Caller
from yimatong.web_common import install_common, json_body

LIMIT = 1000

PUBLIC = {"GET /healthz", "GET /boom", "POST /echo", "POST /raw", "GET /openapi.json"}


class Echo(BaseModel):
    text: str


def app() -> ASGIApp:
    api = FastAPI()

    def authenticate(token: str) -> Caller | None:
        return None

    wrap = install_common(api, authenticate=authenticate, body_limit=LIMIT, public_paths=PUBLIC)

    @api.get("/boom")
    def boom() -> dict[str, Any]:
        raise RuntimeError("a bug, with a name in its message: 张三")

    @api.post("/echo")
    def echo(body: Echo) -> dict[str, Any]:
        return {"length": len(body.text)}

    @api.post("/raw")
    async def raw(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        return {"keys": len(body)}

    return wrap(api)
