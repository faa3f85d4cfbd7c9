"""Node settings, read from an environment mapping that is passed in.

Nothing here reads ``os.environ`` by itself: ``Settings.from_environ(os.environ)`` is called
once, at the edge (the CLI), so tests build settings from plain dicts. Errors name the key.

| variable | meaning | default |
| --- | --- | --- |
| YMT_ROLE | issuer, hub, legacy or road | issuer |
| YMT_DISTRICT | road only: the district it serves (a built-in network) | xiacheng-synthetic |
| YMT_REGION | six-digit GB/T 2260 region code of the node | 330000 |
| YMT_STATE_DIR | where SQLite files, secrets and the demo SMS log live | ./var |
| YMT_DB_URL | SQLAlchemy URL; ``postgresql://`` means psycopg 3 | SQLite in the state dir |
| YMT_DB_READ_URL | a read replica for 验码's status reads (may lag the primary) | none |
| YMT_FEDERATION_SECRET | base64 key of the federation-wide sid HMAC | from the state dir |
| YMT_DATA_KEYS | field-encryption keys ``id:base64,...``, first is current | from the state dir |
| YMT_SMS_LOG | file the demo SMS gateway appends one-time codes to | STATE_DIR/sms.log |
| YMT_HUB_URL | the hub this node belongs to | none |
| YMT_MAX_BODY_BYTES | largest request body accepted | 65536 |
| YMT_RETENTION_DAYS | days a personal record is kept before it is purged | 30 |
| YMT_TRAVEL_DAYS | days the travel code (行程码) looks back | 14 |
| YMT_TRAVEL_MIN_STAY_MINUTES | least time in a city for the travel code to list it | 240 |
| YMT_TRACE_WINDOW_MINUTES | hub only: ± minutes around a case's scans a tracing query looks | 30 |
| YMT_TRACE_SEAT_ROWS | hub only: seat rows either side of a case's that make a co-traveller | 3 |
| YMT_CODE_ALG | signature algorithm of new keys: ed25519, p256, sm2 | ed25519 |
| YMT_HOSTED | hub only: regions it hosts in Mode 3, comma-separated | none |
| YMT_HUB_TOKEN | this node's credential at the hub | none |
| YMT_HOSTED_DB_{region} | hub only: a hosted region's database (needed on PostgreSQL) | SQLite |
| YMT_HUB_KEY | the hub's public key (base64 DER) to pin; else trust on first use | none |
| YMT_SYNC_INTERVAL | seconds between rounds of an issuer's sync with the hub | 5 |
| YMT_STH_INTERVAL | hub only: seconds between signed tree heads of its transparency log | 60 |
| YMT_OVERRIDE_HOURLY_LIMIT | issuer: manual colours (people an hour) before the hub approves | 20 |
| YMT_TRUSTED_PROXIES | proxies (addresses, networks) whose X-Forwarded-For counts | none |
| YMT_MAX_IN_FLIGHT | requests one worker serves at once; more wait or get 503 | 32 |
| YMT_QUEUE_BUDGET_MS | longest a request waits for a slot before it gets 503 | 20 |
| YMT_LIMIT_{NAME} | a per-client limit: ``20/m,200/h`` or ``off`` | domain/limits.py |
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from yimatong.domain.edge import is_digits
from yimatong.domain.limits import LIMITS, Rate, env_key, parse_rates

__all__ = ["ROLES", "ConfigError", "Settings", "load_or_create_secrets"]

ROLES = ("issuer", "hub", "legacy", "road")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the key."""


def _b64(value: str, key: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{key} must be base64") from None
    if len(raw) < 16:
        raise ConfigError(f"{key} must decode to at least 16 bytes")
    return raw


def _int(env: Mapping[str, str], key: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{key} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class Settings:
    role: str = "issuer"
    region: str = "330000"
    state_dir: Path = Path("var")
    db_url: str = ""
    federation_secret: bytes = b""
    data_keys: str = ""
    sms_log: Path | None = None
    hub_url: str | None = None
    max_body_bytes: int = 65536
    retention_days: int = 30
    travel_days: int = 14
    travel_min_stay_minutes: int = 240
    trace_window_minutes: int = 30
    trace_seat_rows: int = 3
    code_alg: str = "ed25519"
    hosted: tuple[str, ...] = ()
    hub_token: str | None = None
    hub_key: str | None = None
    sync_interval: float = 5.0
    #: hub only: how often the transparency log's leader signs a new tree head (if it grew)
    sth_interval: float = 60.0
    #: issuer only: people overridden per hour in the region before the hub must approve too
    override_hourly_limit: int = 20
    extra: Mapping[str, str] = field(default_factory=dict)
    #: reverse proxies (addresses or networks) whose X-Forwarded-For names the client
    trusted_proxies: tuple[str, ...] = ()
    #: per-client limits that differ from the defaults of ``domain/limits.py``
    limits: Mapping[str, tuple[Rate, ...]] = field(default_factory=dict)
    #: a read replica for the status reads of 验码 (``Database.replica``)
    db_read_url: str = ""
    #: admission control per worker (``yimatong.admission``)
    max_in_flight: int = 32
    queue_budget_ms: int = 20
    #: road only: the district (``road/data/network-<district>.json``)
    district: str = "xiacheng-synthetic"

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> Settings:
        role = env.get("YMT_ROLE", "issuer")
        if role not in ROLES:
            raise ConfigError(f"YMT_ROLE must be one of {', '.join(ROLES)}, got {role!r}")
        region = env.get("YMT_REGION", "330000")
        if not is_digits(region, 6):
            raise ConfigError(f"YMT_REGION must be a six-digit region code, got {region!r}")
        state_dir = Path(env.get("YMT_STATE_DIR", "var"))
        secret = env.get("YMT_FEDERATION_SECRET", "")
        alg = env.get("YMT_CODE_ALG", "ed25519")
        if alg not in ("ed25519", "p256", "sm2"):
            raise ConfigError(f"YMT_CODE_ALG must be ed25519, p256 or sm2, got {alg!r}")
        sms = env.get("YMT_SMS_LOG")
        hosted = tuple(r.strip() for r in env.get("YMT_HOSTED", "").split(",") if r.strip())
        for r in hosted:
            if not is_digits(r, 6):
                raise ConfigError(f"YMT_HOSTED must list six-digit region codes, got {r!r}")
        district = env.get("YMT_DISTRICT") or "xiacheng-synthetic"
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", district):
            raise ConfigError(f"YMT_DISTRICT must be a district id, got {district!r}")
        return cls(
            district=district,
            role=role,
            region=region,
            state_dir=state_dir,
            db_url=normalise_db_url(env.get("YMT_DB_URL", "")),
            federation_secret=_b64(secret, "YMT_FEDERATION_SECRET") if secret else b"",
            data_keys=env.get("YMT_DATA_KEYS", ""),
            sms_log=Path(sms) if sms else None,
            hub_url=env.get("YMT_HUB_URL") or None,
            max_body_bytes=_int(env, "YMT_MAX_BODY_BYTES", 65536, minimum=1024),
            retention_days=_int(env, "YMT_RETENTION_DAYS", 30),
            travel_days=_int(env, "YMT_TRAVEL_DAYS", 14),
            travel_min_stay_minutes=_int(env, "YMT_TRAVEL_MIN_STAY_MINUTES", 240),
            trace_window_minutes=_int(env, "YMT_TRACE_WINDOW_MINUTES", 30),
            trace_seat_rows=_int(env, "YMT_TRACE_SEAT_ROWS", 3, minimum=0),
            code_alg=alg,
            hosted=hosted,
            hub_token=env.get("YMT_HUB_TOKEN") or None,
            hub_key=env.get("YMT_HUB_KEY") or None,
            sync_interval=float(_int(env, "YMT_SYNC_INTERVAL", 5)),
            sth_interval=float(_int(env, "YMT_STH_INTERVAL", 60, minimum=1)),
            override_hourly_limit=_int(env, "YMT_OVERRIDE_HOURLY_LIMIT", 20, minimum=0),
            # Hub only: YMT_HOSTED_DB_<region>, the database of each region it hosts (Mode 3).
            extra={k: v for k, v in env.items() if k.startswith("YMT_HOSTED_DB_")},
            trusted_proxies=_networks(env, "YMT_TRUSTED_PROXIES"),
            limits=_limits(env),
            db_read_url=normalise_db_url(env.get("YMT_DB_READ_URL", "")),
            max_in_flight=_int(env, "YMT_MAX_IN_FLIGHT", 32, minimum=1),
            queue_budget_ms=_int(env, "YMT_QUEUE_BUDGET_MS", 20),
        )

    def with_defaults(self) -> Settings:
        """Fill what was left empty from the state directory (creating secrets on first use)."""
        node = f"road-{self.district}" if self.role == "road" else f"{self.role}-{self.region}"
        db_url = self.db_url or f"sqlite:///{self.state_dir / (node + '.db')}"
        stored = load_or_create_secrets(self.state_dir)
        return replace(
            self,
            db_url=db_url,
            federation_secret=self.federation_secret or base64.b64decode(stored["federation"]),
            data_keys=self.data_keys or stored["data_keys"],
            sms_log=self.sms_log or self.state_dir / "sms.log",
        )


def _networks(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    """A comma-separated list of addresses or networks (``10.0.0.0/8``, ``::1``)."""
    found = []
    for part in env.get(key, "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ConfigError(f"{key} must list IP addresses or networks, got {part!r}") from None
    return tuple(found)


def _limits(env: Mapping[str, str]) -> dict[str, tuple[Rate, ...]]:
    """The ``YMT_LIMIT_*`` settings given; a misspelt one is an error, not ignored."""
    known = {env_key(name): name for name in LIMITS}
    limits = {}
    for key, value in env.items():
        if not key.startswith("YMT_LIMIT_"):
            continue
        if key not in known:
            raise ConfigError(f"{key} is not a limit; the limits are {', '.join(sorted(known))}")
        try:
            limits[known[key]] = parse_rates(value)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    return limits


def normalise_db_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3; everything else passes through."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_or_create_secrets(state_dir: Path) -> dict[str, str]:
    """The node's secrets file (``secrets.json``, mode 0600), made on first use.

    Production deployments pass YMT_FEDERATION_SECRET and YMT_DATA_KEYS from their secret
    store instead; the file exists so that one command can start a working node.
    """
    path = state_dir / "secrets.json"
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {
        "federation": base64.b64encode(secrets.token_bytes(32)).decode(),
        "data_keys": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    return data
