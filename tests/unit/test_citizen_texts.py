"""The citizen pages' words: every text in both languages, every key a template names exists,
and every key the pages build from data (roles, statuses, symptoms) is there too."""

from __future__ import annotations

import re
from pathlib import Path

from yimatong.web import citizen, citizen_texts
from yimatong.web.i18n import TEXTS

TEMPLATES = Path(citizen_texts.__file__).parent / "templates" / "citizen"
SCRIPT = Path(citizen_texts.__file__).parent / "static" / "js" / "citizen" / "code.mjs"


def test_every_citizen_text_is_in_chinese_and_english() -> None:
    keys = [k for k in TEXTS if k.startswith("citizen.")]
    assert len(keys) > 100
    for key in keys:
        assert TEXTS[key].get("zh") and TEXTS[key].get("en"), key


def test_every_literal_key_the_templates_and_the_script_use_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z0-9_.]+)'", template.read_text(encoding="utf-8")))
    used |= set(re.findall(r'"(citizen\.[a-z_.]+)"', SCRIPT.read_text(encoding="utf-8")))
    assert used, "no keys found"
    assert sorted(k for k in used if k not in TEXTS and not k.endswith(".")) == []


def test_keys_built_from_data_exist() -> None:
    built = [f"citizen.symptom.{s}" for s in citizen.SYMPTOMS]
    roles = ("staff", "admin", "authority", "node", "checkpoint", "citizen", "anonymous")
    built += [f"citizen.role.{r}" for r in roles]
    built += [f"citizen.status.{s}" for s in ("pending", "accepted", "rejected")]
    built += [f"citizen.consent.{c}" for c in ("registered", "phone", "sms", "staff", "unverified")]
    built += [f"citizen.meaning.{c}" for c in ("green", "yellow", "red")]
    built += [f"citizen.withheld.{w}" for w in ("checks", "shared", "reads")]
    assert [k for k in built if k not in TEXTS] == []
