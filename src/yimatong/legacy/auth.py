"""How the HBJKM imitation authenticates partner apps, the way such gateways did.

Every call carries three headers:

* ``appKey`` — the partner app's public identifier;
* ``timestamp`` — milliseconds since the Unix epoch (Java's ``System.currentTimeMillis()``),
  accepted within ±5 minutes of the system's clock;
* ``sign`` — lower-case hex ``SHA-256(appKey + timestamp + appSecret)``.

The signature covers neither the body nor a nonce, so it proves only that the caller knows the
secret and that the call is recent: a captured request can be replayed for five minutes. That
is faithful to the systems imitated (they relied on a private line or TLS); it is documented in
``docs/legacy.md`` and is one reason the hub reaches such a system only through its adapter.

Partner apps carry scopes: ``validateInfo`` (验码), ``fullIdentity`` (the full card number in
the answer, for the national hub only), ``user`` (register, generate codes) and ``admin``
(set statuses and test results).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import random
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from yimatong.config import ConfigError
from yimatong.legacy.store import ErrCode, LegacyError

__all__ = [
    "APPS_FILE",
    "SCOPES",
    "SECRETS_FILE",
    "TIMESTAMP_WINDOW_MS",
    "LegacyApp",
    "authenticate",
    "load_or_create_apps",
    "load_or_create_index_key",
    "sign",
]

SCOPES: Final = frozenset({"validateInfo", "fullIdentity", "user", "admin"})
TIMESTAMP_WINDOW_MS: Final = 5 * 60 * 1000
APPS_FILE: Final = "legacy-apps.json"
SECRETS_FILE: Final = "legacy-secrets.json"


@dataclass(frozen=True)
class LegacyApp:
    """A partner app: its key, secret, a name for the operator, and its scopes."""

    app_key: str
    app_secret: str = field(repr=False)
    name: str
    scopes: frozenset[str]

    def __post_init__(self) -> None:
        if not self.app_key or not self.app_key.isascii() or not self.app_key.isprintable():
            raise ValueError("an appKey is printable ASCII")
        if len(self.app_secret) < 16:
            raise ValueError("an appSecret has at least 16 characters")
        unknown = set(self.scopes) - SCOPES
        if unknown:
            raise ValueError(f"unknown scopes {sorted(unknown)}; known: {sorted(SCOPES)}")

    def to_json(self) -> dict[str, Any]:
        return {
            "appKey": self.app_key,
            "appSecret": self.app_secret,
            "name": self.name,
            "scopes": sorted(self.scopes),
        }


def sign(app_key: str, timestamp: str, app_secret: str) -> str:
    """The ``sign`` header: lower-case hex SHA-256 of appKey + timestamp + appSecret."""
    return hashlib.sha256((app_key + timestamp + app_secret).encode("utf-8")).hexdigest()


def authenticate(
    apps: Mapping[str, LegacyApp], headers: Mapping[str, str], *, now: datetime, scope: str
) -> LegacyApp:
    """The calling app, or LegacyError: 40100 key, 40102 timestamp, 40101 sign, 40300 scope."""
    app = apps.get(headers.get("appKey", ""))
    if app is None:
        raise LegacyError(ErrCode.BAD_APP_KEY)
    timestamp = headers.get("timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
        raise LegacyError(ErrCode.BAD_TIMESTAMP)
    if abs(int(timestamp) - int(now.timestamp() * 1000)) > TIMESTAMP_WINDOW_MS:
        raise LegacyError(ErrCode.BAD_TIMESTAMP)
    expected = sign(app.app_key, timestamp, app.app_secret)
    if not hmac.compare_digest(headers.get("sign", "").lower().encode(), expected.encode()):
        raise LegacyError(ErrCode.BAD_SIGN)
    if scope not in app.scopes:
        raise LegacyError(ErrCode.NO_SCOPE)
    return app


# --------------------------------------------------------------------------- the secrets files


def load_or_create_apps(state_dir: Path, *, rng: random.Random) -> dict[str, LegacyApp]:
    """The partner apps from ``STATE_DIR/legacy-apps.json``, made on first start (mode 0600).

    A new file holds two apps: ``admin`` (scopes user, admin, validateInfo) for the operator
    and ``hub`` (validateInfo, fullIdentity) for the national hub.
    """

    def make() -> dict[str, Any]:
        admin = LegacyApp(
            app_key="hbjkm" + f"{rng.getrandbits(64):016x}",
            app_secret=f"{rng.getrandbits(128):032x}",
            name="admin",
            scopes=frozenset({"user", "admin", "validateInfo"}),
        )
        hub = LegacyApp(
            app_key="hbjkm" + f"{rng.getrandbits(64):016x}",
            app_secret=f"{rng.getrandbits(128):032x}",
            name="hub",
            scopes=frozenset({"validateInfo", "fullIdentity"}),
        )
        return {"apps": [admin.to_json(), hub.to_json()]}

    path = state_dir / APPS_FILE
    data = _load_or_create(path, make)
    try:
        apps = [
            LegacyApp(
                app_key=item["appKey"],
                app_secret=item["appSecret"],
                name=item["name"],
                scopes=frozenset(item["scopes"]),
            )
            for item in data["apps"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: malformed partner app list ({exc})") from None
    return {app.app_key: app for app in apps}


def load_or_create_index_key(state_dir: Path, *, rng: random.Random) -> bytes:
    """The key of the card index, from ``STATE_DIR/legacy-secrets.json`` (made on first start)."""
    path = state_dir / SECRETS_FILE
    data = _load_or_create(path, lambda: {"cardIndexKey": f"{rng.getrandbits(256):064x}"})
    try:
        key = bytes.fromhex(data["cardIndexKey"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{path}: cardIndexKey must be hex") from None
    if len(key) < 16:
        raise ConfigError(f"{path}: cardIndexKey must be at least 16 bytes")
    return key


def _load_or_create(path: Path, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Read a JSON secrets file, or create it atomically with mode 0600.

    Written to a temporary file and hard-linked into place, so that workers starting together
    either create the file whole or read the one another worker made.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(make(), f, indent=2)
            with contextlib.suppress(FileExistsError):  # another worker made it first
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data
