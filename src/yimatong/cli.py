"""The ``yimatong`` command line.

Every command has ``--help``. Errors print one readable line to stderr and exit non-zero:
1 for a refused or failed operation, 2 for a usage mistake. Commands that call a node take
the caller's credential from ``--token`` or the ``YIMATONG_TOKEN`` environment variable.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from yimatong import __version__
from yimatong.config import ROLES, ConfigError, Settings
from yimatong.logs import LEVELS

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


def _owner_only() -> None:
    """Whatever a node writes (databases, WAL, logs, metrics, keys) is its owner's only.

    Set once at the start of ``serve`` and ``demo``, inherited by their workers and nodes;
    the files that matter are also created with explicit modes, so this is the backstop.
    """
    os.umask(0o077)


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
    "--district",
    help="Road only: the district whose roads it serves (default xiacheng-synthetic; or "
    "YMT_DISTRICT).",
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes."
)
@click.option(
    "--log-level",
    type=click.Choice(LEVELS),
    default="info",
    show_default=True,
    help="Level of the node's own log lines on stderr (never personal data).",
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
    district: str | None,
    workers: int,
    log_level: str,
) -> None:
    """Run one node: migrate its database, then serve HTTP until Ctrl-C or SIGTERM.

    ``--role road`` runs a road node (路面健康码, docs/road.md) for one ``--district``.
    """
    import uvicorn

    _owner_only()

    if district:
        os.environ["YMT_DISTRICT"] = district
    settings = _node_settings(role, region, state_dir, db_url)
    env = {
        "YMT_ROLE": settings.role,
        "YMT_REGION": settings.region,
        "YMT_STATE_DIR": str(settings.state_dir),
        "YMT_DB_URL": settings.db_url,
        "YMT_LOG_LEVEL": log_level,
        "YMT_DISTRICT": settings.district,
    }
    if hub_url:
        env["YMT_HUB_URL"] = hub_url
    if hosted:
        env["YMT_HOSTED"] = hosted
    if workers > 1:
        # /metrics adds up every worker's figures (prometheus_client's multiprocess mode).
        metrics_dir = settings.state_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, mode=0o700)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    os.environ.update(env)
    if settings.role != "legacy":  # the legacy system keeps its own schema
        from yimatong.adapters.db.engine import upgrade

        upgrade(settings.db_url)
    # The legacy imitation has its own partner API and no OpenAPI document (docs/legacy.md).
    docs = "" if settings.role == "legacy" else "docs at /docs, "
    click.echo(
        f"yimatong {settings.role} {settings.region} on http://{host}:{port} "
        f"({docs}state in {settings.state_dir})",
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
        # The node reads X-Forwarded-For itself, and only from YMT_TRUSTED_PROXIES; uvicorn's
        # own proxy handling would trust any loopback peer's header (and cost every request).
        proxy_headers=False,
    )


# ---------------------------------------------------------------------------- demo
@main.command()
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where the SQLite files, logs, credentials and sms.log go.",
)
@click.option(
    "--base-port",
    type=click.IntRange(1024, 65530),
    default=8330,
    show_default=True,
    help="Port of the hub; the other nodes take the next three.",
)
@click.option(
    "--population",
    type=click.IntRange(0, 1_000_000),
    default=1000,
    show_default=True,
    help="Synthetic residents per region (first start only).",
)
def demo(state_dir: Path, base_port: int, population: int) -> None:
    """Bring up the whole demo federation on loopback with SQLite.

    The hub (also hosting 540000 in Mode 3), native issuers for Zhejiang (330000) and
    Guizhou (520000) and a legacy-format issuer for Hubei (420000), each a separate process.
    The first start prepares everything and writes DIR/federation.json (each node's role,
    region and URL, and demo credentials); one-time sign-in codes go to DIR/sms.log.
    Ctrl-C or SIGTERM stops every node.
    """
    from yimatong.demo.federation import DemoError, run_demo
    from yimatong.domain.errors import YimatongError

    _owner_only()

    try:
        run_demo(
            state_dir,
            base_port,
            population,
            echo=lambda text: click.echo(text, err=True),
            progress=click.progressbar,
        )
    except DemoError as exc:
        _fail(f"demo: {exc}")
    except (YimatongError, OSError, ValueError) as exc:
        _fail(f"the demo could not start: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- bench
@main.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of the headline.")
@click.option(
    "--repeats",
    type=click.IntRange(1, 50),
    help="Rounds to take the median of (default: 5 for the quick ones, 3 over HTTP).",
)
@click.option(
    "--seconds",
    type=click.FloatRange(0.05, 600.0),
    help="Length of one timed loop (default: 0.3 s for the quick ones, 5 s over HTTP).",
)
@click.option(
    "--db",
    "db_url",
    help="Over HTTP: a PostgreSQL server URL; a scratch database is made there and dropped "
    "after the run (default: SQLite).",
)
@click.option(
    "--residents",
    type=click.IntRange(1000, 10_000_000),
    help="reassess: how many residents to load (default 100,000).",
)
@click.option(
    "--rows",
    type=click.IntRange(20_000, 100_000_000),
    help="ingest: how many lab results to upload (default 100,000); feeds: how many manifest "
    "rows (default 60,000); trace: how many synthetic scans to load (default 1,000,000).",
)
def bench(
    name: str | None,
    as_json: bool,
    repeats: int | None,
    seconds: float | None,
    db_url: str | None,
    residents: int | None,
    rows: int | None,
) -> None:
    """Time one hot path against its physical limit measured in the same run.

    Without NAME, list the benchmarks. Each prints a table; with --json its last line is one
    JSON object: name, value, unit, baseline, ratio, target, met. The ratio is the figure
    that counts on a shared machine. The ones over HTTP need wrk (apt-get install -y wrk).
    """
    from yimatong.bench import BENCHMARKS, run

    if name is None:
        for known, (about, _fn) in BENCHMARKS.items():
            click.echo(f"{known:10} {about}")
        return
    if name not in BENCHMARKS:
        _fail(f"no benchmark {name!r}; there are: {', '.join(BENCHMARKS)}", 2)
    given: dict[str, Any] = {
        "repeats": repeats,
        "seconds": seconds,
        "db": db_url,
        "residents": residents,
        "rows": rows,
    }
    try:
        run(name, as_json=as_json, **{k: v for k, v in given.items() if v is not None})
    except RuntimeError as exc:
        _fail(str(exc))
    except TypeError as exc:  # an option this benchmark does not take
        _fail(f"{name}: {exc}", 2)


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


@db.command("purge")
@_node_options
def db_purge(
    role: str | None, region: str | None, state_dir: Path | None, db_url: str | None
) -> None:
    """Delete personal records whose retention has ended (run daily).

    On PostgreSQL this also drops the time partitions that have wholly expired and makes the
    next ones, as the node's own daily job does.
    """
    from yimatong.adapters.db.database import Database
    from yimatong.adapters.db.engine import upgrade
    from yimatong.adapters.db.retention import housekeep

    settings = _node_settings(role, region, state_dir, db_url)
    upgrade(settings.db_url)
    database = Database.from_url(settings.db_url)
    try:
        counts = housekeep(database, _now())
    finally:
        database.dispose()
    total = sum(counts.values())
    detail = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    click.echo(f"purged {total} expired records" + (f" ({detail})" if detail else ""))


@db.command("sunset")
@_node_options
@click.option(
    "--yes-delete-all-personal-data",
    "confirmed",
    is_flag=True,
    help="Required: says you mean it.",
)
def db_sunset(
    role: str | None,
    region: str | None,
    state_dir: Path | None,
    db_url: str | None,
    confirmed: bool,
) -> None:
    """Delete ALL personal data of this node: the programme has ended.

    Afterwards destroy the node's secrets (YMT_FEDERATION_SECRET, YMT_DATA_KEYS, or
    STATE_DIR/secrets.json) so that nothing left behind can be linked or decrypted.
    """
    from yimatong.adapters.db.retention import sunset

    if not confirmed:
        _fail("this deletes every personal record; add --yes-delete-all-personal-data", 2)
    settings = _node_settings(role, region, state_dir, db_url)
    counts = _with_uow(settings, lambda conn, _c: sunset(conn))
    click.echo(f"deleted {sum(counts.values())} personal records; now destroy the node's secrets")


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
@click.option(
    "--start-in-hours",
    type=click.FloatRange(0, 24 * 90),
    default=0,
    show_default=True,
    help="Publish now, sign from later (the hub: give checkpoints a day to learn its next key).",
)
def keys_new(
    role: str | None,
    region: str | None,
    state_dir: Path | None,
    db_url: str | None,
    alg: str,
    start_in_hours: float,
) -> None:
    """Make a new signing key; from its start it signs and the previous key stops signing.

    Codes signed by the previous key keep verifying until they expire. The new key reaches
    the hub's trust list by itself: the hub link proves it with the key itself and with a
    key the hub holds as current (`yimatong keys proof` when there is none).
    """
    from datetime import timedelta

    from yimatong.adapters import keystore

    settings = _node_settings(role, region, state_dir, db_url)
    now = _now()
    starts = now + timedelta(hours=start_in_hours)
    key = _with_uow(
        settings,
        lambda conn, cipher: keystore.create_key(
            conn,
            cipher,
            keystore.ALGORITHMS[alg],
            region=settings.region,
            now=now,
            starts=starts,
        ),
    )
    when = "now" if start_in_hours == 0 else starts.isoformat(timespec="seconds")
    click.echo(f"new key {key.kid.hex()} ({alg}) signs from {when}")


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
def keys_rotate(ctx: click.Context, /, **kwargs: Any) -> None:
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


@keys.command("proof")
@_node_options
@click.option("--kid", "kids", multiple=True, help="Only this key (16 hex characters); repeatable.")
def keys_proof(
    role: str | None,
    region: str | None,
    state_dir: Path | None,
    db_url: str | None,
    kids: tuple[str, ...],
) -> None:
    """Print the node's unrevoked keys as the hub registers them, each proved by itself.

    The JSON list is the "keys" of `POST /v1/issuers` (the hub admin registers an issuer
    with it); one entry is the body of `POST /v1/issuers/{region}/keys` for an issuer left
    with no current key. Each entry is signed by its own key over the region, the key and its
    start (adapters/messages.py), so it cannot serve another region or window.
    """
    from yimatong.adapters import keystore

    try:
        wanted = [bytes.fromhex(k) for k in kids]
    except ValueError:
        _fail("KID must be 16 hex characters", 2)
    settings = _node_settings(role, region, state_dir, db_url)
    entries = _with_uow(
        settings,
        lambda conn, cipher: keystore.registrations(conn, cipher, settings.region, kids=wanted),
    )
    if wanted and len(entries) != len(wanted):
        _fail("no unrevoked key with that kid", 1)
    click.echo(json.dumps([e.to_json() for e in entries], indent=2))


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
    type=click.Choice(
        ["admin", "staff", "checkpoint", "authority", "lab", "node", "department", "team"]
    ),
    help="The role the credential carries (department and team: a road node's).",
)
@click.option(
    "--scope",
    help="Limit it: a region code (a node, an authority, a checkpoint), a lab id, a road "
    "node's department (traffic_police, transport, municipal) or maintenance team.",
)
def creds_add(
    role: str | None,
    region: str | None,
    state_dir: Path | None,
    db_url: str | None,
    name: str,
    cred_role: str,
    scope: str | None,
) -> None:
    """Create a credential and print its token once (only a hash is kept)."""
    from yimatong.credentials import add_credential

    settings = _node_settings(role, region, state_dir, db_url)
    token = _with_uow(
        settings,
        lambda conn, _c: add_credential(
            conn, name=name, role=cred_role, now=_now(), rng=random.SystemRandom(), scope=scope
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
    from yimatong.cli_checkpoint import checkpoint, policy, verify
    from yimatong.cli_feeds import feeds_commands
    from yimatong.cli_log import log
    from yimatong.cli_ops import ops_commands

    main.add_command(verify)
    main.add_command(log)
    main.add_command(checkpoint)
    main.add_command(policy)
    for command in [*ops_commands(), *feeds_commands()]:
        main.add_command(command)


_register()


def run() -> None:  # pragma: no cover - console entry
    main()
