"""``yimatong log verify``: check a transparency log from outside; ``log monitor``: flag
bursts of manual colours in an issuer's log.

    yimatong log verify --hub URL [--issuer URL --region R] [--state FILE] [--hub-key KEY ...]
    yimatong log monitor --hub URL --issuer URL --region R [--limit N] [--window S] [--json]

Exit status: 0 the log checked out (one line says how far); 3 it did not — a fork (the hub's
head is not an extension of the one seen before), a head whose signature fails, an entry
missing or altered (one line says which); 1 the hub could not be asked; 2 a usage mistake.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from yimatong.cli import _fail

__all__ = ["EXIT_PROBLEM", "log"]

#: The exit status when the log fails a check.
EXIT_PROBLEM = 3


@click.group()
def log() -> None:
    """Transparency logs: the hub's and each issuer's (docs/transparency.md)."""


@log.command("verify")
@click.option(
    "--hub", "hub_url", envvar="YMT_HUB_URL", required=True, help="Hub URL (or YMT_HUB_URL)."
)
@click.option(
    "--state",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Keep the head checked (and the hub keys learnt) here, and check the next head "
    "against it: only new entries are fetched. Without it every entry is fetched and checked.",
)
@click.option(
    "--hub-key",
    "hub_key",
    multiple=True,
    envvar="YIMATONG_HUB_KEY",
    help="Pin the hub's key (PEM, a PEM file, or base64 DER); repeatable. Without it (and "
    "no state) the key that signs the hub's trust list is trusted.",
)
@click.option(
    "--issuer",
    "issuer_url",
    help="Check this issuer node's own log instead of the hub's (with --region); its heads "
    "must be signed by the region's keys in the hub's trust list.",
)
@click.option("--region", help="The issuer's region (6 digits), with --issuer.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per request.")
def verify_log(
    hub_url: str,
    state: Path | None,
    hub_key: tuple[str, ...],
    issuer_url: str | None,
    region: str | None,
    as_json: bool,
    timeout: float,
) -> None:
    """Check a log's signed tree head, its consistency with the one seen before, and that
    the entries served hash to it: the hub's, or with --issuer an issuer's own. Exit 0 ok, 3 a
    fork / bad signature / missing or altered entry, 1 the node could not be asked."""
    from yimatong.verifier.log_audit import AuditState

    try:
        kept = AuditState.load(state) if state else AuditState()
    except ValueError as exc:
        _fail(str(exc), 2)
    result = _checked(hub_url, hub_key, issuer_url, region, kept, as_json, timeout, None)
    if state:
        try:
            kept.save(state)
        except OSError as exc:
            _fail(f"cannot write the state file {state}: {exc.strerror}")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": True,
                    "tree_size": result.tree_size,
                    "root_hash": result.root_hash.hex(),
                    "timestamp": result.timestamp,
                    "previous_size": result.previous_size,
                    "new_entries": result.new_entries,
                }
            )
        )
    else:
        click.echo(result.summary())


def _checked(
    hub_url: str,
    hub_key: tuple[str, ...],
    issuer_url: str | None,
    region: str | None,
    kept: Any,
    as_json: bool,
    timeout: float,
    on_entry: Callable[[int, bytes], None] | None,
) -> Any:
    """One LogAuditor round with the command line's options; exits on a problem."""
    from yimatong.adapters.hubclient import NodeClient
    from yimatong.domain.errors import YimatongError
    from yimatong.verifier.log_audit import NATIONAL, LogAuditor, LogProblem
    from yimatong.verifier.verifier import load_hub_key

    if (issuer_url is None) != (region is None):
        _fail("--issuer and --region go together", 2)
    if region is not None and not (len(region) == 6 and region.isascii() and region.isdigit()):
        _fail("--region must be 6 digits", 2)
    pinned = {}
    for value in hub_key:
        try:
            key = load_hub_key(value)
        except (ValueError, OSError) as exc:
            _fail(f"--hub-key: {exc}", 2)
        pinned[key.kid] = key
    hub = NodeClient(hub_url, timeout=timeout, name="the hub")
    node = NodeClient(issuer_url, timeout=timeout, name=f"issuer {region}") if issuer_url else None
    try:
        auditor = LogAuditor(hub, pinned, log=node, region=region or NATIONAL)
        return auditor.check(kept, on_entry)
    except LogProblem as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "problem": str(exc)}, ensure_ascii=False))
        _fail(f"log {'monitor' if on_entry else 'verify'} failed: {exc}", EXIT_PROBLEM)
    except YimatongError as exc:
        _fail(f"could not check the log: {exc}", 1)
    finally:
        hub.close()
        if node is not None:
            node.close()


@log.command("monitor")
@click.option(
    "--hub", "hub_url", envvar="YMT_HUB_URL", required=True, help="Hub URL (or YMT_HUB_URL)."
)
@click.option("--issuer", "issuer_url", required=True, help="The issuer node whose log to watch.")
@click.option("--region", required=True, help="The issuer's region (6 digits).")
@click.option(
    "--hub-key",
    "hub_key",
    multiple=True,
    envvar="YIMATONG_HUB_KEY",
    help="Pin the hub's key (PEM, a PEM file, or base64 DER); repeatable.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="People under manual colours within the window above which it is a burst.",
)
@click.option(
    "--window",
    type=click.IntRange(min=60),
    default=3600,
    show_default=True,
    help="Seconds of the sliding window.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the bursts as JSON.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per request.")
def monitor_log(
    hub_url: str,
    issuer_url: str,
    region: str,
    hub_key: tuple[str, ...],
    limit: int,
    window: int,
    as_json: bool,
    timeout: float,
) -> None:
    """Check an issuer's log as `log verify --issuer` does, then flag every burst of manual
    colours in it: more than --limit people overridden within --window seconds. Exit 0 none,
    3 a burst (one line each) or a log that fails its checks, 1 a node could not be asked."""
    from datetime import timedelta

    from yimatong.domain.overrides import bursts
    from yimatong.verifier.log_audit import AuditState

    entries: list[tuple[int, dict[str, Any]]] = []

    def keep(index: int, raw: bytes) -> None:
        try:
            entry = json.loads(raw)
        except ValueError:
            return  # the root check fails on it anyway if it is not what was logged
        if isinstance(entry, dict) and str(entry.get("kind", "")).startswith("override."):
            entries.append((index, entry))

    result = _checked(hub_url, hub_key, issuer_url, region, AuditState(), as_json, timeout, keep)
    found = bursts(entries, limit=limit, window=timedelta(seconds=window))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": not found,
                    "tree_size": result.tree_size,
                    "overrides": sum(1 for _, e in entries if e["kind"] == "override.applied"),
                    "bursts": [b.to_dict() for b in found],
                }
            )
        )
    else:
        for b in found:
            click.echo(
                f"burst: region {b.region}, {b.subjects} people under manual colours in "
                f"{b.overrides} override(s) from {b.start.isoformat()} to {b.end.isoformat()} "
                f"(log entries {', '.join(map(str, b.indexes))})"
            )
        if not found:
            click.echo(
                f"no burst: {result.tree_size} entries checked, limit {limit} people in {window} s"
            )
    if found:
        raise SystemExit(EXIT_PROBLEM)
