#!/usr/bin/env python3
"""Rebuild the vendored browser libraries under ``src/yimatong/web/static/vendor``.

    python3 scripts/vendor_web.py          # npm ci in vendor/, then copy and bundle
    python3 scripts/vendor_web.py --check  # exit 1 if the committed copies differ

``vendor/package.json`` pins each npm package and says, under ``yimatong-vendor``, what is
taken from it: ``files`` (name in the package folder → path in the npm package, copied as it
is), or ``bundle`` (name → an ES-module entry, bundled and minified by esbuild, for packages
published only as CommonJS/UMD), its licence files, and ``dest`` when it is not shipped (the
accessibility checker goes to the browser tests). ``vendor/package-lock.json`` pins the exact
tarballs. Install scripts never run (``--ignore-scripts``: swagger-ui-dist pulls in an
analytics package whose install script reports to its vendor). Each vendored JS/CSS file
starts with a comment naming its package and version, source-map references are dropped (the
maps are not shipped), and ``VENDORED.json`` in each destination records every file with its
SHA-256. The copies are committed, so a machine with only Python needs no npm.
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
SHIPPED = Path("src/yimatong/web/static/vendor")
COMMENT = {".js": ("/*! ", " */"), ".mjs": ("/*! ", " */"), ".css": ("/*! ", " */")}


def header(package: str, version: str, licence: str, suffix: str) -> bytes:
    start, end = COMMENT[suffix]
    text = f"{package}@{version} ({licence}) from npm, vendored by scripts/vendor_web.py"
    return f"{start}{text}{end}\n".encode()


def strip_source_map(data: bytes) -> bytes:
    lines = data.rstrip(b"\n").split(b"\n")
    while lines and b"sourceMappingURL=" in lines[-1]:
        lines.pop()
    return b"\n".join(lines) + b"\n"


def bundle(entry: str, workdir: Path) -> bytes:
    """An ES module from ``entry`` (source text importing npm packages), minified."""
    source = workdir / "entry.mjs"
    source.write_text(entry + "\n", encoding="utf-8")
    out = workdir / "out.mjs"
    subprocess.run(
        [str(VENDOR / "node_modules" / ".bin" / "esbuild"), str(source), "--bundle",
         "--format=esm", "--minify", "--target=es2020", "--legal-comments=inline",
         "--log-level=warning", f"--outfile={out}"],
        cwd=VENDOR, check=True,
    )  # fmt: skip
    return out.read_bytes()


def build(root: Path) -> list[Path]:
    """Vendor everything under ``root`` (the project root, or a scratch copy of its layout)."""
    subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=VENDOR, check=True
    )
    manifest = json.loads((VENDOR / "package.json").read_text(encoding="utf-8"))
    records: dict[Path, dict[str, dict[str, object]]] = {}
    for package, spec in sorted(manifest["yimatong-vendor"].items()):
        source = VENDOR / "node_modules" / package
        meta = json.loads((source / "package.json").read_text(encoding="utf-8"))
        version, licence = meta["version"], meta.get("license", "see LICENSE")
        dest_root = root / spec.get("dest", SHIPPED)
        dest = dest_root / package
        dest.mkdir(parents=True, exist_ok=True)
        made: dict[str, bytes] = {}
        for name, path in spec.get("files", {}).items():
            made[name] = (source / path).read_bytes()
        with tempfile.TemporaryDirectory(dir=VENDOR) as tmp:
            for name, entry in spec.get("bundle", {}).items():
                made[name] = bundle(entry, Path(tmp))
        files: dict[str, str] = {}
        for name, data in made.items():
            suffix = Path(name).suffix
            if suffix in COMMENT:
                data = header(package, version, licence, suffix) + strip_source_map(data)
            (dest / name).write_bytes(data)
            files[name] = hashlib.sha256(data).hexdigest()
        for name in spec.get("licence", []):
            data = (source / name).read_bytes()
            (dest / name).write_bytes(data)
            files[name] = hashlib.sha256(data).hexdigest()
        records.setdefault(dest_root, {})[package] = {
            "version": version,
            "licence": licence,
            "why": spec["why"],
            "files": files,
        }
    for dest_root, record in records.items():
        (dest_root / "VENDORED.json").write_text(
            json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return sorted(records)


def _files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed copies")
    args = parser.parse_args()
    if not args.check:
        manifest = json.loads((VENDOR / "package.json").read_text(encoding="utf-8"))
        for dest in {
            spec.get("dest", str(SHIPPED)) for spec in manifest["yimatong-vendor"].values()
        }:
            shutil.rmtree(ROOT / dest, ignore_errors=True)
        for dest_root in build(ROOT):
            print(f"vendored into {dest_root.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        differ = []
        for fresh_root in build(Path(tmp)):
            relative = fresh_root.relative_to(tmp)
            fresh, have = _files(fresh_root), _files(ROOT / relative)
            differ += [str(relative / p) for p in fresh.keys() | have.keys()
                       if fresh.get(p) != have.get(p)]  # fmt: skip
    if differ:
        print(
            f"vendored files differ from vendor/package-lock.json: {sorted(differ)}",
            file=sys.stderr,
        )
        return 1
    print("vendored files match vendor/package-lock.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
