"""The shape of a DCC's ``hcert`` payload (EU DCC JSON schema 1.3.x) and its value sets, checked
by typed code rather than a JSON Schema engine.

The schema is ``DCC.combined-schema.json`` 1.3.3 of https://github.com/ehn-dcc-development/
eu-dcc-schema (commit 9fe38ededb7922644d95743ac31fa04b182f3536, Apache-2.0). What it requires,
and what ``check_hcert`` checks, field by field:

* ``ver`` text ``d.d.d``; ``nam`` an object with ``fnt`` or ``gnt``; ``fnt``/``gnt`` of
  ``A``-``Z`` and ``<`` only, ``fn``/``gn`` text; every name, issuer, certificate id, test
  name and centre at most 80 characters; ``dob`` a date of 1900-2099 as ``YYYY``,
  ``YYYY-MM`` or ``YYYY-MM-DD``, or empty (a complete date followed by a time, as schema 1.0
  writers put it, is taken as that date);
* exactly one of ``v``, ``t``, ``r`` (an explicit null, as schema 1.0.0 writers put, is
  absent), an array of exactly one entry;
* a vaccination: ``tg vp mp ma dn sd dt co is ci``, ``dn`` and ``sd`` integers of at least 1,
  ``dt`` a complete date; a test: ``tg tt sc tr co is ci``, ``sc`` a date and time with an
  offset (RFC 3339), optional ``nm``, ``ma``, ``tc`` text; a recovery: ``tg fr co is df du ci``,
  the three dates complete. The schema's ``format: date`` is an annotation in JSON Schema
  2020-12, and the EU's test data has ``dt``, ``fr`` written as ``2021-03-18T22:54:00+02:00``:
  a complete date followed by a time is accepted and taken as that date (the entry returned
  holds ``YYYY-MM-DD``);
* fields the schema does not name are allowed (it does not forbid them).

Value sets: the schema names a value set for each coded field; the EU's published ones are the
``verifier/data/dcc-valuesets/*.json`` files, unchanged, of
https://github.com/ehn-dcc-development/eu-dcc-valuesets commit
60ea3d8643b004a5b9d44a698e223775d5916916 (Apache-2.0). A code outside the disease (``tg``:
COVID-19 only), test type (``tt``: NAAT or RAT) and test result (``tr``) sets is refused: these
sets are closed and the facts a policy sees (``certificate.test.type``, ``negative``) mean
nothing for another code. The vaccine type, product and holder (``vp``, ``mp``, ``ma``) give
display names but are not refused: the lists grew as products were recognised, and the EU's own
business rules (``VR-EU-0001`` and the like, importable as a region's policy) decide which
products count. The test device (``ma`` of a test: the JRC database, of which the EU publishes
only an example) and the country (``co``: "ISO 3166 alpha-2 where possible") are not checked.

A JSON Schema engine was weighed and not used: ``jsonschema`` over this schema takes about a
millisecond per certificate (ten times the signature check the issue's speed target is set
against), and its messages name JSON pointers rather than the field. ``check_hcert`` costs a few
microseconds and says ``schema: v[0].dn missing`` or ``value set: v[0].mp 'X' is unknown``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "EU_VALUE_SET_IDS",
    "PAGE_VALUE_SETS",
    "VALUE_SETS",
    "check_hcert",
    "display",
    "eu_value_sets",
    "hcert_entry",
    "hcert_kind",
    "page_value_sets",
    "value_set",
]

#: The value sets kept, by the schema's name for them.
VALUE_SETS = (
    "disease-agent-targeted",
    "vaccine-prophylaxis",
    "vaccine-medicinal-product",
    "vaccine-mah-manf",
    "test-type",
    "test-result",
)

#: The value sets' own ids (``valueSetId``), by which the EU's business rules name them
#: (``external.valueSets.vaccines-covid-19-names``).
EU_VALUE_SET_IDS = (
    "disease-agent-targeted",
    "sct-vaccines-covid-19",
    "vaccines-covid-19-names",
    "vaccines-covid-19-auth-holders",
    "covid-19-lab-test-type",
    "covid-19-lab-result",
)

_VER = re.compile(r"\d+.\d+.\d+", re.ASCII)
_DOB = re.compile(r"(?:(?:19|20)\d\d(?:-\d\d){0,2})?", re.ASCII)
_ICAO = re.compile(r"[A-Z<]*", re.ASCII)
_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)
#: a complete date followed by a time (with or without seconds and offset)
_DATE_THEN_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[Zz]|[+-]\d\d:?\d\d)?", re.ASCII
)
_DATE_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)", re.ASCII
)
_TEXT_MAX = 80

# (field, kind, value set or None) per entry type; kind: "text", "date", "date-time", "dose".
_VACCINATION = (
    ("tg", "code", "disease-agent-targeted"),
    ("vp", "code", None),
    ("mp", "code", None),
    ("ma", "code", None),
    ("dn", "dose", None),
    ("sd", "dose", None),
    ("dt", "date", None),
    ("co", "code", None),
    ("is", "text", None),
    ("ci", "text", None),
)
_TEST = (
    ("tg", "code", "disease-agent-targeted"),
    ("tt", "code", "test-type"),
    ("sc", "date-time", None),
    ("tr", "code", "test-result"),
    ("co", "code", None),
    ("is", "text", None),
    ("ci", "text", None),
)
_TEST_OPTIONAL = (("nm", "text"), ("ma", "text"), ("tc", "text"))
_RECOVERY = (
    ("tg", "code", "disease-agent-targeted"),
    ("fr", "date", None),
    ("co", "code", None),
    ("is", "text", None),
    ("df", "date", None),
    ("du", "date", None),
    ("ci", "text", None),
)
_ENTRIES = {"v": _VACCINATION, "t": _TEST, "r": _RECOVERY}


@cache
def value_set(name: str) -> Mapping[str, str]:
    """A published value set: code -> its English display name."""
    text = (
        resources.files("yimatong.verifier")
        .joinpath(f"data/dcc-valuesets/{name}.json")
        .read_text(encoding="utf-8")
    )
    values = json.loads(text)["valueSetValues"]
    return {code: str(v.get("display", code)) for code, v in values.items()}


@cache
def eu_value_sets() -> Mapping[str, list[str]]:
    """``external.valueSets`` of the EU's business rules: valueSetId -> its codes. One shared
    object: a CertLogic evaluation never changes its data."""
    out: dict[str, list[str]] = {}
    for name in VALUE_SETS:
        text = (
            resources.files("yimatong.verifier")
            .joinpath(f"data/dcc-valuesets/{name}.json")
            .read_text(encoding="utf-8")
        )
        document = json.loads(text)
        out[str(document["valueSetId"])] = sorted(document["valueSetValues"])
    assert tuple(sorted(out)) == tuple(sorted(EU_VALUE_SET_IDS)), sorted(out)
    return out


def display(name: str, code: object) -> str | None:
    """The display name of ``code`` in value set ``name``, or None."""
    return value_set(name).get(code) if type(code) is str else None


def _as_text(value: object) -> object:
    """A CBOR date/time tag (some issuers tag a date or the sampling time) as the schema's
    text."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _day(value: str) -> str | None:
    """``value`` as ``YYYY-MM-DD`` if it is a complete date (or one followed by a time)."""
    day = value[:10]
    if len(value) > 10 and not _DATE_THEN_TIME.fullmatch(value):
        return None
    if not _DATE.fullmatch(day):
        return None
    try:
        date.fromisoformat(day)
    except ValueError:
        return None
    return day


def _is_date_time(value: str) -> bool:
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _field(entry: dict[str, Any], where: str, name: str, kind: str, vs: str | None) -> str | None:
    value = entry.get(name)
    at = f"{where}.{name}"
    if value is None:
        return f"schema: {at} missing"
    if kind == "dose":
        if type(value) is not int or value < 1:
            return f"schema: {at} is not a positive integer"
        return None
    if type(value) is not str:
        return f"schema: {at} is not text"
    if kind == "date":
        day = _day(value)
        if day is None:
            return f"schema: {at} is not a complete date"
        entry[name] = day
        return None
    if kind == "date-time":
        return None if _is_date_time(value) else f"schema: {at} is not a date and time"
    if kind == "text" and len(value) > _TEXT_MAX:
        return f"schema: {at} is longer than {_TEXT_MAX}"
    if vs is not None and value not in value_set(vs):
        return f"value set: {at} {value[:20]!r} is unknown"
    return None


def _name(nam: object) -> str | None:
    if not isinstance(nam, dict):
        return "schema: nam missing" if nam is None else "schema: nam is not an object"
    if nam.get("fnt") is None and nam.get("gnt") is None:
        return "schema: nam.fnt missing"
    for key in ("fn", "gn", "fnt", "gnt"):
        value = nam.get(key)
        if value is None:
            continue
        if type(value) is not str:
            return f"schema: nam.{key} is not text"
        if len(value) > _TEXT_MAX:
            return f"schema: nam.{key} is longer than {_TEXT_MAX}"
        if key in ("fnt", "gnt") and not _ICAO.fullmatch(value):
            return f"schema: nam.{key} is not ICAO 9303 (A-Z and <)"
    return None


def hcert_kind(dcc: object) -> str:
    """``v``, ``t`` or ``r`` for a DCC whose top level (version, name, date of birth, exactly
    one group of one entry) keeps to the schema, else the reason (``schema: ...``)."""
    if not isinstance(dcc, dict):
        return "schema: hcert is not an object"
    ver = dcc.get("ver")
    if type(ver) is not str or not _VER.fullmatch(ver):
        return "schema: ver missing" if ver is None else "schema: ver is not a version"
    reason = _name(dcc.get("nam"))
    if reason is not None:
        return reason
    dob = _as_text(dcc.get("dob"))
    if type(dob) is not str:
        return "schema: dob missing" if dob is None else "schema: dob is not text"
    if not _DOB.fullmatch(dob) and not (_day(dob) and _DOB.fullmatch(dob[:10])):
        return "schema: dob is not a date of 1900-2099"
    present = [k for k in ("v", "t", "r") if dcc.get(k) is not None]
    if len(present) != 1:
        return "schema: not exactly one of v, t, r"
    kind = present[0]
    entries = dcc[kind]
    if not isinstance(entries, list) or len(entries) != 1:
        return f"schema: {kind} is not a list of one entry"
    if not isinstance(entries[0], dict):
        return f"schema: {kind}[0] is not an object"
    return kind


def hcert_entry(dcc: dict[str, Any], kind: str) -> dict[str, Any] | str:
    """The entry of a DCC ``hcert_kind`` accepted, checked field by field (CBOR date tags as
    text, dates as ``YYYY-MM-DD``), else the reason (``schema: ...`` or ``value set: ...``)."""
    entry = {k: _as_text(v) for k, v in dcc[kind][0].items()}
    where = f"{kind}[0]"
    for name, field_kind, vs in _ENTRIES[kind]:
        reason = _field(entry, where, name, field_kind, vs)
        if reason is not None:
            return reason
    if kind == "t":
        for name, field_kind in _TEST_OPTIONAL:
            if entry.get(name) is not None:
                reason = _field(entry, where, name, field_kind, None)
                if reason is not None:
                    return reason
    return entry


def check_hcert(dcc: object) -> tuple[str, dict[str, Any]] | str:
    """``(type, entry)`` of a DCC that keeps to schema 1.3.x and the value sets (``type`` one
    of ``v``, ``t``, ``r``), else the reason."""
    kind = hcert_kind(dcc)
    if len(kind) > 1:
        return kind
    assert isinstance(dcc, dict)
    entry = hcert_entry(dcc, kind)
    return entry if isinstance(entry, str) else (kind, entry)


#: Where the checkpoint page reads the value sets (``web/static/js/checkpoint/dcc-schema.mjs``).
PAGE_VALUE_SETS = "web/static/js/checkpoint/dcc-valuesets.json"


def page_value_sets() -> dict[str, Any]:
    """The value sets as the checkpoint page ships them (``PAGE_VALUE_SETS``, written by
    ``scripts/gen_page_valuesets.py`` and held equal to this by tests/unit/test_dcc_schema.py):
    by the schema's name, the set's own id and its ``[code, display]`` pairs in the order
    ``eu_value_sets`` lists the codes (a JSON object would reorder codes that look like
    integers)."""
    out: dict[str, Any] = {}
    for name in VALUE_SETS:
        text = (
            resources.files("yimatong.verifier")
            .joinpath(f"data/dcc-valuesets/{name}.json")
            .read_text(encoding="utf-8")
        )
        document = json.loads(text)
        shown = value_set(name)
        out[name] = {
            "id": str(document["valueSetId"]),
            "codes": [[code, shown[code]] for code in sorted(document["valueSetValues"])],
        }
    return {
        "source": "verifier/data/dcc-valuesets (eu-dcc-valuesets "
        "60ea3d8643b004a5b9d44a698e223775d5916916, Apache-2.0)",
        "sets": out,
    }
