"""Why a DENY: the facts about the holder that fail the entry policy, and only those.

The facts a checkpoint knows about the holder — the colour (with its reason codes), the
temperature taken at the gate, the test results — are each tried against the policy:

1. a fact that fails the policy *by itself* (every other fact at its most favourable value)
   is a reason: a red code under "green and below 37.3 °C", and so is 38.5 °C, but 36.5 °C is
   not;
2. if no fact does — only a combination fails, as under "green, or yellow with a test today"
   — each fact whose favourable value alone would let the holder through is a reason;
3. if neither finds one (the policy fails even for the most favourable holder: a gate closed
   to everyone), only the policy is named.

Pure, and a handful of evaluations of a rule already compiled, on the DENY path only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from yimatong.verifier.texts import colour_label, reason_label

if TYPE_CHECKING:
    from yimatong.verifier.policy import Facts

__all__ = ["HOLDER_FACTS", "why_denied"]

#: The facts about the holder that a DENY may name (``Facts.favourable`` knows their best).
HOLDER_FACTS = ("colour", "temperature", "tests")


def why_denied(
    holds: Callable[[Facts], bool], facts: Facts
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(zh, en) reasons for a DENY under the rule ``holds`` evaluates (see the module)."""
    known = tuple(name for name in HOLDER_FACTS if _known(facts, name))
    if not known or not holds(facts.favourable(known)):
        return (), ()  # 3. not about the holder
    alone = [n for n in known if not holds(facts.favourable(tuple(k for k in known if k != n)))]
    chosen = alone or [n for n in known if holds(facts.favourable((n,)))]
    labels = [_label(facts, name) for name in chosen]
    return tuple(zh for zh, _ in labels), tuple(en for _, en in labels)


def _known(facts: Facts, name: str) -> bool:
    """Only a fact the checkpoint knows can be a reason (unknowns were assumed favourable)."""
    if name == "colour":
        return facts.colour is not None
    if name == "temperature":
        return facts.temperature is not None
    return facts.tests_known


def _label(facts: Facts, name: str) -> tuple[str, str]:
    if name == "colour":
        zh, en = colour_label(facts.colour)
        labels = [reason_label(r) for r in facts.reasons]
        if labels:
            zh += "（" + "、".join(z for z, _ in labels) + "）"
            en += " (" + ", ".join(e for _, e in labels) + ")"
        return zh, en
    if name == "temperature":
        assert facts.temperature is not None
        return (
            f"现场体温 {facts.temperature:.1f} °C",
            f"temperature at the gate {facts.temperature:.1f} °C",
        )
    hours = facts.hours_since_negative
    if hours is None:
        return "无核酸检测阴性记录", "no negative test on record"
    return (
        f"最近一次核酸阴性采样于 {hours} 小时前",
        f"the last negative test was sampled {hours} hours ago",
    )
