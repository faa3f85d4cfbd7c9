"""The demo's entry policies, as ``(region, PUT body)`` pairs for ``PUT /v1/policies/{region}``.

The data lives in ``verifier/data/demo-policies.json`` (docs/policies.md explains each rule);
the demo loader applies it with the health authority's credential.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["DEMO_POLICIES", "demo_policy_entries"]


def demo_policy_entries() -> list[dict[str, Any]]:
    """The entries of the data file: ``{"region", "place_kind", "description", "rule"}``."""
    text = (
        resources.files("yimatong.verifier")
        .joinpath("data/demo-policies.json")
        .read_text(encoding="utf-8")
    )
    entries: list[dict[str, Any]] = json.loads(text)["policies"]
    return entries


DEMO_POLICIES: list[tuple[str, dict[str, Any]]] = [
    (
        entry["region"],
        {
            "place_kind": entry.get("place_kind", "any"),
            "rule": entry["rule"],
            "description": entry["description"],
        },
    )
    for entry in demo_policy_entries()
]
