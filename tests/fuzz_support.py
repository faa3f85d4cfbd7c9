"""Shared set-up of the decoder fuzz tests (``tests/unit/test_fuzz_codes.py``,
``tests/integration/test_fuzz_scans.py``): how many inputs, and a count of those tried.

``YMT_FUZZ_EXAMPLES`` is the number of inputs each fuzz test draws (hypothesis
``max_examples``). Unset, each test draws its ``quick`` share, so that the whole slice costs
a few seconds in ``python3 dev.py test``; the nightly run sets it (docs/development.md).
Hypothesis runs without its example database and without deadlines: what bounds the time of
one input is the decoders' input limits, which the tests check, not a timer.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings

__all__ = ["FUZZ_EXAMPLES", "TRIED", "fuzz_settings", "tried"]

#: Inputs per fuzz test when set (the nightly run); 0: each test's quick share.
FUZZ_EXAMPLES = int(os.environ.get("YMT_FUZZ_EXAMPLES", "0") or 0)

#: Inputs actually fed to a decoder in this process, by test (reported at the end of a run).
TRIED: Counter[str] = Counter()


def fuzz_settings(quick: int) -> Any:
    """Hypothesis settings for a fuzz test: ``quick`` inputs, or ``YMT_FUZZ_EXAMPLES``."""
    return settings(
        max_examples=FUZZ_EXAMPLES or quick,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


def tried(name: str, n: int = 1) -> None:
    """Count ``n`` inputs fed to a decoder by the test ``name``."""
    TRIED[name] += n
