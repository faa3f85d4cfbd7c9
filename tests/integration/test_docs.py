"""/docs works with no internet: Swagger UI and its assets come from the package, not a CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.integration.conftest import Issuer, _settings
from yimatong.hub.app import build_hub
from yimatong.web import STATIC_DIR

_LINK = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


def assert_docs_are_self_contained(client: TestClient, prefix: str = "") -> None:
    r = client.get(f"{prefix}/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    links = [a or b for a, b in _LINK.findall(page)]
    assert len(links) >= 4, links  # css, favicon, bundle, the OpenAPI document
    for link in links:
        assert link.startswith(f"{prefix}/"), f"{link} is not served by this node"
        assert client.get(link).status_code == 200, link
    assert "://" not in page.replace("window.location", "")  # no absolute URL at all
    assert '"validatorUrl": null' in page  # no badge fetched from validator.swagger.io


def test_the_issuers_docs_need_no_internet(issuer: Issuer) -> None:
    assert_docs_are_self_contained(issuer.client)


def test_the_hubs_docs_need_no_internet(db_url: str, tmp_path: Path, clock: Any) -> None:
    hub = build_hub(_settings(db_url, tmp_path, "hub", "000000"), clock=clock)
    try:
        with TestClient(hub.app) as client:
            assert_docs_are_self_contained(client)
    finally:
        hub.close()


def test_each_vendored_file_names_its_package_and_version() -> None:
    vendored = json.loads((STATIC_DIR / "vendor" / "VENDORED.json").read_text(encoding="utf-8"))
    lock = json.loads(
        (Path(__file__).parents[2] / "vendor" / "package-lock.json").read_text(encoding="utf-8")
    )
    assert vendored
    for package, entry in vendored.items():
        assert lock["packages"][f"node_modules/{package}"]["version"] == entry["version"]
        for name in entry["files"]:
            path = STATIC_DIR / "vendor" / package / name
            assert path.is_file(), path
            if path.suffix in (".js", ".css"):
                first = path.read_text(encoding="utf-8").split("\n", 1)[0]
                assert f"{package}@{entry['version']}" in first, first
