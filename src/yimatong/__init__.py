"""yimatong (一码通): mutual recognition of regional health codes.

The package runs every role of the federation: issuer nodes, the national hub, legacy
adapters and checkpoint verifiers. See docs/architecture.md for the map.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
