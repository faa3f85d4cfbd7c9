#!/usr/bin/env python3
"""Copy the kept public DCC and SHC test data from local git copies of their repositories.

    python scripts/copy_public_intl_vectors.py DGC_TESTDATA_GIT SDK_GIT HEALTH_CARDS_GIT

Each argument is a git directory (a clone, or a bare copy) of, in order,
eu-digital-green-certificates/dgc-testdata, smart-on-fhir/health-cards-validation-SDK and
smart-on-fhir/health-cards; files are read from their HEAD with ``git show`` and written under
tests/vectors/dcc/public/ and tests/vectors/shc/public/ with the commit in ``SOURCE``.

What is kept (tests/vectors/*/README.md says why): every DCC file of ``common/`` and of each
country except NL and its 288 files, of which the first 4 of each kind are kept; the DCC files
lose their ``2DCODE`` member (a base64 PNG of the QR code; no yimatong verifier reads pictures),
nothing else is changed. SHC: the numeric QR texts and JWS texts of ``testdata/`` signed by the
specification's example issuer, and that issuer's JWKS (expected.json, written by hand from
the SDK's tests/card.test.ts and tests/api.test.ts, says what each should give).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "tests" / "vectors"
# Signed by an issuer whose keys are not published in either repository, and no SDK test
# says what verifying them should give.
_NO_SDK_EXPECTATION = frozenset(
    ("test-example-00-d-jws-jws_too_long.txt", "test-example-00-d-jws-no_deflate.txt")
)


def _git(repo: str, *args: str) -> bytes:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True).stdout


def _files(repo: str) -> list[str]:
    return _git(repo, "ls-tree", "-r", "--name-only", "HEAD").decode().split()


def copy_dcc(repo: str) -> int:
    out = ROOT / "dcc" / "public"
    kept = 0
    nl: dict[str, int] = {}
    for path in _files(repo):
        if "/2DCode/raw/" not in path or not path.endswith(".json"):
            continue
        if path.startswith("NL/"):
            kind = path.rsplit("-", 1)[-1]
            if nl.get(kind, 0) >= 4:
                continue
            nl[kind] = nl.get(kind, 0) + 1
        try:
            data = json.loads(_git(repo, "show", f"HEAD:{path}"))
        except json.JSONDecodeError:
            continue
        data.pop("2DCODE", None)
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        kept += 1
    commit = _git(repo, "rev-parse", "HEAD").decode().strip()
    (out / "SOURCE").write_text(f"eu-digital-green-certificates/dgc-testdata {commit}\n")
    return kept


def copy_shc(sdk: str, spec: str) -> int:
    out = ROOT / "shc" / "public"
    out.mkdir(parents=True, exist_ok=True)
    kept = 0
    for path in _files(sdk):
        name = path.rsplit("/", 1)[-1]
        if not path.startswith("testdata/test-example-") or not name.endswith(".txt"):
            continue
        if name in _NO_SDK_EXPECTATION:
            continue
        (out / name).write_bytes(_git(sdk, "show", f"HEAD:{path}"))
        kept += 1
    jwks = _git(spec, "show", "HEAD:generate-examples/issuer/.well-known/jwks.json")
    (out / "issuer-jwks.json").write_bytes(jwks)
    lines = [
        "smart-on-fhir/health-cards-validation-SDK "
        + _git(sdk, "rev-parse", "HEAD").decode().strip(),
        f"smart-on-fhir/health-cards {_git(spec, 'rev-parse', 'HEAD').decode().strip()}",
    ]
    (out / "SOURCE").write_text("\n".join(lines) + "\n")
    return kept


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        sys.exit(__doc__)
    print("dcc:", copy_dcc(argv[0]), "files")
    print("shc:", copy_shc(argv[1], argv[2]), "files")


if __name__ == "__main__":
    main(sys.argv[1:])
