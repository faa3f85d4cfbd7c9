"""The ``yimatong`` command line.

Every command has ``--help``. Errors print one readable line to stderr and exit non-zero:
1 for a refused or failed operation, 2 for a usage mistake. Commands that call a node take
the caller's credential from ``--token`` or the ``YIMATONG_TOKEN`` environment variable.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from yimatong import __version__
from yimatong.config import ROLES, ConfigError, Settings

__all__ = ["main"]


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"yimatong: {message}", err=True)
    sys.exit(code)


def _settings(env_overrides: Mapping[str, str | None]) -> Settings:
    env = dict(os.environ)
    env.update({k: v for k, v in env_overrides.items() if v is not None})
    try:
        return Settings.from_environ(env).with_defaults()
    except ConfigError as exc:
        _fail(str(exc), 2)


def _now() -> datetime:
    return datetime.now(UTC)


def _node_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--db", "db_url", help="SQLAlchemy URL (default: SQLite in the state dir).")(f)
    f = click.option("--state-dir", type=click.Path(path_type=Path), help="State directory.")(f)
    f = click.option("--region", help="Six-digit region code of the node.")(f)
    f = click.option("--role", type=click.Choice(ROLES), help="The node's role.")(f)
    return f


def _node_settings(
    role: str | None, region: str | None, state_dir: Path | None, db_url: str | None
) -> Settings:
    return _settings(
        {
            "YMT_ROLE": role,
            "YMT_REGION": region,
            "YMT_STATE_DIR": str(state_dir) if state_dir else None,
            "YMT_DB_URL": db_url,
        }
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="yimatong")
def main() -> None:
    """yimatong (一码通): every region's health code, recognised everywhere."""


# --------------------------------------------------------------------------- serve
@main.command()
@_node_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8330, show_default=True, help="Port to bind.")
@click.option("--hub", "hub_url", help="URL of the hub this node belongs to.")
@click.option("--hosted", help="Hub only: regions it hosts in Mode 3, comma-separated.")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes."
)
def serve(
    role: str | None,
    region: str | None,
    state_dir: Path | None,
    db_url: str | None,
    host: str,
    port: int,
    hub_url: str | None,
    hosted: str | None,
    workers: int,
) -> None:
    """Run one node: migrate its database, then serve HTTP until Ctrl-C or SIGTERM."""
    import uvicorn

    settings = _node_settings(role, region, state_dir, db_url)
    env = {
        "YMT_ROLE": settings.role,
        "YMT_REGION": settings.region,
        "YMT_STATE_DIR": str(settings.state_dir),
        "YMT_DB_URL": settings.db_url,
    }
    if hub_url:
        env["YMT_HUB_URL"] = hub_url
    if hosted:
        env["YMT_HOSTED"] = hosted
    os.environ.update(env)
    if settings.role != "legacy":  # the legacy system keeps its own schema
        from yimatong.adapters.db.engine import upgrade

        upgrade(settings.db_url)
    click.echo(
        f"yimatong {settings.role} {settings.region} on http://{host}:{port} "
        f"(docs at /docs, state in {settings.state_dir})",
        err=True,
    )
    uvicorn.run(
        "yimatong.asgi:create_app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        factory=True,
    )


# ---------------------------------------------------------------------------- demo
DEMO_RISK = [
    # (area, level, note): a few places so that declarations have something to meet.
    ("330106002", "medium", "北山街道, 西湖区, Hangzhou"),
    ("420100", "high", "Wuhan"),
    ("520102", "medium", "南明区, Guiyang"),
]


@main.command()
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where the SQLite files, credentials and sms.log go.",
)
@click.option(
    "--base-port", type=int, default=8330, show_default=True, help="Port of the first node."
)
def demo(state_dir: Path, base_port: int) -> None:
    """Bring up the demo on loopback with SQLite: today, one issuer node for Zhejiang (330000).

    Writes DIR/federation.json (each node's role, region and URL, and demo credentials) and
    appends the demo's one-time sign-in codes to DIR/sms.log. Ctrl-C or SIGTERM stops it.
    """
    import uvicorn

    from yimatong.adapters.db.database import Database
    from yimatong.adapters.db.engine import upgrade
    from yimatong.adapters.db.risk import set_risk_period
    from yimatong.credentials import add_credential
    from yimatong.domain.facts import RiskLevel

    region = "330000"
    settings = _settings(
        {"YMT_ROLE": "issuer", "YMT_REGION": region, "YMT_STATE_DIR": str(state_dir)}
    )
    fed_path = state_dir / "federation.json"
    upgrade(settings.db_url)
    if fed_path.exists():
        federation = json.loads(fed_path.read_text())
    else:
        database = Database.from_url(settings.db_url)
        rng = random.SystemRandom()
        now = _now()
        with database.uow() as uow:
            tokens = {
                role: add_credential(uow.conn, name=f"demo-{role}", role=role, now=now, rng=rng)
                for role in ("admin", "staff", "checkpoint", "authority")
            }
            start = datetime(2026, 1, 1, tzinfo=UTC)
            for area, level, _note in DEMO_RISK:
                set_risk_period(uow.conn, area, RiskLevel(level), start, None, "demo")
            uow.commit()
        database.dispose()
        federation = {
            "nodes": [
                {
                    "role": "issuer",
                    "region": region,
                    "url": f"http://127.0.0.1:{base_port}",
                    "db": settings.db_url,
                }
            ],
            "credentials": tokens,
            "sms_log": str(state_dir / "sms.log"),
        }
        fd = os.open(fed_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(federation, f, indent=2)
    url = f"http://127.0.0.1:{base_port}"
    click.echo(
        f"yimatong demo\n"
        f"  issuer 330000 (Zhejiang)  {url}   docs {url}/docs\n"
        f"  credentials               {fed_path}\n"
        f"  one-time codes (SMS)      {state_dir / 'sms.log'}\n"
        f"Ctrl-C stops it.",
        err=True,
    )
    os.environ.update(
        {
            "YMT_ROLE": "issuer",
            "YMT_REGION": region,
            "YMT_STATE_DIR": str(state_dir),
            "YMT_DB_URL": settings.db_url,
        }
    )
    uvicorn.run(
        "yimatong.asgi:create_app",
        host="127.0.0.1",
        port=base_port,
        factory=True,
        log_level="warning",
        access_log=False,
    )


# ------------------------------------------------------------------------------ db
@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@_node_options
def db_upgrade(
    role: str | None, region: str | None, state_dir: Path | None, db_url: str | None
) -> None:
    """Apply the migrations up to the newest (safe to run again)."""
    from yimatong.adapters.db.engine import upgrade

    settings = _node_settings(role, region, state_dir, db_url)
    upgrade(settings.db_url)
    click.echo("database is up to date")


# ---------------------------------------------------------------------------- keys
@main.group()
def keys() -> None:
    """The node's signing keys."""


def _with_uow(settings: Settings, fn: Callable[..., Any]) -> Any:
    from yimatong.adapters.crypto import FieldCipher
    from yimatong.adapters.db.database import Database
    from yimatong.adapters.db.engine import upgrade

    upgrade(settings.db_url)
    database = Database.from_url(settings.db_url)
    try:
        with database.uow() as uow:
            result = fn(uow.conn, FieldCipher.from_spec(settings.data_keys))
            uow.commit()
        return result
    finally:
        database.dispose()


@keys.command("new")
@_node_options
@click.option(
    "--alg",
    type=click.Choice(["ed25519", "p256", "sm2"]),
    default="ed25519",
    show_default=True,
    help="Signature algorithm.",
)
def keys_new(
    role: str | None, region: str | None, state_dir: Path | None, db_url: str | None, alg: str
) -> None:
    """Make a new signing key; it signs from now on and the previous key stops signing."""
    from yimatong.adapters import keystore

    settings = _node_settings(role, region, state_dir, db_url)
    key = _with_uow(
        settings,
        lambda conn, cipher: keystore.create_key(
            conn, cipher, keystore.ALGORITHMS[alg], region=settings.region, now=_now()
        ),
    )
    click.echo(f"new key {key.kid.hex()} ({alg}) signs from now")


@keys.command("rotate")
@_node_options
@click.option(
    "--alg",
    type=click.Choice(["ed25519", "p256", "sm2"]),
    default="ed25519",
    show_default=True,
    help="Signature algorithm of the new key.",
)
@click.pass_context
def keys_rotate(ctx: click.Context, **kwargs: Any) -> None:
    """Same as `keys new`: old codes keep verifying until they expire."""
    ctx.invoke(keys_new, **kwargs)


@keys.command("list")
@_node_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def keys_list(
    role: str | None, region: str | None, state_dir: Path | None, db_url: str | None, as_json: bool
) -> None:
    """List the keys with their windows and status."""
    from yimatong.adapters import keystore

    settings = _node_settings(role, region, state_dir, db_url)
    infos = _with_uow(settings, lambda conn, _cipher: keystore.list_keys(conn, settings.region))
    now = _now()
    rows = [
        {
            "kid": k.kid.hex(),
            "alg": k.alg.name,
            "status": k.status(now),
            "not_before": k.not_before.isoformat(),
            "not_after": k.not_after.isoformat() if k.not_after else None,
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in infos
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r['kid']}  {r['alg']:8} {r['status']:8} from {r['not_before']}"
            + (f" until {r['not_after']}" if r["not_after"] else "")
        )


@keys.command("revoke")
@_node_options
@click.argument("kid")
def keys_revoke(
    role: str | None, region: str | None, state_dir: Path | None, db_url: str | None, kid: str
) -> None:
    """Revoke a key: every code it signed fails from now on."""
    from yimatong.adapters import keystore

    try:
        raw = bytes.fromhex(kid)
    except ValueError:
        _fail("KID must be 16 hex characters", 2)
    settings = _node_settings(role, region, state_dir, db_url)
    _with_uow(settings, lambda conn, _c: keystore.revoke(conn, raw, now=_now()))
    click.echo(f"key {kid} revoked")


# --------------------------------------------------------------------------- creds
@main.group()
def creds() -> None:
    """API credentials for staff, checkpoints, authorities, labs and nodes."""


@creds.command("add")
@_node_options
@click.option("--name", required=True, help="Who holds it, e.g. 'gate-7 West Lake station'.")
@click.option(
    "--as",
    "cred_role",
    required=True,
    type=click.Choice(["admin", "staff", "checkpoint", "authority", "lab", "node"]),
    help="The role the credential carries.",
)
def creds_add(
    role: str | None,
    region: str | None,
    state_dir: Path | None,
    db_url: str | None,
    name: str,
    cred_role: str,
) -> None:
    """Create a credential and print its token once (only a hash is kept)."""
    from yimatong.credentials import add_credential

    settings = _node_settings(role, region, state_dir, db_url)
    token = _with_uow(
        settings,
        lambda conn, _c: add_credential(
            conn, name=name, role=cred_role, now=_now(), rng=random.SystemRandom()
        ),
    )
    click.echo(token)


@creds.command("revoke")
@_node_options
@click.option("--name", required=True, help="The credential's name.")
def creds_revoke(
    role: str | None, region: str | None, state_dir: Path | None, db_url: str | None, name: str
) -> None:
    """Revoke a credential (takes effect within seconds)."""
    from yimatong.credentials import revoke_credential

    settings = _node_settings(role, region, state_dir, db_url)
    _with_uow(settings, lambda conn, _c: revoke_credential(conn, name=name, now=_now()))
    click.echo(f"credential {name!r} revoked")


# ------------------------------------------------------- commands kept in their own modules
def _register() -> None:
    from yimatong.cli_checkpoint import verify
    from yimatong.cli_ops import ops_commands

    main.add_command(verify)
    for command in ops_commands():
        main.add_command(command)


_register()


def run() -> None:  # pragma: no cover - console entry
    main()
