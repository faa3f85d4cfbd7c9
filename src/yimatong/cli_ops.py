"""The operators' commands: the health authority's and the labs' jobs against the hub."""

from __future__ import annotations

import click

__all__ = ["ops_commands"]


def ops_commands() -> list[click.Command]:
    return []
