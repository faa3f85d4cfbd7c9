"""/docs works with no internet: Swagger UI and its assets come from the package, not a CDN."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.integration.conftest import Issuer, _settings
from yimatong.hub.app import build_hub
from yimatong.web import STATIC_DIR

_LINK = re.compile(r"""(?:src|href|data-openapi)\s*=\s*["']([^"']+)["']""")
_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)


def assert_docs_are_self_contained(client: TestClient, prefix: str = "") -> None:
    r = client.get(f"{prefix}/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    links = _LINK.findall(page)
    assert len(links) >= 5, links  # css, favicon, bundle, its start script, the OpenAPI document
    for link in links:
        assert link.startswith(f"{prefix}/"), f"{link} is not served by this node"
        assert client.get(link).status_code == 200, link
    assert "://" not in page  # no absolute URL at all
    scripts = list(_SCRIPT.finditer(page))
    assert scripts and all("src=" in m["attrs"] and not m["body"].strip() for m in scripts)
    assert "script-src 'self'" in r.headers["content-security-policy"]  # no inline script
    start = client.get(f"{prefix}/static/js/swagger-init.js").text
    assert "validatorUrl: null" in start  # no badge fetched from validator.swagger.io


def test_the_issuers_docs_need_no_internet(issuer: Issuer) -> None:
    assert_docs_are_self_contained(issuer.client)


def test_the_hubs_docs_need_no_internet(db_url: str, tmp_path: Path, clock: Any) -> None:
    hub = build_hub(_settings(db_url, tmp_path, "hub", "000000"), clock=clock)
    try:
        with TestClient(hub.app) as client:
            assert_docs_are_self_contained(client)
    finally:
        hub.close()


ROOT = Path(__file__).parents[2]


def test_each_vendored_file_names_its_package_and_version() -> None:
    lock = json.loads((ROOT / "vendor" / "package-lock.json").read_text(encoding="utf-8"))
    manifest = json.loads((ROOT / "vendor" / "package.json").read_text(encoding="utf-8"))
    folders = {STATIC_DIR / "vendor", ROOT / "tests" / "browser" / "vendor"}
    seen = set()
    for folder in folders:
        vendored = json.loads((folder / "VENDORED.json").read_text(encoding="utf-8"))
        for package, entry in vendored.items():
            seen.add(package)
            assert lock["packages"][f"node_modules/{package}"]["version"] == entry["version"]
            for name, digest in entry["files"].items():
                path = folder / package / name
                assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
                if path.suffix in (".js", ".mjs", ".css"):
                    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
                    assert f"{package}@{entry['version']}" in first, first
    assert seen == set(manifest["yimatong-vendor"])
