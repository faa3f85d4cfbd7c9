"""The checkpoint page at ``/checkpoint`` of every node (issuer and hub).

A checkpoint worker signs in with a checkpoint credential (``/signin/staff``); the page asks
where it stands (region, area, kind of place, gate name), remembers that on the device, and
scans: camera, photo, a typed code or ID number, with the temperature at the gate. Every
decision is made in the browser (``static/js/checkpoint/``) over the same facts and the same
entry policy as ``yimatong verify``, online and offline: the signed lists live in IndexedDB and
are checked against the hub key pinned below, a service worker keeps the page and its files.

The page talks only to its own node: on the hub, to the hub's API; on an issuer, to the
issuer's relay of the hub's calls (``issuer/api_relay.py``). This module renders; it decides
nothing and reads no one's data (docs/pages.md).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from yimatong.adapters.crypto import VerifyingKey
from yimatong.credentials import Caller
from yimatong.web.i18n import add_texts
from yimatong.web.pages import Pages

__all__ = ["CHECKPOINT_PUBLIC_PATHS", "HUB_API", "RELAY_API", "checkpoint_pages", "key_entry"]

#: Anyone may open these (the page itself asks for sign-in; the worker is the page's code).
CHECKPOINT_PUBLIC_PATHS = frozenset({"GET /checkpoint", "GET /checkpoint/sw.js"})
#: The calls the page makes on the hub: the hub's own API.
HUB_API = {
    "trust": "/v1/trust-list",
    "risk": "/v1/risk-areas",
    "international": "/v1/international-trust",
    "policies": "/v1/policies",
    "verify": "/v1/codes/verify",
    "lookup": "/v1/lookups",
    "scans": "/v1/scans",
}
#: The same calls on an issuer: its relay to the hub.
RELAY_API = {
    "trust": "/v1/hub/trust-list",
    "risk": "/v1/hub/risk-areas",
    "international": "/v1/hub/international-trust",
    "policies": "/v1/hub/policies",
    "verify": "/v1/hub/codes/verify",
    "lookup": "/v1/hub/lookups",
    "scans": "/v1/hub/scans",
}
#: Roles that may use the page (the API checks the role of every call again).
ROLES = ("checkpoint",)

_WORKER = Path(__file__).resolve().parent / "static" / "js" / "checkpoint" / "sw.js"

add_texts(
    {
        "checkpoint.title": {"zh": "核验点", "en": "Checkpoint"},
        "checkpoint.noscript": {
            "zh": "核验页面需要浏览器脚本（摄像头、离线核验）。"
            "请启用 JavaScript，或使用 yimatong verify 命令。",
            "en": "This page needs JavaScript (camera, offline decisions). Enable it, or use "
            "the yimatong verify command.",
        },
        "checkpoint.wrong_role": {
            "zh": "此页面只供核验点凭证使用。",
            "en": "This page is for checkpoint credentials only.",
        },
        "checkpoint.status": {"zh": "连接状态", "en": "Connection"},
        "checkpoint.online": {"zh": "在线", "en": "online"},
        "checkpoint.offline": {"zh": "离线", "en": "offline"},
        "checkpoint.offline_note": {
            "zh": "本机根据已缓存并验证过签名的列表判定",
            "en": "deciding from the signed lists kept on this device",
        },
        "checkpoint.lists_age": {"zh": "列表更新于 {age}前", "en": "lists confirmed {age} ago"},
        "checkpoint.no_lists": {"zh": "本机尚无列表", "en": "no lists on this device yet"},
        "checkpoint.queue": {"zh": "待上传 {n} 条", "en": "{n} scans waiting for upload"},
        "checkpoint.code": {"zh": "健康码或证件号码", "en": "Health code or ID number"},
        "checkpoint.code_hint": {
            "zh": "扫码枪输入、粘贴健康码，或为无智能手机的人输入证件号码。",
            "en": "A scanner that types, a pasted code, or the ID number of someone without "
            "a smartphone.",
        },
        "checkpoint.temperature": {
            "zh": "现场体温（°C，可不填）",
            "en": "Temperature (°C, optional)",
        },
        "checkpoint.check": {"zh": "核验", "en": "Check"},
        "checkpoint.camera": {"zh": "摄像头扫码", "en": "Scan with the camera"},
        "checkpoint.camera_start": {"zh": "打开摄像头", "en": "Start the camera"},
        "checkpoint.camera_stop": {"zh": "关闭摄像头", "en": "Stop the camera"},
        "checkpoint.camera_failed": {
            "zh": "无法打开摄像头：{why}",
            "en": "The camera could not be started: {why}",
        },
        "checkpoint.photo": {"zh": "上传健康码照片", "en": "Upload a photo of a code"},
        "checkpoint.photo_none": {
            "zh": "照片中没有找到二维码",
            "en": "No QR code was found in the photo",
        },
        "checkpoint.result": {"zh": "核验结果", "en": "Result"},
        "checkpoint.mode_online": {"zh": "在线判定", "en": "decided online"},
        "checkpoint.mode_offline": {"zh": "离线判定", "en": "decided offline"},
        "checkpoint.policy": {"zh": "通行规则", "en": "Entry policy"},
        "checkpoint.issuer": {"zh": "发码地区", "en": "Issuing region"},
        "checkpoint.took": {"zh": "用时 {ms} 毫秒", "en": "took {ms} ms"},
        "checkpoint.settings": {"zh": "核验点设置", "en": "Where this checkpoint stands"},
        "checkpoint.settings_hint": {
            "zh": "保存在本设备上。地区决定适用的通行规则。",
            "en": "Kept on this device. The region decides which entry policy applies.",
        },
        "checkpoint.region": {"zh": "所在地区代码（6位）", "en": "Region code (6 digits)"},
        "checkpoint.area": {
            "zh": "街道/乡镇代码（9位，可不填）",
            "en": "Street or township code (9 digits, optional)",
        },
        "checkpoint.place_kind": {"zh": "场所类型", "en": "Kind of place"},
        "checkpoint.gate": {"zh": "核验点名称", "en": "Gate name"},
        "checkpoint.save": {"zh": "保存", "en": "Save"},
        "checkpoint.saved": {"zh": "已保存", "en": "Saved"},
        "checkpoint.unset": {
            "zh": "请先设置本核验点所在地区。",
            "en": "Set the region this checkpoint stands in first.",
        },
        "checkpoint.clock_refused": {
            "zh": "本机时钟不可信，离线判定已停止",
            "en": "this device's clock cannot be trusted: no offline decisions",
        },
    }
)


def key_entry(key: VerifyingKey) -> dict[str, Any]:
    """A hub key as the trust list writes it, for the page to pin."""
    return {
        "kid": key.kid.hex(),
        "alg": key.alg.value,
        "public_key": base64.b64encode(key.spki_der()).decode("ascii"),
    }


def checkpoint_pages(
    pages: Pages,
    *,
    node_kind: str,
    api: dict[str, str],
    hub_keys: Callable[[], Sequence[dict[str, Any]]],
    home_region: str | None = None,
) -> APIRouter:
    """The page and its service worker. ``hub_keys``: the hub keys this node trusts, as the
    trust list writes them (``kid``, ``alg``, ``public_key``), pinned by the page.
    ``home_region``: where a checkpoint of this node stands unless its credential's scope or
    its staff say otherwise (an issuer's own region; the hub has none)."""
    r = APIRouter(include_in_schema=False)

    @r.get("/checkpoint")
    def page(request: Request) -> Response:
        caller: Caller | None = getattr(request.state, "caller", None)
        if caller is None:
            return pages.redirect(request, "/signin/staff?next=/checkpoint")
        if caller.role not in ROLES:
            return pages.render(request, "checkpoint/wrong_role.html", status=403)
        root = pages.root(request)
        config = {
            "node": node_kind,
            "api": {k: root + v for k, v in api.items()},
            "hub_keys": list(hub_keys()),
            "checkpoint": caller.name,
            "scope": caller.scope,
            "home_region": home_region,
            "worker": root + "/checkpoint/sw.js",
            "worker_scope": root + "/checkpoint",
        }
        return pages.render(request, "checkpoint/page.html", config=config)

    @r.get("/checkpoint/sw.js")
    def worker(request: Request) -> Response:
        root = pages.root(request)
        body = _WORKER.read_text(encoding="utf-8").replace("__ROOT__", root)
        return Response(
            body,
            media_type="text/javascript",
            headers={"Service-Worker-Allowed": root + "/checkpoint", "Cache-Control": "no-cache"},
        )

    return r
