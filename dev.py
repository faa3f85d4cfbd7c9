#!/usr/bin/env python3
"""Two commands for a newcomer: ``python3 dev.py demo`` and ``python3 dev.py test``.

Needs only Python 3.11+. Creates ``.venv`` and installs the project into it (again only when
pyproject.toml changed), then runs the command inside it.

    python3 dev.py demo [ARGS...]   bring up the demo on SQLite (ARGS go to `yimatong demo`)
    python3 dev.py test [ARGS...]   lint, type-check, run the whole suite on every core
                                    (ARGS go to pytest, e.g. -n 0 for one process)
    python3 dev.py shell            print how to activate the environment
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".yimatong-installed"


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"dev.py: Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == want and PY.exists():
        return
    if not PY.exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(
        "dev.py: installing yimatong and its tools into .venv (a minute the first time)",
        file=sys.stderr,
    )
    run(
        [
            str(PY),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--upgrade",
            "pip",
        ]
    )
    run(
        [
            str(PY),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            f"{ROOT}[dev]",
        ]
    )
    STAMP.write_text(want)


def run(cmd: list[str]) -> None:
    code = subprocess.call(cmd, cwd=ROOT)
    if code != 0:
        sys.exit(code)


def main(argv: list[str]) -> None:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    ensure_env()
    if command == "demo":
        os.execv(str(BIN / "yimatong"), [str(BIN / "yimatong"), "demo", *rest])
    elif command == "test":
        run([str(BIN / "ruff"), "check", "src", "tests", "benchmarks", "scripts", "dev.py"])
        run(
            [
                str(BIN / "ruff"),
                "format",
                "--check",
                "src",
                "tests",
                "benchmarks",
                "scripts",
                "dev.py",
            ]
        )
        run([str(BIN / "mypy")])
        # On every core; a test file stays on one worker (its module fixtures start once).
        # ARGS may override: `python3 dev.py test -n 0 tests/unit` runs serially.
        run([str(PY), "-m", "pytest", "-n", "auto", "--dist", "loadfile", *rest])
    elif command == "shell":
        print(f"source {BIN / 'activate'}")
    else:
        sys.exit(f"dev.py: unknown command {command!r}; try demo or test")


if __name__ == "__main__":
    main(sys.argv[1:])
