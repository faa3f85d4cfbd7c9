"""The admin pages' words: every text in both languages, every key a template names exists."""

from __future__ import annotations

import re
from pathlib import Path

from yimatong.web import admin_texts  # registers the texts
from yimatong.web.i18n import TEXTS

TEMPLATES = Path(admin_texts.__file__).parent / "templates" / "admin"


def test_every_admin_text_is_in_chinese_and_english() -> None:
    keys = [k for k in TEXTS if k.startswith(("admin.", "level.", "division.", "place."))]
    assert len(keys) > 150
    for key in keys:
        assert TEXTS[key].get("zh") and TEXTS[key].get("en"), key


def test_every_literal_key_the_admin_templates_use_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z0-9_.]+)'", template.read_text(encoding="utf-8")))
    assert used, "no keys found"
    missing = sorted(k for k in used if k not in TEXTS and not k.endswith("."))
    assert missing == []
