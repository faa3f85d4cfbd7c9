"""The pages' words in Chinese (the default) and English.

One catalogue: a key names a text, each text has ``zh`` and ``en``. Templates call ``t(key)``;
scripts get the texts they need as a JSON data block in the page (``<script
type="application/json" id="texts">``, which is data, not code, so the CSP allows it).
A key missing in a language falls back to the other, and a test checks that none is missing.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["LANGS", "TEXTS", "Translator", "add_texts"]

LANGS = ("zh", "en")

TEXTS: dict[str, dict[str, str]] = {
    "app.name": {"zh": "一码通", "en": "yimatong"},
    "nav.skip": {"zh": "跳到正文", "en": "Skip to content"},
    "nav.lang": {"zh": "English", "en": "中文"},
    "nav.large": {"zh": "大字模式", "en": "Large text"},
    "nav.normal": {"zh": "标准字号", "en": "Normal text"},
    "nav.signout": {"zh": "退出登录", "en": "Sign out"},
    "nav.docs": {"zh": "接口文档", "en": "API docs"},
    "error.title": {"zh": "出错了", "en": "Something went wrong"},
    "error.back": {"zh": "返回", "en": "Back"},
    "colour.green": {"zh": "绿码", "en": "green"},
    "colour.yellow": {"zh": "黄码", "en": "yellow"},
    "colour.red": {"zh": "红码", "en": "red"},
    "colour.unknown": {"zh": "未知", "en": "unknown"},
    "node.issuer": {"zh": "发码平台", "en": "issuer"},
    "node.hub": {"zh": "国家平台", "en": "national hub"},
    "node.hosted": {"zh": "国家平台托管", "en": "hosted by the national hub"},
    "docs.title": {"zh": "接口文档", "en": "API documentation"},
}


def add_texts(texts: Mapping[str, Mapping[str, str]]) -> None:
    """Add a page group's texts to the catalogue (at import of its module)."""
    for key, value in texts.items():
        if key in TEXTS and TEXTS[key] != dict(value):
            raise ValueError(f"text {key!r} is defined twice, differently")
        TEXTS[key] = dict(value)


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else "zh"

    def __call__(self, key: str, **values: object) -> str:
        entry = TEXTS.get(key)
        if entry is None:
            return key
        text = entry.get(self.lang) or next(iter(entry.values()))
        return text.format(**values) if values else text

    def subset(self, prefix: str) -> dict[str, str]:
        """Every text whose key starts with ``prefix``, in this language (for scripts)."""
        return {k: self(k) for k in TEXTS if k.startswith(prefix)}
