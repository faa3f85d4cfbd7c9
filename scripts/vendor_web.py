#!/usr/bin/env python3
"""Rebuild the vendored browser libraries under ``src/yimatong/web/static/vendor``.

    python3 scripts/vendor_web.py          # npm ci in vendor/, then copy
    python3 scripts/vendor_web.py --check  # exit 1 if the committed copies differ

``vendor/package.json`` pins each npm package and lists, under ``yimatong-vendor``, the files
taken from it and its licence files; ``vendor/package-lock.json`` pins the exact tarballs.
Install scripts never run (``--ignore-scripts``: swagger-ui-dist pulls in an analytics
package whose install script phones home). Each vendored text file starts with a comment that
names its package and version, source-map references are dropped (the maps are not shipped),
and ``VENDORED.json`` records every file with its SHA-256. The copies are committed, so a
machine with only Python needs no npm.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "vendor"
TARGET = ROOT / "src" / "yimatong" / "web" / "static" / "vendor"
COMMENT = {".js": ("/*! ", " */"), ".css": ("/*! ", " */"), ".html": ("<!-- ", " -->")}


def header(package: str, version: str, licence: str, suffix: str) -> bytes:
    start, end = COMMENT.get(suffix, ("", ""))
    if not start:
        return b""
    text = f"{package}@{version} ({licence}) from npm, vendored by scripts/vendor_web.py"
    return f"{start}{text}{end}\n".encode()


def strip_source_map(data: bytes) -> bytes:
    lines = data.rstrip(b"\n").split(b"\n")
    while lines and b"sourceMappingURL=" in lines[-1]:
        lines.pop()
    return b"\n".join(lines) + b"\n"


def build(out: Path) -> None:
    subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=VENDOR, check=True
    )
    manifest = json.loads((VENDOR / "package.json").read_text(encoding="utf-8"))
    record: dict[str, dict[str, object]] = {}
    for package, spec in sorted(manifest["yimatong-vendor"].items()):
        source = VENDOR / "node_modules" / package
        meta = json.loads((source / "package.json").read_text(encoding="utf-8"))
        version, licence = meta["version"], meta.get("license", "see LICENSE")
        dest = out / package
        dest.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}
        for name in [*spec["files"], *spec.get("licence", [])]:
            data = (source / name).read_bytes()
            suffix = Path(name).suffix
            if suffix in COMMENT and name in spec["files"]:
                data = header(package, version, licence, suffix) + strip_source_map(data)
            (dest / name).write_bytes(data)
            files[name] = hashlib.sha256(data).hexdigest()
        record[package] = {
            "version": version,
            "licence": licence,
            "why": spec["why"],
            "files": files,
        }
    (out / "VENDORED.json").write_text(
        json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed copies")
    args = parser.parse_args()
    if not args.check:
        if TARGET.exists():
            shutil.rmtree(TARGET)
        build(TARGET)
        print(f"vendored into {TARGET.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp))
        fresh = sorted(p.relative_to(tmp) for p in Path(tmp).rglob("*") if p.is_file())
        have = sorted(p.relative_to(TARGET) for p in TARGET.rglob("*") if p.is_file())
        differ = [
            str(p)
            for p in fresh
            if p not in have or (Path(tmp) / p).read_bytes() != (TARGET / p).read_bytes()
        ]
        extra = [str(p) for p in have if p not in fresh]
    if differ or extra:
        print(f"vendored files differ: {differ + extra}", file=sys.stderr)
        return 1
    print("vendored files match vendor/package-lock.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
