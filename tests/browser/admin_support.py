"""What the admin pages' browser tests share: sign-in, axe under the CSP, screenshots.

``axe`` runs axe-core through the DevTools protocol (``page.evaluate``) rather than an injected
``<script>``: the pages' Content-Security-Policy refuses inline script, which is the point of
it, and ``Tab.axe``'s ``add_script_tag`` is refused with it. Screenshots go to
``$YMT_SCREENSHOTS`` when it is set (never committed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.browser.conftest import AXE, Tab

__all__ = ["axe", "shot", "sign_in"]


def axe(tab: Tab) -> list[dict[str, Any]]:
    """Serious or critical accessibility violations (axe-core, WCAG 2.1 A and AA)."""
    page = tab.page
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"][:3]]}
        for v in result
        if v.get("impact") in ("serious", "critical")
    ]


def shot(tab: Tab, name: str) -> None:
    folder = os.environ.get("YMT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(Path(folder) / f"admin-{name}.png"), full_page=True)


def sign_in(tab: Tab, base: str, token: str, path: str = "/admin") -> None:
    """Open ``path``, get the sign-in page, paste the credential, come back to ``path``."""
    page = tab.page
    page.goto(base + path)
    page.get_by_label("凭证").fill(token)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + path)
