"""The checkpoint's commands and the entry-policy commands.

    yimatong verify CODE [--at REGION] [--hub URL] [--offline] [--temperature T]
                         [--place-kind K] [--json] [--cache-dir DIR]
    yimatong checkpoint --hub URL --at REGION --area CODE --name NAME [--place-kind K]
    yimatong policy set REGION --place-kind K --file rule.json --description TEXT
    yimatong policy show REGION [--json] [--history]

Exit status of ``verify`` (docs/checkpoint.md): 0 PASS; 3 DENY; 4 CHECK. Without ``--at`` no
policy is applied and it only verifies: 0 for a valid code, 1 for an invalid one. Errors print
one line to stderr and exit 1; usage mistakes exit 2.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from yimatong.cli import _fail
from yimatong.domain.edge import is_digits

__all__ = ["EXIT", "checkpoint", "policy", "verify"]

#: ``yimatong verify`` refreshes each cached list confirmed longer ago than this (and fetches at
#: once one it never had, such as the policies of a region it has not stood in): a gate script
#: calling it once a scan costs one request per scan, not four.
REFRESH_AFTER = timedelta(seconds=60)
#: ``yimatong verify``'s exit status for each outcome.
EXIT = {"PASS": 0, "DENY": 3, "CHECK": 4}
PLACE_KINDS = ("any", "transport", "residential", "hospital", "school", "office")


def _hub_keys(values: tuple[str, ...], federation: Path | None) -> tuple[Any, ...]:
    from yimatong.verifier.verifier import load_hub_key

    keys = []
    for value in values:
        try:
            keys.append(load_hub_key(value))
        except (ValueError, OSError) as exc:
            _fail(f"--hub-key: {exc}", 2)
    if federation is not None:
        try:
            data = json.loads(federation.read_text(encoding="utf-8"))
            keys.append(load_hub_key(data["hub_key"]["public_key"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _fail(f"--federation: no hub key in {federation} ({type(exc).__name__})", 2)
    return tuple(keys)


def _checkpoint_options(f: Any) -> Any:
    options = [
        click.option(
            "--federation",
            type=click.Path(path_type=Path, dir_okay=False),
            help="A demo's federation.json: pins the hub key it lists.",
        ),
        click.option(
            "--hub-key",
            "hub_key",
            multiple=True,
            envvar="YIMATONG_HUB_KEY",
            help="Pin the hub's key (PEM, a PEM file, or base64 DER); repeatable. "
            "Without it the key that signs the first trust list is trusted (and kept).",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(path_type=Path, file_okay=False),
            envvar="YIMATONG_CACHE_DIR",
            help="Where lists and the scan queue live (default ~/.cache/yimatong).",
        ),
        click.option(
            "--place-kind",
            type=click.Choice(PLACE_KINDS),
            default="any",
            show_default=True,
            help="The kind of place: selects the entry policy.",
        ),
        click.option("--token", envvar="YIMATONG_TOKEN", help="Checkpoint credential."),
        click.option("--hub", "hub_url", envvar="YMT_HUB_URL", help="Hub URL (or YMT_HUB_URL)."),
    ]
    for option in options:
        f = option(f)
    return f


def _build(
    *,
    hub_url: str | None,
    node_url: str | None,
    token: str | None,
    at: str | None,
    place_kind: str,
    cache_dir: Path | None,
    hub_key: tuple[str, ...],
    federation: Path | None,
    offline: bool,
    name: str | None,
    area: str | None,
    timeout: float,
    list_timeout: float | None = None,
) -> Any:
    from yimatong.domain.errors import InvalidInput
    from yimatong.domain.regions import default_divisions
    from yimatong.verifier.cache import default_cache_dir
    from yimatong.verifier.verifier import CheckpointConfig, Verifier

    for option, code in (("--at", at), ("--area", area)):
        if code is None:
            continue
        try:
            default_divisions().validate_area(code)  # a typo would file every scan nowhere
        except InvalidInput as exc:
            _fail(f"{option}: {exc.message}", 2)
    try:
        config = CheckpointConfig(
            cache_dir=cache_dir or default_cache_dir(),
            hub_url=hub_url,
            token=token,
            at_region=at,
            place_kind=place_kind,
            name=name,
            area=area,
            hub_keys=_hub_keys(hub_key, federation),
            status_url=node_url,
            offline=offline,
            online_timeout=timeout,
            list_timeout=list_timeout or 5.0,
        )
    except ValueError as exc:
        _fail(str(exc), 2)
    try:
        return Verifier(config)
    except OSError as exc:
        _fail(f"cannot use the cache directory {config.cache_dir}: {exc.strerror}")


# ----------------------------------------------------------------------------------- verify
@click.command()
@click.argument("code")
@click.option("--at", "at", help="Region where the checkpoint stands: apply its entry policy.")
@click.option("--offline", is_flag=True, help="Never touch the network: decide from the cache.")
@click.option(
    "--temperature", type=click.FloatRange(30.0, 45.0), help="Temperature taken at the gate, °C."
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option(
    "--timeout",
    type=float,
    default=1.5,
    show_default=True,
    help="Seconds to wait for the online status.",
)
@click.option("--name", help="Checkpoint name in the scan record (default: yimatong-verify).")
@click.option("--area", help="Area code in the scan record (default: the --at region).")
@click.option(
    "--node",
    "node_url",
    envvar="YIMATONG_NODE",
    help="Ask this node's 验码 for the status instead of the hub's (an issuer, directly).",
)
@_checkpoint_options
def verify(
    code: str,
    at: str | None,
    offline: bool,
    temperature: float | None,
    as_json: bool,
    timeout: float,
    name: str | None,
    area: str | None,
    node_url: str | None,
    hub_url: str | None,
    token: str | None,
    place_kind: str,
    cache_dir: Path | None,
    hub_key: tuple[str, ...],
    federation: Path | None,
) -> None:
    """Verify a health code (or an ID number) as a checkpoint does, and decide.

    Online it refreshes the cached lists, checks the signature, asks the hub for the current
    status and applies the entry policy of --at; offline (--offline, or no network) it decides
    from the signed claims and the cached lists. An EU DCC (HC1:...) or a SMART Health Card
    (shc:/..., chunks separated by spaces) is always verified offline, against the hub's
    cached international trust. Exit status: 0 PASS, 3 DENY, 4 CHECK (without --at: 0 valid,
    1 invalid). A travel code (YMTT1:, 行程码) is verified offline and shown with its cities,
    never decided: 0 valid, 1 invalid.
    """
    if not offline:
        if not hub_url and not node_url:
            _fail("say which hub to ask with --hub URL (or use --offline)", 2)
        if not token:
            _fail("a checkpoint credential is needed: --token or YIMATONG_TOKEN", 2)
    verifier = _build(
        hub_url=hub_url,
        node_url=node_url,
        token=token,
        at=at,
        place_kind=place_kind,
        cache_dir=cache_dir,
        hub_key=hub_key,
        federation=federation,
        offline=offline,
        name=(name or "yimatong-verify") if at else None,
        area=area,
        timeout=timeout,
        list_timeout=max(timeout, 1.0),  # one scan waits for this: keep it short
    )
    refreshed: dict[str, str] = {}
    try:
        if not offline and hub_url:
            refreshed = verifier.refresh(max_age=REFRESH_AFTER)
        result = verifier.verify(code, temperature=temperature)
        if verifier.stale:
            verifier.refresh()
        if not offline and hub_url and verifier.online_possible:
            verifier.upload(max_batches=5)
    finally:
        verifier.close()
    for note in verifier.notes:
        click.echo(f"yimatong: {note}", err=True)
    _say_what_happened(verifier, result, refreshed)
    if result.kind == "travel":  # a travel code (行程码): shown, never decided
        click.echo(
            json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if as_json else result.line()
        )
        sys.exit(0 if result.valid else 1)
    if at is None:
        _verify_only(result, as_json)
        return
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.line())
    sys.exit(EXIT[result.outcome or "CHECK"])


def _say_what_happened(verifier: Any, result: Any, refreshed: dict[str, str]) -> None:
    """One line on stderr when the hub could not be used, saying why and what was done."""
    link = verifier.link
    if link is not None:
        how = "decided offline" if result.mode == "offline" else "decided online all the same"
        click.echo(f"yimatong: {link.line()}; {how}", err=True)
        return
    for name, outcome in refreshed.items():
        if outcome.startswith("error"):
            click.echo(f"yimatong: list {name} not refreshed ({outcome[7:]})", err=True)


def _verify_only(result: Any, as_json: bool) -> None:
    """No --at: say whether the code is valid and show it; no policy, no decision."""
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        sys.exit(0 if result.valid else 1)
    if not result.valid:
        reasons = result.decision.reasons_en if result.decision else ()
        _fail(reasons[0] if reasons else "the code could not be verified")
    shown = result.display or {}
    if result.kind in ("dcc", "shc"):  # no colour: the holder's masked name and birth date
        click.echo(
            f"{result.kind} valid  {shown.get('masked_name', '')} "
            f"{shown.get('date_of_birth', '')}  issuer {result.issuer}  [{result.mode}]"
        )
        return
    click.echo(
        f"{shown.get('colour_zh', '')} {result.colour}  {shown.get('masked_name', '')} "
        f"{shown.get('masked_id', '')}  issuer {result.issuer}  [{result.mode}]"
    )


# ------------------------------------------------------------------------------- checkpoint
@click.command()
@click.option("--at", "at", required=True, help="Region where the checkpoint stands.")
@click.option("--area", required=True, help="The checkpoint's area (6- or 9-digit code).")
@click.option("--name", required=True, help="The checkpoint's name, e.g. 'Guiyang North gate 3'.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per decision.")
@click.option(
    "--refresh-every", type=float, default=60.0, show_default=True, help="List refresh, seconds."
)
@click.option(
    "--upload-every", type=float, default=5.0, show_default=True, help="Queue upload, seconds."
)
@click.option(
    "--timeout",
    type=float,
    default=1.5,
    show_default=True,
    help="Seconds to wait for the online status of a scan.",
)
@_checkpoint_options
def checkpoint(
    at: str,
    area: str,
    name: str,
    as_json: bool,
    refresh_every: float,
    upload_every: float,
    timeout: float,
    hub_url: str | None,
    token: str | None,
    place_kind: str,
    cache_dir: Path | None,
    hub_key: tuple[str, ...],
    federation: Path | None,
) -> None:
    """Run a checkpoint: one code (or ID number) per line on stdin, one decision per line out.

    A TAB and a temperature in °C may follow the code. Lists refresh in the background and
    scans upload when the hub is reachable; decisions never wait for either. Stops on EOF,
    Ctrl-C or SIGTERM.
    """
    import logging

    from yimatong.verifier.agent import Agent

    if not hub_url:
        _fail("say which hub with --hub URL", 2)
    if not token:
        _fail("a checkpoint credential is needed: --token or YIMATONG_TOKEN", 2)
    logging.basicConfig(level=logging.WARNING, format="yimatong: %(message)s")
    verifier = _build(
        hub_url=hub_url,
        node_url=None,
        token=token,
        at=at,
        place_kind=place_kind,
        cache_dir=cache_dir,
        hub_key=hub_key,
        federation=federation,
        offline=False,
        name=name,
        area=area,
        timeout=timeout,
    )
    click.echo(
        f"checkpoint {name!r} at {at} (area {area}, {place_kind}); hub {hub_url}; "
        f"cache {verifier.config.cache_dir}. One code per line; Ctrl-C stops.",
        err=True,
    )
    agent = Agent(
        verifier,
        out=sys.stdout,
        err=sys.stderr,
        as_json=as_json,
        refresh_every=refresh_every,
        upload_every=upload_every,
    )
    try:
        status = agent.run(sys.stdin)
    finally:
        verifier.close()
    sys.exit(status)


# ----------------------------------------------------------------------------------- policy
@click.group()
def policy() -> None:
    """Entry policies (通行规则) at the hub: set (health authority) and show (anyone)."""


def _client(hub_url: str | None, token: str | None) -> Any:
    from yimatong.adapters.hubclient import NodeClient

    if not hub_url:
        _fail("say which hub with --hub URL (or YMT_HUB_URL)", 2)
    ctx = click.get_current_context(silent=True)
    obj = ctx.obj if ctx is not None and isinstance(ctx.obj, dict) else {}
    return NodeClient(hub_url, token, client=obj.get("http_client"), timeout=10.0, name="hub")


def _region(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not is_digits(value, 6):
        raise click.BadParameter("a six-digit region code (000000: the whole country)")
    return value


@policy.command("set")
@click.argument("region", callback=_region)
@click.option("--place-kind", type=click.Choice(PLACE_KINDS), default="any", show_default=True)
@click.option(
    "--file",
    "rule_file",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The CertLogic rule as JSON ('-' for stdin); see docs/policies.md.",
)
@click.option("--description", required=True, help="What the rule asks, for people to read.")
@click.option("--from", "valid_from", help="In force from (RFC 3339; default now).")
@click.option("--to", "valid_to", help="In force until (RFC 3339; default: until replaced).")
@click.option("--json", "as_json", is_flag=True, help="Print the hub's answer as JSON.")
@click.option("--token", envvar="YIMATONG_TOKEN", help="Health authority credential.")
@click.option("--hub", "hub_url", envvar="YMT_HUB_URL", help="Hub URL (or YMT_HUB_URL).")
def policy_set(
    region: str,
    place_kind: str,
    rule_file: str,
    description: str,
    valid_from: str | None,
    valid_to: str | None,
    as_json: bool,
    token: str | None,
    hub_url: str | None,
) -> None:
    """Set a new version of REGION's entry policy for one kind of place."""
    if not token:
        _fail("a health authority credential is needed: --token or YIMATONG_TOKEN", 2)
    try:
        text = sys.stdin.read() if rule_file == "-" else Path(rule_file).read_text("utf-8")
        rule = json.loads(text)
    except OSError as exc:
        _fail(f"--file: {exc.strerror}", 2)
    except ValueError as exc:
        _fail(f"--file is not JSON: {exc}", 2)
    body: dict[str, Any] = {"place_kind": place_kind, "rule": rule, "description": description}
    if valid_from:
        body["valid_from"] = valid_from
    if valid_to:
        body["valid_to"] = valid_to
    answer = _put_policy(region, body, hub_url, token)
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"policy {answer['region']} {answer['place_kind']} version {answer['version']} "
        f"in force from {answer['valid_from']}"
        + (f" until {answer['valid_to']}" if answer.get("valid_to") else "")
    )


def _put_policy(
    region: str, body: dict[str, Any], hub_url: str | None, token: str | None
) -> dict[str, Any]:
    """``PUT /v1/policies/{region}``: the hub's answer, or one line and exit 1 if refused."""
    from yimatong.domain.errors import YimatongError

    client = _client(hub_url, token)
    try:
        answer: dict[str, Any] = client.request("PUT", f"/v1/policies/{region}", json=body).json()
    except YimatongError as exc:
        where = f" ({exc.field})" if exc.field else ""
        _fail(f"the hub refused: {exc.message}{where}")
    finally:
        client.close()
    return answer


@policy.command("import-eu-rules")
@click.argument("region", callback=_region)
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--place-kind", type=click.Choice(PLACE_KINDS), default="any", show_default=True)
@click.option(
    "--otherwise",
    type=click.Choice(["deny", "pass"]),
    default="deny",
    show_default=True,
    help="What the policy says of a code that is no DCC (YMT1, SHC).",
)
@click.option("--from", "valid_from", help="In force from (RFC 3339; default now).")
@click.option("--json", "as_json", is_flag=True, help="Print the hub's answer as JSON.")
@click.option("--token", envvar="YIMATONG_TOKEN", help="Health authority credential.")
@click.option("--hub", "hub_url", envvar="YMT_HUB_URL", help="Hub URL (or YMT_HUB_URL).")
def policy_import_eu_rules(
    region: str,
    file: Path,
    place_kind: str,
    otherwise: str,
    valid_from: str | None,
    as_json: bool,
    token: str | None,
    hub_url: str | None,
) -> None:
    """Set REGION's entry policy to the EU gateway's business rules in FILE (its /rules
    content: a list of {Identifier, Type, Country, Version, CertificateType, ValidFrom, ValidTo,
    Logic, ...}). Each rule is checked alone: a bad one is refused (one line each on stderr)
    and the others make the policy; a DCC must satisfy every rule in force, any other code
    gets --otherwise."""
    from yimatong.verifier.eu_rules import describe, eu_rules_policy, parse_eu_rules

    if not token:
        _fail("a health authority credential is needed: --token or YIMATONG_TOKEN", 2)
    try:
        document = json.loads(file.read_text("utf-8"))
    except OSError as exc:
        _fail(f"{file}: {exc.strerror}", 2)
    except ValueError as exc:
        _fail(f"{file} is not JSON: {exc}", 2)
    rules, refused = parse_eu_rules(document)
    for line in refused:
        click.echo(f"{file}: refused {line}", err=True)
    if not rules:
        _fail(f"{file}: no rule to import", 2)
    body: dict[str, Any] = {
        "place_kind": place_kind,
        "rule": eu_rules_policy(rules, otherwise=otherwise == "pass"),
        "description": describe(rules),
    }
    if valid_from:
        body["valid_from"] = valid_from
    answer = _put_policy(region, body, hub_url, token)
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{len(rules)} EU rules set as policy {answer['region']} {answer['place_kind']} "
        f"version {answer['version']} in force from {answer['valid_from']}"
    )


@policy.command("show")
@click.argument("region", callback=_region)
@click.option("--history", is_flag=True, help="Every version ever set for exactly REGION.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the signed document).")
@click.option("--hub", "hub_url", envvar="YMT_HUB_URL", help="Hub URL (or YMT_HUB_URL).")
def policy_show(region: str, history: bool, as_json: bool, hub_url: str | None) -> None:
    """Show the entry policies that apply in REGION (its own and those of regions containing
    it), now and later; or, with --history, every version set for REGION."""
    from yimatong.domain.errors import YimatongError

    client = _client(hub_url, None)
    path = f"/v1/policies/{region}" + ("/history" if history else "")
    try:
        answer = client.get_json(path)
    except YimatongError as exc:
        _fail(f"the hub refused: {exc.message}")
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    items = answer["policies"] if history else answer["payload"]["policies"]
    if not history:
        payload = answer["payload"]
        governed = payload.get("governed_by") or []
        whose = f"; set by {', '.join(governed)}" if governed else ""
        click.echo(f"policies for {region}, version {payload['version']}{whose}")
    if not items:
        click.echo("  none: the national default applies (a green code)")
    for p in items:
        until = f" until {p['valid_to']}" if p.get("valid_to") else ""
        click.echo(
            f"  {p['region']} {p['place_kind']:<11} v{p['version']:<4} from {p['valid_from']}"
            f"{until}  by {p.get('set_by')}\n      {p['description']}\n"
            f"      {json.dumps(p['rule'], ensure_ascii=False)}"
        )
