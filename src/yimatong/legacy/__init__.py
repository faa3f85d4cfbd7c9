"""A faithful imitation of a pre-standard provincial health code: 湖北健康码 (HBJKM), 420000.

The federation's demo includes a region whose code predates GB/T 38961-38963 and cannot be
changed. This package *is* that system — its own code format (``HBJKM:`` + 32 hex), its own JSON
API with pinyin field names and ``errcode``/``errmsg`` answers, its own partner authentication,
its own tables — so that the hub's adapter (:mod:`yimatong.adapters.legacy_hbjkm`) is tested
against something real over HTTP. Nothing in yimatong proper imports it except the wiring of
``yimatong serve --role legacy`` and the demo. See ``docs/legacy.md``.

    build_legacy(settings, clock=..., rng=..., app_keys=None) -> Node
    register_person(store, name=, id_number=, phone=, status=, ..., now=, rng=) -> (user_id, code)
    issue_code(store, user_id, now=, rng=) -> (code, expires)
"""

from __future__ import annotations

from yimatong.legacy.app import LegacyService, build_legacy, legacy_app, open_store
from yimatong.legacy.auth import (
    APPS_FILE,
    SCOPES,
    SECRETS_FILE,
    LegacyApp,
    load_or_create_apps,
    sign,
)
from yimatong.legacy.store import (
    BEIJING,
    CARD_TYPES,
    CODE_LIFETIME,
    CODE_PREFIX,
    STATUSES,
    TEST_RESULTS,
    ErrCode,
    LegacyError,
    LegacyStore,
    format_time,
    issue_code,
    metadata,
    register_person,
)

__all__ = [
    "APPS_FILE",
    "BEIJING",
    "CARD_TYPES",
    "CODE_LIFETIME",
    "CODE_PREFIX",
    "SCOPES",
    "SECRETS_FILE",
    "STATUSES",
    "TEST_RESULTS",
    "ErrCode",
    "LegacyApp",
    "LegacyError",
    "LegacyService",
    "LegacyStore",
    "build_legacy",
    "format_time",
    "issue_code",
    "legacy_app",
    "load_or_create_apps",
    "metadata",
    "open_store",
    "register_person",
    "sign",
]
