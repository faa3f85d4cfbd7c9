"""The operators' commands: the health authority's and the labs' jobs against the hub.

    yimatong risk set AREA --level high --from 2026-11-01T00:00+08:00 [--to ...]
    yimatong risk set-many FILE.csv [--note TEXT]       many areas, one action, one version
    yimatong risk list [--since V] [--json] [--hub-kid KID]
    yimatong labs add --lab-id ID --name NAME --region CODE --key-out FILE      (hub admin)
    yimatong trust import-dcc FILE.json     EU gateway DSC list                    (hub admin)
    yimatong trust import-shc FILE.json     VCI directory snapshot                 (hub admin)
    yimatong results upload FILE.csv --lab ID --key LAB_KEY.pem [--batch-size N]     (lab)
    yimatong facts upload FILE.csv [--batch-size N]                            (authority)

Every command takes the hub's URL as ``--hub`` (or ``YMT_HUB_URL``) and the caller's credential
as ``--token`` (or ``YIMATONG_TOKEN``). A whole file is checked before anything is sent, and the
first bad row is reported by its line number; uploads are cut into batches whose ids derive
from the file's SHA-256, so running the same file again lands nothing twice; results go two
batches in flight. Failures print one line and exit 1; usage mistakes exit 2. See
docs/operations.md.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from yimatong.cli import _fail
from yimatong.domain.edge import BadValue, check_event, parse_time

if TYPE_CHECKING:
    from yimatong.adapters.hubclient import NodeClient

__all__ = ["ops_commands"]

CHINA_TZ = timezone(timedelta(hours=8), "CST")
NATIONAL = "000000"
#: how far ahead of this machine's clock a result may be reported (clocks drift)
_OUTCOMES = {"negative": "negative", "positive": "positive", "阴性": "negative", "阳性": "positive"}


# ------------------------------------------------------------------------------ plumbing
def _hub_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait per call."
    )(f)
    f = click.option(
        "--token", envvar="YIMATONG_TOKEN", help="Your credential (or YIMATONG_TOKEN)."
    )(f)
    f = click.option("--hub", "hub_url", envvar="YMT_HUB_URL", help="Hub URL (or YMT_HUB_URL).")(f)
    return f


def _client(
    hub_url: str | None, token: str | None, timeout: float, *, need_token: bool = True
) -> NodeClient:
    """A NodeClient for the hub; tests hand in an in-process client as ``obj["http_client"]``."""
    from yimatong.adapters.hubclient import NodeClient

    if not hub_url:
        _fail("say which hub with --hub URL (or YMT_HUB_URL)", 2)
    if need_token and not token:
        _fail("a credential is needed: --token or YIMATONG_TOKEN", 2)
    ctx = click.get_current_context(silent=True)
    obj = ctx.obj if ctx is not None and isinstance(ctx.obj, dict) else {}
    return NodeClient(hub_url, token, client=obj.get("http_client"), timeout=timeout, name="hub")


@contextmanager
def _refusals() -> Iterator[None]:
    """Turn the hub's answer (a problem) into one readable line and exit 1."""
    from yimatong.domain.errors import YimatongError

    try:
        yield
    except YimatongError as exc:
        where = f" ({exc.field})" if exc.field else ""
        _fail(f"the hub refused: {exc.message}{where}")


def _time(text: str) -> datetime:
    """An RFC 3339 time with an offset (``2026-11-01T00:00+08:00``), in UTC; or ValueError.

    The hub's own parser (``domain.edge``), so that what the command accepts the hub accepts.
    """
    try:
        return parse_time(text.strip(), "time")
    except BadValue as exc:
        raise ValueError(f"{text.strip()!r} {exc.reason}") from None


def _time_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return _time(value).isoformat()
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _area_argument(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from yimatong.domain.errors import InvalidInput
    from yimatong.domain.regions import default_divisions

    try:
        default_divisions().validate_area(value)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message) from None
    return value


def _place(code: str) -> str:
    """``湖北省 武汉市`` for 420100: the full name of an area, or '?' for one we do not know."""
    from yimatong.domain.errors import YimatongError
    from yimatong.domain.regions import default_divisions

    try:
        return " ".join(r.name for r in reversed(default_divisions().ancestors(code)))
    except (YimatongError, TypeError):
        return "?"


def _read_csv(
    path: Path, required: tuple[str, ...]
) -> tuple[bytes, list[tuple[int, dict[str, str]]]]:
    """(raw bytes, [(line number, row)]) of a UTF-8 CSV with a header row."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        _fail(f"{path}: not UTF-8 text")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        _fail(f"{path}: the header lacks the column(s) {', '.join(missing)}")
    rows = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        clean = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        rows.append((reader.line_num, clean))
    if not rows:
        _fail(f"{path}: no rows")
    return raw, rows


def _progress(length: int, label: str) -> Any:
    return click.progressbar(
        length=length,
        label=label,
        file=sys.stderr,
        show_pos=True,
        show_percent=True,
    )


# ------------------------------------------------------------------------------ risk
@click.group()
def risk() -> None:
    """Risk areas at the hub: set (health authority) and list (anyone)."""


@risk.command("set")
@click.argument("area", callback=_area_argument)
@click.option(
    "--level", required=True, type=click.Choice(["low", "medium", "high"]), help="Risk level."
)
@click.option(
    "--from",
    "start",
    required=True,
    callback=_time_option,
    help="Effective from, RFC 3339 with offset: 2026-11-01T00:00+08:00.",
)
@click.option("--to", "end", callback=_time_option, help="Until (optional), same form.")
@click.option("--json", "as_json", is_flag=True, help="Print the hub's answer as JSON.")
@_hub_options
def risk_set(
    area: str,
    level: str,
    start: str,
    end: str | None,
    as_json: bool,
    hub_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Set AREA (6-digit region or 9-digit township code) to a level from a time."""
    body: dict[str, Any] = {"level": level, "from": start}
    if end:
        body["to"] = end
    client = _client(hub_url, token, timeout)
    with _refusals():
        result = client.request("PUT", f"/v1/risk-areas/{area}", json=body).json()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    # The hub answers in UTC; an operator reads Beijing time.
    until = f" until {_beijing(result['to'])}" if result.get("to") else ""
    click.echo(
        f"{area} {_place(area)}: {result['level']} from {_beijing(result['from'])}{until}"
        f" (list version {result['version']})"
    )


@risk.command("set-many")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", help="Why, kept with the change (e.g. 'sixteen cities off the red list').")
@click.option("--json", "as_json", is_flag=True, help="Print the hub's answer as JSON.")
@_hub_options
def risk_set_many(
    file: Path,
    note: str | None,
    as_json: bool,
    hub_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Change every area in FILE.csv in one action and one version.

    Columns: area,level,from[,to]; times in RFC 3339 with an offset.
    """
    from yimatong.domain.errors import InvalidInput
    from yimatong.domain.regions import default_divisions

    _, rows = _read_csv(file, ("area", "level", "from"))
    divisions = default_divisions()
    changes = []
    for line, row in rows:
        try:
            divisions.validate_area(row["area"])
            if row["level"] not in ("low", "medium", "high"):
                raise ValueError("level must be low, medium or high")
            change = {"area": row["area"], "level": row["level"]}
            change["from"] = _time(row["from"]).isoformat()
            if row.get("to"):
                change["to"] = _time(row["to"]).isoformat()
                if _time(row["to"]) <= _time(row["from"]):
                    raise ValueError("to must be after from")
        except (InvalidInput, ValueError) as exc:
            message = exc.message if isinstance(exc, InvalidInput) else str(exc)
            _fail(f"{file} line {line}: {message}; nothing was sent")
        changes.append(change)
    body: dict[str, Any] = {"changes": changes}
    if note:
        body["note"] = note
    client = _client(hub_url, token, timeout)
    with _refusals():
        result = client.post_json("/v1/risk-areas/batch", body)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result['count']} areas changed in one action (list version {result['version']})")


@risk.command("list")
@click.option("--since", type=click.IntRange(0), default=0, show_default=True, help="Version.")
@click.option("--hub-kid", help="Pin the hub's key id (16 hex); else take it from the trust list.")
@click.option("--json", "as_json", is_flag=True, help="Print the verified payload as JSON.")
@_hub_options
def risk_list(
    since: int,
    hub_kid: str | None,
    as_json: bool,
    hub_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """The national risk-area list (changes after --since), its signature checked."""
    from yimatong.adapters.crypto import VerifyingKey, load_verifying_key
    from yimatong.adapters.signed import BadDocument, verify_document

    client = _client(hub_url, token, timeout, need_token=False)
    with _refusals():
        trust = client.get_json("/v1/trust-list")
        document = client.get_json("/v1/risk-areas", params={"since": since})
    keys: dict[bytes, VerifyingKey] = {}
    try:
        for k in trust["payload"]["keys"]:
            if k["region"] == NATIONAL and not k.get("revoked_at"):
                key = load_verifying_key(base64.b64decode(k["public_key"]))
                if key.kid != bytes.fromhex(k["kid"]):
                    raise ValueError("a key listed under another key's id")
                keys[key.kid] = key
    except (KeyError, TypeError, ValueError):
        _fail("the hub's trust list is malformed")
    if hub_kid:
        try:
            pinned = bytes.fromhex(hub_kid)
        except ValueError:
            _fail("--hub-kid must be hex", 2)
        if pinned not in keys:
            _fail(f"the hub key {hub_kid} is not in the hub's trust list")
        keys = {pinned: keys[pinned]}
    try:
        verify_document(trust, keys)  # the list that gave us the key is signed by it too
        payload = verify_document(document, keys)
    except BadDocument as exc:
        _fail(f"the risk-area list does not verify with the hub key: {exc}")
    if payload.get("type") != "risk-areas":
        _fail("the hub answered a document that is not a risk-area list")
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    periods = payload["periods"]
    click.echo(
        f"risk areas, version {payload['version']} (since {payload['since']}), "
        f"{len(periods)} periods, signature ok; times in UTC+8"
    )
    for p in periods:
        click.echo(
            f"{p['area']:<9}  {p['level']:<6}  {_local(p['from'])} → {_local(p['to']) or '…':<16}"
            f"  v{p['version']:<5} {_place(p['area'])}"
        )


def _beijing(value: str) -> str:
    return _time(value).astimezone(CHINA_TZ).isoformat()


def _local(value: str | None) -> str:
    if not value:
        return ""
    return _time(value).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------------------ labs
def _registration_options(who: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--key-out``, ``--json`` and the hub's options of a command that registers a signer
    (``who``: a lab, a department) with :func:`_register_signer`."""

    def options(f: Callable[..., Any]) -> Callable[..., Any]:
        f = _hub_options(f)
        f = click.option("--json", "as_json", is_flag=True, help="Print the hub's answer as JSON.")(
            f
        )
        return click.option(
            "--key-out",
            required=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"Where to write the {who}'s new private key (PEM, mode 0600; must not exist).",
        )(f)

    return options


def _show_registered(result: Any, as_json: bool, who: str, key_out: Path) -> None:
    """The hub's answer to a registration: as JSON, or a line on stderr and the credential
    alone on stdout (shown once)."""
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{who} registered (key {result['kid']}, private key in {key_out}); "
        "its credential, shown once:",
        err=True,
    )
    click.echo(result["credential"])


def _register_signer(client: Any, path: str, body: dict[str, Any], key_out: Path) -> Any:
    """Make an Ed25519 key pair, write its private key to ``key_out`` (PEM, mode 0600, a new
    file only), and register its public key with ``body`` at ``path``; the hub's answer.

    The key file is removed again if the hub refuses: a key for a signer (a lab, a department)
    that does not exist helps nobody.
    """
    from yimatong.adapters.crypto import Algorithm, generate_signing_key

    key = generate_signing_key(Algorithm.EDDSA)
    try:
        fd = os.open(key_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _fail(f"{key_out} exists already; choose another --key-out", 2)
    except OSError as exc:
        _fail(f"cannot write {key_out}: {exc.strerror}")
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_pem())
    public = base64.b64encode(key.public.spki_der()).decode("ascii")
    try:
        with _refusals():
            return client.post_json(path, {**body, "public_key": public})
    except SystemExit:
        key_out.unlink(missing_ok=True)
        raise


@click.group()
def labs() -> None:
    """Laboratories registered at the hub (hub admin)."""


@labs.command("add")
@click.option("--lab-id", required=True, help="Short id: letters, digits, '.', '_', '-'.")
@click.option("--name", required=True, help="The lab's name, as results will show it.")
@click.option("--region", required=True, help="Six-digit region code where the lab is.")
@_registration_options("lab")
def labs_add(
    lab_id: str,
    name: str,
    region: str,
    key_out: Path,
    as_json: bool,
    hub_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Make an Ed25519 key pair for a lab, register it, and print the lab's credential."""
    client = _client(hub_url, token, timeout)
    body = {"lab_id": lab_id, "name": name, "region": region}
    result = _register_signer(client, "/v1/labs", body, key_out)
    _show_registered(result, as_json, f"lab {lab_id}", key_out)


# ------------------------------------------------------------------------------ trust
@click.group()
def trust() -> None:
    """International trust at the hub: EU DCC document signers, SMART Health Card issuers."""


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        _fail(f"cannot read {file} as JSON ({type(exc).__name__})", 2)


def _with_cscas(document: Any, csca: Path) -> dict[str, Any]:
    """The DSC list with the CSCA file's entries beside it, as the gateway's /trustList
    holds both (an entry without ``certificateType`` in the CSCA file is taken as a CSCA)."""
    extra = _read_json(csca)
    if isinstance(extra, dict):
        extra = extra.get("certificates")
    if not isinstance(extra, list):
        _fail(f'{csca}: a CSCA list is a JSON array (or {{"certificates": [...]}})', 2)
    dscs = document.get("certificates") if isinstance(document, dict) else document
    if not isinstance(dscs, list):
        return {"certificates": document}  # refused by the check that follows
    cscas = [{"certificateType": "CSCA", **e} if isinstance(e, dict) else e for e in extra]
    return {"certificates": [*dscs, *cscas]}


def _import_trust(
    family: str, file: Path, as_json: bool, client: NodeClient, csca: Path | None = None
) -> None:
    from yimatong.verifier.trustlists import (
        TrustListError,
        parse_gateway_dscs,
        parse_gateway_revocation,
        parse_vci_directory,
    )

    document = _read_json(file)
    if csca is not None:
        document = _with_cscas(document, csca)
    try:  # checked here first, as the hub will, so that a bad file is refused before sending
        if family == "dcc":
            parse_gateway_dscs(document)
        elif family == "shc":
            parse_vci_directory(document)
        else:
            parse_gateway_revocation(document, datetime.now(UTC))
    except TrustListError as exc:
        _fail(f"{file}: {exc}", 2)
    with _refusals():
        result = client.decode(
            client.request("PUT", f"/v1/international-trust/{family}", json=document)
        )
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for line in result.get("refused", ()):
        click.echo(f"{file}: refused {line}", err=True)
    if family == "dcc-revocation":
        what = f"revocation batches ({result['hashes']} hashes)"
    else:
        what = "document signers" if family == "dcc" else "issuers"
    click.echo(
        f"{result['entries']} {what} imported (international trust version {result['version']})"
    )


@trust.command("import-dcc")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--csca",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The gateway's CSCA list (its /trustList/CSCA answer): each DSC must then chain to "
    "a CSCA of its country, or is refused (one line each) while the others are imported.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the hub's answer as JSON.")
@_hub_options
def trust_import_dcc(
    file: Path,
    csca: Path | None,
    as_json: bool,
    hub_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Replace the EU DCC document signers with FILE, a DSC list of the EU gateway's format
    (its /trustList/DSC answer: an array of {kid, country, rawData, ...}; CSCA entries of a
    whole /trustList in it are used as --csca's are)."""
    _import_trust("dcc", file, as_json, _client(hub_url, token, timeout), csca)


@trust.command("import-shc")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the hub's answer as JSON.")
@_hub_options
def trust_import_shc(
    file: Path, as_json: bool, hub_url: str | None, token: str | None, timeout: float
) -> None:
    """Replace the SMART Health Card issuers with FILE, a VCI directory snapshot
    ({"issuer_info": [{"issuer": {iss, name}, "keys": [JWK...]}]})."""
    _import_trust("shc", file, as_json, _client(hub_url, token, timeout))


@trust.command("import-dcc-revocation")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the hub's answer as JSON.")
@_hub_options
def trust_import_dcc_revocation(
    file: Path, as_json: bool, hub_url: str | None, token: str | None, timeout: float
) -> None:
    """Replace the EU DCC revocation batches with FILE: the EU gateway's revocation batches
    ({country, expires, kid, hashType, entries: [{hash}]}; one, an array, or {"batches": [...]}).
    Deleted and expired batches are skipped; a bad batch is refused (one line each on stderr)
    and the others imported."""
    _import_trust("dcc-revocation", file, as_json, _client(hub_url, token, timeout))


# ------------------------------------------------------------------------------ results
@click.group()
def results() -> None:
    """Nucleic-acid test results (labs)."""


#: Batches on their way to the hub at once.
_IN_FLIGHT = 2


def _checked_results(
    file: Path, rows: list[tuple[int, dict[str, str]]], now: datetime
) -> list[dict[str, str]]:
    """The rows of a results file as the hub takes them; exit 1 naming the first bad line.

    Rows of the plain shape (resident ID numbers as machines write them, times in the usual
    RFC 3339 form) are checked column by column, each time text and area code and birth date
    once (``EventTimes``, ``DocumentChecks``); any other row is checked the general way, so
    the first bad line is refused with the reason it always had.
    """
    from yimatong.domain.edge import EventTimes
    from yimatong.domain.identity import DocumentChecks

    times = EventTimes(now)
    documents = DocumentChecks(now.date())
    samples = times.known([row["sampled_at"] for _, row in rows])
    reports = times.known([row["reported_at"] for _, row in rows])
    checked: list[dict[str, str]] = []
    for (line, row), smp, rep in zip(rows, samples, reports, strict=True):
        outcome = _OUTCOMES.get(row["result"].lower())
        number = row.get("id_number", "")
        if (
            smp is not None
            and rep is not None
            and smp[0] <= rep[0]
            and outcome is not None
            and row.get("id_type") == "111"
            and not (row.get("sid") or row.get("subject"))
            and documents.resident(number) is not None
        ):
            checked.append({"id_type": "111", "id_number": number, "sampled_at": smp[1],
                            "reported_at": rep[1], "result": outcome})  # fmt: skip
            continue
        try:
            checked.append(_checked_result(row, now))
        except ValueError as exc:
            _fail(f"{file} line {line}: {exc}; nothing was uploaded")
    return checked


def _checked_result(row: dict[str, str], now: datetime) -> dict[str, str]:
    """One row by the general checks, in their order; ValueError saying what is wrong."""
    subject = _subject_fields(row, now.date())
    sampled, reported = _time(row["sampled_at"]), _time(row["reported_at"])
    if reported < sampled:
        raise ValueError("reported_at is before sampled_at")
    for name, value in (("sampled_at", sampled), ("reported_at", reported)):
        try:
            check_event(value, now, name)
        except BadValue as exc:
            raise ValueError(exc.message) from None
    outcome = _OUTCOMES.get(row["result"].lower())
    if outcome is None:
        raise ValueError("result must be negative or positive")
    return {
        **subject,
        "sampled_at": sampled.isoformat(),
        "reported_at": reported.isoformat(),
        "result": outcome,
    }


def _subject_fields(row: dict[str, str], today: Any) -> dict[str, str]:
    """``{"subject": sid}`` or ``{"id_type", "id_number"}``, checked; ValueError if wrong."""
    from yimatong.domain.errors import InvalidInput
    from yimatong.domain.identity import DocumentType, is_sid, validate_document

    sid = row.get("sid") or row.get("subject") or ""
    if sid:
        if not is_sid(sid):
            raise ValueError("sid must be 32 lower-case hex characters")
        return {"subject": sid}
    id_type, number = row.get("id_type", ""), row.get("id_number", "")
    if not id_type or not number:
        raise ValueError("give sid, or id_type and id_number")
    try:
        doc_type = DocumentType(id_type)
    except ValueError:
        raise ValueError(
            f"id_type must be one of {', '.join(d.value for d in DocumentType)}"
        ) from None
    try:
        validate_document(doc_type, number, today=today)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None
    return {"id_type": id_type, "id_number": number}


@results.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lab", "lab_id", required=True, help="Your lab id at the hub.")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The lab's private key (PEM) that signs each batch.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 20_000),
    default=2000,
    show_default=True,
    help="Rows per signed batch (keep it the same when re-running a file).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the totals as JSON.")
@_hub_options
def results_upload(
    file: Path,
    lab_id: str,
    key_file: Path,
    batch_size: int,
    as_json: bool,
    hub_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Upload FILE.csv of results in signed batches; running it again uploads nothing twice.

    Columns: id_type,id_number,sampled_at,reported_at,result (or sid instead of id_type and
    id_number); times in RFC 3339 with an offset; result negative or positive (阴性/阳性).
    """
    from yimatong.adapters.crypto import load_signing_key
    from yimatong.adapters.messages import batch_message

    try:
        key = load_signing_key(key_file.read_bytes())
    except (ValueError, TypeError):
        _fail(f"{key_file} is not an unencrypted PKCS#8 private key", 2)
    raw, rows = _read_csv(file, ("sampled_at", "reported_at", "result"))
    checked = _checked_results(file, rows, datetime.now(UTC))
    digest = hashlib.sha256(raw).hexdigest()[:16]
    client = _client(hub_url, token, timeout)

    def send(index: int, chunk: list[dict[str, str]]) -> Any:
        batch_id = f"{digest}-{index}"
        signature = key.sign(batch_message(lab_id, batch_id, chunk))
        body = {
            "lab_id": lab_id,
            "batch_id": batch_id,
            "results": chunk,
            "signature": base64.urlsafe_b64encode(signature).rstrip(b"=").decode(),
        }
        return client.post_encoded("/v1/test-results", orjson.dumps(body))

    accepted = duplicate = batches = 0
    # Two batches in flight: the next is signed and sent while the hub stores this one. A
    # refusal stops the upload after the batch already on its way (whose id is fixed too, so
    # a re-run finds it, or sends it, once).
    in_flight: deque[tuple[int, Future[Any]]] = deque()
    with (
        _refusals(),
        _progress(len(checked), "Uploading results") as bar,
        ThreadPoolExecutor(max_workers=_IN_FLIGHT, thread_name_prefix="upload") as pool,
    ):
        for index, start in enumerate(range(0, len(checked), batch_size)):
            chunk = checked[start : start + batch_size]
            in_flight.append((len(chunk), pool.submit(send, index, chunk)))
            while len(in_flight) >= _IN_FLIGHT or (
                in_flight and start + batch_size >= len(checked)
            ):
                size, future = in_flight.popleft()
                answer = future.result()
                batches += 1
                if answer.get("duplicate"):
                    duplicate += int(answer.get("accepted", size))
                else:
                    accepted += int(answer["accepted"])
                bar.update(size)
    totals = {"rows": len(checked), "batches": batches, "accepted": accepted}
    totals["duplicate"] = duplicate
    if as_json:
        click.echo(json.dumps(totals))
        return
    click.echo(
        f"{len(checked)} results in {batches} batches: {accepted} accepted, "
        f"{duplicate} already at the hub (duplicate batches)"
    )


# ------------------------------------------------------------------------------ facts
_FACT_NEEDS = {
    "case": ("status", "since"),
    "contact": ("last_exposure",),
    "quarantine": ("start", "end"),
}
_FACT_CHOICES = {
    "status": ("confirmed", "suspected", "asymptomatic", "recovered"),
    "contact_kind": ("close", "secondary"),
    "quarantine_kind": ("central", "home"),
}
_FACT_TIMES = ("since", "last_exposure", "start", "end")
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@click.group()
def facts() -> None:
    """Cases, contacts and quarantine orders (health authority)."""


@facts.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=5000,
    show_default=True,
    help="Facts per request.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the totals as JSON.")
@_hub_options
def facts_upload(
    file: Path,
    batch_size: int,
    as_json: bool,
    hub_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Upload FILE.csv of cases, contacts and quarantine orders; a re-run lands nothing twice.

    Columns: sid (or id_type,id_number), kind (case|contact|quarantine), and per kind:
    case: status, since; contact: last_exposure [, contact_kind]; quarantine: start, end
    [, quarantine_kind]; optionally id (your own id for the row). See docs/operations.md.
    """
    raw, rows = _read_csv(file, ("kind",))
    digest = hashlib.sha256(raw).hexdigest()[:16]
    now = datetime.now(UTC)
    checked: list[dict[str, str]] = []
    for line, row in rows:
        try:
            kind = row.get("kind", "")
            if kind not in _FACT_NEEDS:
                raise ValueError("kind must be case, contact or quarantine")
            fact: dict[str, str] = {**_subject_fields(row, now.date()), "kind": kind}
            for name in _FACT_NEEDS[kind]:
                if not row.get(name):
                    raise ValueError(f"a {kind} needs {name}")
            for name, choices in _FACT_CHOICES.items():
                if row.get(name):
                    if row[name] not in choices:
                        raise ValueError(f"{name} must be one of {', '.join(choices)}")
                    fact[name] = row[name]
            for name in _FACT_TIMES:
                if row.get(name):
                    fact[name] = _time(row[name]).isoformat()
            if kind == "quarantine" and _time(fact["end"]) <= _time(fact["start"]):
                raise ValueError("end must be after start")
            # the row's own id, or one derived from the file: a re-run lands once
            fact["id"] = row.get("id") or f"{digest}-{line}"
            if not _CLIENT_ID.fullmatch(fact["id"]):
                raise ValueError("id is 1 to 64 letters, digits, '.', '_', ':' or '-'")
        except ValueError as exc:
            _fail(f"{file} line {line}: {exc}; nothing was uploaded")
        checked.append(fact)
    client = _client(hub_url, token, timeout)
    accepted = duplicates = 0
    with _refusals(), _progress(len(checked), "Uploading facts") as bar:
        for start in range(0, len(checked), batch_size):
            chunk = checked[start : start + batch_size]
            answer = client.post_json("/v1/facts", {"facts": chunk})
            accepted += int(answer["accepted"])
            duplicates += int(answer.get("duplicates", 0))
            bar.update(len(chunk))
    if as_json:
        click.echo(
            json.dumps({"rows": len(checked), "accepted": accepted, "duplicates": duplicates})
        )
        return
    click.echo(f"{len(checked)} facts: {accepted} accepted, {duplicates} already at the hub")


def ops_commands() -> list[click.Command]:
    return [risk, labs, trust, results, facts]
