"""The road node's pages (docs/road.md, "Pages"): the map, a cell's history, the work-order
board and the dashboard. Server-rendered HTML; the map draws the network and the non-green
cells from the node's own vector data (``/v1/road/network``, ``/v1/road/cells``) in SVG with
one script of its own (``static/js/road/map.js``) — no tile server, nothing from elsewhere.

The map, a cell's history and the dashboard are public; the board is for a team (its own
orders), a department (its defect types) and the administrator — anyone else is sent to sign
in with a credential (``/signin/staff``), a wrong role gets the sign-in form with 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from yimatong.credentials import Caller
from yimatong.domain.errors import NotFound
from yimatong.roadnode.service import RoadService
from yimatong.web.i18n import add_texts
from yimatong.web.pages import Pages

__all__ = ["ROAD_PAGE_PUBLIC_PATHS", "road_pages"]

ROAD_PAGE_PUBLIC_PATHS = frozenset(
    {
        "GET /",
        "GET /road/cells/{cell}",
        "GET /road/dashboard",
        "GET /road/orders",
        "GET /road/report",
    }
)

CellText = Annotated[str, Path(pattern=r"^[0-9]{2}:[0-9]{1,7}:[0-9]{1,8}$")]

add_texts(
    {
        "road.title": {"zh": "路面健康码", "en": "Road-condition code"},
        "road.map": {"zh": "路面地图", "en": "Road map"},
        "road.map_hint": {
            "zh": "每个非绿色的 1 平方米单元格以其颜色标出；点击查看其历史。",
            "en": "Every cell that is not green is marked in its colour; select one for its "
            "history.",
        },
        "road.filter": {"zh": "筛选", "en": "Filter"},
        "road.defect": {"zh": "病害类型", "en": "Defect type"},
        "road.severity": {"zh": "最低严重程度", "en": "At least"},
        "road.any": {"zh": "全部", "en": "Any"},
        "road.cells": {"zh": "非绿色单元格", "en": "Cells that are not green"},
        "road.cell": {"zh": "单元格", "en": "Cell"},
        "road.colour": {"zh": "颜色", "en": "Colour"},
        "road.order": {"zh": "工单", "en": "Work order"},
        "road.none": {"zh": "没有非绿色单元格。", "en": "No cell is other than green."},
        "road.history": {"zh": "单元格历史", "en": "Cell history"},
        "road.road": {"zh": "道路", "en": "Road"},
        "road.team": {"zh": "养护班组", "en": "Team"},
        "road.findings": {"zh": "确认的病害", "en": "Confirmed findings"},
        "road.observations": {"zh": "观测", "en": "Observations"},
        "road.orders": {"zh": "工单看板", "en": "Work-order board"},
        "road.dashboard": {"zh": "仪表盘", "en": "Dashboard"},
        "road.to_confirmation": {
            "zh": "从首次观测到确认（小时）",
            "en": "First observation to confirmed finding (hours)",
        },
        "road.to_repair": {
            "zh": "从首次观测到修复（小时）",
            "en": "First observation to repair (hours)",
        },
        "road.median": {"zh": "中位数", "en": "median"},
        "road.mean": {"zh": "平均", "en": "mean"},
        "road.count": {"zh": "数量", "en": "count"},
        "road.ruleset": {"zh": "规则集", "en": "Rule set"},
        "road.deadline": {"zh": "期限", "en": "Deadline"},
        "road.status.dispatched": {"zh": "已派单", "en": "Dispatched"},
        "road.status.on_site": {"zh": "已到场", "en": "On site"},
        "road.status.repaired": {"zh": "已修复", "en": "Repaired"},
        "road.status.verified": {"zh": "已复核", "en": "Verified"},
        "road.colour.red": {"zh": "红", "en": "red"},
        "road.colour.yellow": {"zh": "黄", "en": "yellow"},
        "road.colour.green": {"zh": "绿", "en": "green"},
        "road.report": {"zh": "随手拍：报告路面颠簸", "en": "Report a jolt on the road"},
        "road.report_hint": {
            "zh": "手机感到颠簸时报告位置（可附照片，只上传其 SHA-256）。"
            "报告在确认病害后获得积分，每个病害只计一次。",
            "en": "Report where your phone felt a jolt (a photo may go with it: only its SHA-256 "
            "is sent). A report earns points once a finding is confirmed, once per finding.",
        },
        "road.lon": {"zh": "经度", "en": "Longitude"},
        "road.lat": {"zh": "纬度", "en": "Latitude"},
        "road.magnitude": {"zh": "颠簸强度（g）", "en": "Jolt (g)"},
        "road.photo": {"zh": "照片（可选）", "en": "Photo (optional)"},
        "road.send": {"zh": "报告", "en": "Report"},
        "road.sent": {"zh": "已收到，谢谢！", "en": "Received, thank you!"},
        "road.my_points": {"zh": "我的积分", "en": "My points"},
        "road.synthetic": {
            "zh": "合成路网：不对应任何真实街道。",
            "en": "A synthetic network: no road is a real street.",
        },
    }
)


def road_pages(pages: Pages, service: RoadService) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/")
    def map_page(request: Request) -> Response:
        return pages.render(
            request,
            "road/map.html",
            network=service.network,
            defects=sorted(service.catalogue.codes),
        )

    @r.get("/road/cells/{cell}")
    async def cell_page(request: Request, cell: CellText) -> Response:
        try:
            history = await run_in_threadpool(service.cell_history, cell)
        except NotFound:
            return pages.render(request, "road/cell.html", status=404, history=None, cell=cell)
        return pages.render(request, "road/cell.html", history=history, cell=cell)

    @r.get("/road/orders")
    async def board(request: Request) -> Response:
        caller: Caller | None = request.state.caller
        if caller is None:
            return pages.redirect(request, "/signin/staff?next=/road/orders")
        if caller.role == "admin":
            team, defects = None, None
        elif caller.role == "team" and caller.scope:
            team, defects = caller.scope, None
        elif caller.role == "department" and caller.scope and caller.scope in service.departments:
            team, defects = None, service.departments[caller.scope]
        else:
            return pages.render(
                request, "signin_staff.html", status=403, next="/road/orders", refused=True
            )
        orders = await run_in_threadpool(
            lambda: service.work_orders(team=team, defects=defects)["work_orders"]
        )
        columns = {s: [o for o in orders if o["status"] == s]
                   for s in ("dispatched", "on_site", "repaired", "verified")}  # fmt: skip
        return pages.render(request, "road/orders.html", columns=columns)

    @r.get("/road/report")
    def report(request: Request) -> Response:
        lons = [lon for road in service.network.roads for lon, _ in road.points]
        lats = [lat for road in service.network.roads for _, lat in road.points]
        centre = ((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
        return pages.render(request, "road/report.html", centre=centre)

    @r.get("/road/dashboard")
    async def dashboard(request: Request) -> Response:
        figures = await run_in_threadpool(service.dashboard)
        return pages.render(
            request, "road/dashboard.html", figures=figures, ruleset=service.ruleset_json()
        )

    return r
