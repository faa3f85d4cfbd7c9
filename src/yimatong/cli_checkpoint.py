"""The checkpoint's commands: ``yimatong verify`` (and, next, ``yimatong checkpoint``)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from yimatong.cli import _fail

__all__ = ["verify"]


@click.command()
@click.argument("code")
@click.option("--node", "node_url", envvar="YIMATONG_NODE", help="Issuer node URL to ask (验码).")
@click.option("--token", envvar="YIMATONG_TOKEN", help="Checkpoint credential (or YIMATONG_TOKEN).")
@click.option("--temperature", type=float, help="Temperature taken at the gate, °C.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Seconds to wait.")
def verify(
    code: str,
    node_url: str | None,
    token: str | None,
    temperature: float | None,
    as_json: bool,
    timeout: float,
) -> None:
    """Verify a health code as a checkpoint does, and print colour and masked identity."""
    import httpx

    if not node_url:
        _fail("say which node to ask with --node URL (or YIMATONG_NODE)", 2)
    if not token:
        _fail("a checkpoint credential is needed: --token or YIMATONG_TOKEN", 2)
    body: dict[str, Any] = {"code": code.strip()}
    if temperature is not None:
        body["temperature"] = temperature
    try:
        resp = httpx.post(
            node_url.rstrip("/") + "/v1/codes/verify",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        _fail(f"could not reach {node_url}: {type(exc).__name__}")
    data = resp.json() if resp.headers.get("content-type", "").endswith("json") else {}
    if resp.status_code != 200:
        if as_json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
            sys.exit(1)
        _fail(f"{data.get('title', 'refused')}: {data.get('detail', resp.status_code)}")
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    display = data.get("display", {})
    reasons = ", ".join(
        data.get("reasons_codes", []) or [r.get("code", "") for r in data.get("reasons", [])]
    )
    click.echo(
        f"{display.get('colour_zh', '')} {data['colour']}  {display.get('masked_name', '')} "
        f"{display.get('masked_id', '')}  issuer {data['issuer']}"
        + (f"  reasons: {reasons}" if reasons else "")
    )
