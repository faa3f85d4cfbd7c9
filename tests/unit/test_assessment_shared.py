"""Mode 1: another region's colour counts, but echoes of shared colours do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from yimatong.domain.assessment import assess_at, load_default_ruleset
from yimatong.domain.facts import Colour, RiskMap, SharedSummary, SubjectFacts

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _assess(*summaries: SharedSummary):  # type: ignore[no-untyped-def]
    return assess_at(SubjectFacts(summaries=summaries), RiskMap(), load_default_ruleset(), NOW)


def test_a_red_summary_from_another_region_makes_red_with_the_region_named() -> None:
    result = _assess(
        SharedSummary("420000", Colour.RED, ("stay.high-risk",), NOW - timedelta(hours=2))
    )
    assert result.colour is Colour.RED
    reason = next(r for r in result.reasons if r.code == "shared.red")
    assert reason.detail["region"] == "420000"


def test_the_latest_summary_of_a_region_wins() -> None:
    result = _assess(
        SharedSummary("420000", Colour.RED, ("stay.high-risk",), NOW - timedelta(hours=30)),
        SharedSummary("420000", Colour.GREEN, (), NOW - timedelta(hours=1)),
    )
    assert result.colour is Colour.GREEN


def test_old_summaries_and_echoes_are_ignored() -> None:
    old = SharedSummary("420000", Colour.RED, ("contact.close",), NOW - timedelta(hours=73))
    echo = SharedSummary("520000", Colour.RED, ("shared.red",), NOW - timedelta(hours=1))
    assert _assess(old).colour is Colour.GREEN
    assert _assess(echo).colour is Colour.GREEN


def test_a_yellow_summary_gives_yellow() -> None:
    result = _assess(SharedSummary("330000", Colour.YELLOW, ("stay.medium-risk",), NOW))
    assert result.colour is Colour.YELLOW
    assert [r.code for r in result.reasons] == ["shared.yellow"]
