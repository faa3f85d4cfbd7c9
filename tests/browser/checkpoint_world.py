"""A federation for the checkpoint page's browser tests: the hub (serving the page) and the
Zhejiang issuer in-process, the hub over loopback for Chromium, on a clock that follows real
time (the browser's clock is real: a code must not be expired by the time it is typed)."""

from __future__ import annotations

import base64
import itertools
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.browser.conftest import LiveServer, Tab
from tests.conftest import FakeClock
from tests.integration.conftest import DATA_KEY, SECRET, make_id
from tests.integration.modes_support import Federation, federation
from yimatong.adapters.db.tables import hub_feed
from yimatong.bootstrap import Node, build_issuer
from yimatong.config import Settings
from yimatong.credentials import add_credential
from yimatong.hub.policies import EntryPolicies
from yimatong.verifier.demo import demo_policy_entries

SCREENSHOTS = os.environ.get("YMT_SCREENSHOTS")


class LiveClock(FakeClock):
    """Real time, plus whatever the test adds (``advance``)."""

    def __init__(self) -> None:
        super().__init__(datetime.now(UTC))
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> datetime:
        self.offset += timedelta(**kwargs)
        return self()


@dataclass
class World:
    fed: Federation
    server: LiveServer
    clock: LiveClock

    @property
    def url(self) -> str:
        return self.server.url

    def code(self, phone: str = "13800000001") -> str:
        """A fresh dynamic code of a new (green) Zhejiang citizen."""
        me, sid = self.fed.zj_citizen(phone=phone, id_number=make_id(seq=phone[-3:]))
        return str(self.fed.zj_code(me, sid)["code"])

    def scans_at_hub(self, checkpoint: str | None = None) -> int:
        stmt = select(func.count()).select_from(hub_feed).where(hub_feed.c.kind == "scan")
        with self.fed.hub.db.read() as conn:
            rows = conn.execute(select(hub_feed.c.body).where(hub_feed.c.kind == "scan")).all()
            total = int(conn.execute(stmt).scalar_one())
        if checkpoint is None:
            return total
        return sum(1 for (body,) in rows if body.get("checkpoint") == checkpoint)

    def credential(self, name: str, role: str = "checkpoint", scope: str | None = "520000") -> str:
        with self.fed.hub.db.uow() as uow:
            token = add_credential(
                uow.conn,
                name=name,
                role=role,
                now=self.clock(),
                rng=random.Random(name),
                scope=scope,
            )
            uow.commit()
        return token


@dataclass
class RelayIssuer:
    """The Guizhou issuer (520000) with a link to the in-process hub, for its relay."""

    node: Node
    checkpoint: str  # a checkpoint credential of this issuer
    staff: str
    hub_name: str  # the name of its node credential at the hub


_RELAYS = itertools.count(1)


@contextmanager
def relay_issuer(fed: Federation, state: Path) -> Iterator[RelayIssuer]:
    hub_name = f"node-520000-{next(_RELAYS)}"
    with fed.hub.db.uow() as uow:
        outbound = add_credential(
            uow.conn,
            name=hub_name,
            role="node",
            now=fed.clock(),
            rng=random.Random(hub_name),
            scope="520000",
        )
        uow.commit()
    hub_key = base64.b64encode(fed.ctx.hub_key().public.spki_der()).decode("ascii")
    settings = Settings.from_environ(
        {
            "YMT_ROLE": "issuer",
            "YMT_REGION": "520000",
            "YMT_STATE_DIR": str(state / "gz"),
            "YMT_DB_URL": f"sqlite:///{state / 'gz.db'}",
            "YMT_FEDERATION_SECRET": SECRET,
            "YMT_DATA_KEYS": DATA_KEY,
            "YMT_HUB_URL": "http://hub.test",
            "YMT_HUB_TOKEN": outbound,
            "YMT_HUB_KEY": hub_key,
        }
    )
    node = build_issuer(
        settings, clock=fed.clock, rng=random.Random(9), hub_client=fed.http, start_sync=False
    )
    try:
        with node.db.uow() as uow:
            checkpoint = add_credential(
                uow.conn,
                name="gz-gate-1",
                role="checkpoint",
                now=fed.clock(),
                rng=random.Random("gz-cp"),
                scope="520000",
            )
            staff = add_credential(
                uow.conn, name="gz-staff", role="staff", now=fed.clock(), rng=random.Random("gz-s")
            )
            uow.commit()
        yield RelayIssuer(node, checkpoint, staff, hub_name)
    finally:
        node.close()


@contextmanager
def checkpoint_world(state: Path) -> Iterator[World]:
    clock = LiveClock()
    with federation(
        hub_db=f"sqlite:///{state / 'hub.db'}",
        zj_db=f"sqlite:///{state / 'zj.db'}",
        legacy_db=f"sqlite:///{state / 'hb.db'}",
        state=state,
        clock=clock,
    ) as fed:
        EntryPolicies(fed.ctx).seed(demo_policy_entries())
        with LiveServer(fed.hub.app) as server:
            yield World(fed, server, clock)


@contextmanager
def camera_browser(browser: Any, video: Path) -> Iterator[Any]:
    """A Chromium of its own whose camera plays ``video`` (a Y4M file), permission granted."""
    from tests.browser.conftest import ARGS, CHROMIUM

    camera = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        yield camera
    finally:
        camera.close()


def sign_in(tab: Tab, base: str, token: str) -> None:
    page = tab.page
    page.goto(base + "/checkpoint")
    page.wait_for_url("**/signin/staff**")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/checkpoint")
    page.wait_for_selector("body[data-ready=yes]", timeout=20000)


def lists_ready(tab: Tab) -> None:
    tab.page.wait_for_function(
        "() => window.checkpoint && window.checkpoint.verifier.policy !== null", timeout=20000
    )


def scan(tab: Tab, code: str, temperature: str | None = None) -> dict[str, Any]:
    page = tab.page
    before = page.evaluate("() => window.checkpoint.results.length")
    page.fill("#code", code)
    if temperature is not None:
        page.fill("#temperature", temperature)
    page.click("#check")
    page.wait_for_function(f"() => window.checkpoint.results.length > {before}", timeout=20000)
    return {
        "outcome": page.get_attribute("#result", "data-outcome"),
        "mode": page.get_attribute("#result", "data-mode"),
        "ms": float(page.get_attribute("#result", "data-ms") or "nan"),
        "text": page.inner_text("#result"),
        "status": page.inner_text("#status"),
    }


def screenshot(tab: Tab, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(Path(SCREENSHOTS) / f"checkpoint-{name}.png"), full_page=True)


# ------------------------------------------------------------------------ QR images
QR_MATRIX = """async (code) => {
    const { default: qrcode } = await import(document.querySelector('meta[name=root]').content
                                             + '/static/vendor/qrcode-generator/qrcode.mjs');
    const qr = qrcode(0, 'M');
    qr.addData(code, 'Alphanumeric');
    qr.make();
    const n = qr.getModuleCount();
    return Array.from({length: n}, (_, r) => Array.from({length: n}, (_, c) => qr.isDark(r, c)));
}"""


def qr_matrix(tab: Tab, code: str) -> list[list[bool]]:
    """The QR modules of ``code``, drawn by the vendored qrcode-generator in the page."""
    matrix: list[list[bool]] = tab.page.evaluate(QR_MATRIX, code)
    return matrix


def qr_pixels(matrix: list[list[bool]], width: int, height: int, scale: int = 6) -> list[bytearray]:
    """Rows of 8-bit grey pixels: the QR (with a 4-module quiet zone) centred on white."""
    side = (len(matrix) + 8) * scale
    left, top = (width - side) // 2, (height - side) // 2
    rows = []
    for y in range(height):
        row = bytearray(b"\xff" * width)
        my = (y - top) // scale - 4
        if 0 <= my < len(matrix):
            for mx, dark in enumerate(matrix[my]):
                if dark:
                    x = left + (mx + 4) * scale
                    row[x : x + scale] = b"\x00" * scale
        rows.append(row)
    return rows


def write_png(path: Path, rows: list[bytearray]) -> None:
    """A greyscale PNG (8 bits), no library needed."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    width, height = len(rows[0]), len(rows)
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def write_y4m(path: Path, rows: list[bytearray], frames: int = 10) -> None:
    """A Y4M video (4:2:0) of ``rows`` as its luma, grey chroma: Chromium's fake camera."""
    width, height = len(rows[0]), len(rows)
    luma = b"".join(bytes(r) for r in rows)
    chroma = b"\x80" * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
