"""``yimatong log verify``: check a node's view of the hub's transparency log.

    yimatong log verify --hub URL [--state FILE] [--hub-key KEY ...] [--json]

Exit status: 0 the log checked out (one line says how far); 3 it did not — a fork (the hub's
head is not an extension of the one seen before), a head whose signature fails, an entry
missing or altered (one line says which); 1 the hub could not be asked; 2 a usage mistake.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from yimatong.cli import _fail

__all__ = ["EXIT_PROBLEM", "log"]

#: The exit status when the log fails a check.
EXIT_PROBLEM = 3


@click.group()
def log() -> None:
    """The hub's transparency log (docs/transparency.md)."""


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
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per request.")
def verify_log(
    hub_url: str, state: Path | None, hub_key: tuple[str, ...], as_json: bool, timeout: float
) -> None:
    """Check the hub's signed tree head, its consistency with the one seen before, and that
    the entries served hash to it. Exit 0 ok, 3 a fork / bad signature / missing or altered
    entry, 1 the hub could not be asked."""
    from yimatong.adapters.hubclient import NodeClient
    from yimatong.domain.errors import YimatongError
    from yimatong.verifier.log_audit import AuditState, LogAuditor, LogProblem
    from yimatong.verifier.verifier import load_hub_key

    pinned = {}
    for value in hub_key:
        try:
            key = load_hub_key(value)
        except (ValueError, OSError) as exc:
            _fail(f"--hub-key: {exc}", 2)
        pinned[key.kid] = key
    try:
        kept = AuditState.load(state) if state else AuditState()
    except ValueError as exc:
        _fail(str(exc), 2)
    hub = NodeClient(hub_url, timeout=timeout, name="the hub")
    try:
        result = LogAuditor(hub, pinned).check(kept)
    except LogProblem as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "problem": str(exc)}, ensure_ascii=False))
        _fail(f"log verify failed: {exc}", EXIT_PROBLEM)
    except YimatongError as exc:
        _fail(f"log verify could not check the log: {exc}", 1)
    finally:
        hub.close()
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
