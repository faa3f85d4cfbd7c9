"""Routes: filled in by the work on this part (see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

__all__ = ["router"]


def router(ctx: Any) -> APIRouter:
    return APIRouter()
