"""The departments' commands against the hub (docs/operations.md, hub/departments.py).

    yimatong departments add --department-id ID --kind K --name NAME --region CODE --key-out FILE
                                                                                  (hub admin)
    yimatong feeds upload --department ID --kind K --key KEY.pem FILE.csv|FILE.jsonl
                                                                                  (department)

A feed file is CSV with a header row, or JSON Lines (one object a line; ``.jsonl`` or
``.ndjson``). It is cut into signed batches whose ids derive from the file's SHA-256, the kind
and the batch's place, so running the same file again sends each batch once more and the hub
answers it as a duplicate: an upload that stopped half-way is resumed by running it again. A
row the hub refuses is reported by its line with the hub's reason; the other rows are stored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import click
import orjson

from yimatong.cli import _fail
from yimatong.cli_ops import (
    _client,
    _hub_options,
    _progress,
    _read_csv,
    _refusals,
    _register_signer,
    _registration_options,
    _show_registered,
)

__all__ = ["feeds_commands"]

_KINDS = ("identity", "rail", "aviation", "telecom")
_TRUE = {"true", "1", "yes", "match", "是", "一致"}
_FALSE = {"false", "0", "no", "mismatch", "否", "不一致"}


# ------------------------------------------------------------------------- departments
@click.group()
def departments() -> None:
    """Departments that send feeds to the hub: police, rail, aviation, telecom (hub admin)."""


@departments.command("add")
@click.option("--department-id", required=True, help="Short id: letters, digits, '.', '_', '-'.")
@click.option("--kind", required=True, type=click.Choice(["police", "rail", "aviation", "telecom"]))
@click.option("--name", required=True, help="The department's name.")
@click.option("--region", required=True, help="Six-digit region code of the department.")
@_registration_options("department")
def departments_add(
    department_id: str,
    kind: str,
    name: str,
    region: str,
    key_out: Path,
    as_json: bool,
    hub_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Make an Ed25519 key pair for a department, register it, print its credential."""
    client = _client(hub_url, token, timeout)
    body = {"department_id": department_id, "kind": kind, "name": name, "region": region}
    result = _register_signer(client, "/v1/departments", body, key_out)
    _show_registered(result, as_json, f"department {department_id} ({kind})", key_out)


# ------------------------------------------------------------------------------- feeds
@click.group()
def feeds() -> None:
    """Departmental feeds (identity checks, manifests, telecom stays) to the hub."""


def _read_rows(file: Path, kind: str) -> tuple[bytes, list[tuple[int, dict[str, Any]]]]:
    """(raw bytes, [(line, record)]): CSV (empty cells left out) or JSON Lines."""
    if file.suffix.lower() in (".jsonl", ".ndjson"):
        raw = file.read_bytes()
        rows: list[tuple[int, dict[str, Any]]] = []
        for line, text in enumerate(raw.splitlines(), start=1):
            if not text.strip():
                continue
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                _fail(f"{file} line {line}: not a JSON object; nothing was uploaded")
            if not isinstance(value, dict):
                _fail(f"{file} line {line}: not a JSON object; nothing was uploaded")
            rows.append((line, value))
        if not rows:
            _fail(f"{file}: no rows")
        return raw, rows
    raw, csv_rows = _read_csv(file, ())
    out = []
    for line, row in csv_rows:
        record: dict[str, Any] = {k: v for k, v in row.items() if v != ""}
        if kind == "identity" and "match" in record:
            word = str(record["match"]).lower()
            if word in _TRUE:
                record["match"] = True
            elif word in _FALSE:
                record["match"] = False
        if "sid" in record and "subject" not in record:
            record["subject"] = record.pop("sid")
        out.append((line, record))
    return raw, out


@feeds.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--department", "department_id", required=True, help="Your department id.")
@click.option("--kind", required=True, type=click.Choice(_KINDS), help="The records' kind.")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The department's private key (PEM) that signs each batch.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 20_000),
    default=5000,
    show_default=True,
    help="Records per signed batch (keep it the same when re-running a file).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the totals as JSON.")
@_hub_options
def feeds_upload(
    file: Path,
    department_id: str,
    kind: str,
    key_file: Path,
    batch_size: int,
    as_json: bool,
    hub_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Upload FILE (CSV or JSON Lines) in signed batches; running it again resumes.

    Columns by kind (a subject is sid, or id_type and id_number):
    identity: id_type,id_number,name,match,checked_at (police; never a photo);
    rail/aviation: id_type,id_number,trip,date,from,to,departs_at,arrives_at[,carriage,seat];
    telecom: phone,id_type,id_number (the SIM's real-name registration),city,from,to.
    Times are RFC 3339 with an offset; places are region codes. Rows the hub refuses are listed
    by line with its reason; the rest are stored.
    """
    from yimatong.adapters.crypto import load_signing_key
    from yimatong.adapters.messages import department_batch_message, encode_signature

    try:
        key = load_signing_key(key_file.read_bytes())
    except (ValueError, TypeError):
        _fail(f"{key_file} is not an unencrypted PKCS#8 private key", 2)
    raw, rows = _read_rows(file, kind)
    digest = hashlib.sha256(raw).hexdigest()[:16]
    client = _client(hub_url, token, timeout)
    accepted = duplicate = batches = 0
    refused: list[tuple[int, str]] = []
    with _refusals(), _progress(len(rows), f"Uploading {kind} records") as bar:
        for index, start in enumerate(range(0, len(rows), batch_size)):
            chunk = rows[start : start + batch_size]
            records = [record for _, record in chunk]
            batch_id = f"{digest}-{kind}-{batch_size}-{index}"
            message = department_batch_message(department_id, batch_id, kind, records)
            body = {
                "department_id": department_id,
                "batch_id": batch_id,
                "kind": kind,
                "records": records,
                "signature": encode_signature(key.sign(message)),
            }
            answer = client.post_encoded("/v1/department-records", orjson.dumps(body))
            batches += 1
            if answer.get("duplicate"):
                duplicate += int(answer["accepted"])
            else:
                accepted += int(answer["accepted"])
            refused += [(chunk[r["row"]][0], str(r["reason"])) for r in answer["rejected"]]
            bar.update(len(chunk))
    for line, reason in refused:
        click.echo(f"{file} line {line}: refused: {reason}", err=True)
    totals = {
        "rows": len(rows),
        "batches": batches,
        "accepted": accepted,
        "duplicate": duplicate,
        "rejected": len(refused),
    }
    if as_json:
        click.echo(json.dumps(totals))
        return
    click.echo(
        f"{len(rows)} {kind} records in {batches} batches: {accepted} stored, {duplicate} "
        f"already at the hub (duplicate batches), {len(refused)} refused"
    )


def feeds_commands() -> list[click.Command]:
    return [departments, feeds]
