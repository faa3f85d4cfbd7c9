"""Everything the package imports is declared, and run-time needs are not hidden in ``dev``."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert found, requirement
    return found.group(0).lower().replace("_", "-")


def _imports() -> set[str]:
    """Top-level modules imported anywhere in src/yimatong (lazily imported ones included)."""
    names: set[str] = set()
    for path in (ROOT / "src" / "yimatong").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "yimatong"}


def test_every_imported_package_is_a_declared_run_time_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    optional = project["optional-dependencies"]
    # Extras a deployment picks (PostgreSQL, the national algorithms, the benchmarks' baseline,
    # which `yimatong bench certlogic` asks for by name); never the dev tools.
    extras = {_name(r) for key in ("pg", "sm", "bench") for r in optional[key]}
    providers = packages_distributions()
    missing = {}
    for module in sorted(_imports()):
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        if not dists & (runtime | extras):
            missing[module] = sorted(dists)
    assert not missing, f"imported but not declared as run-time dependencies: {missing}"
