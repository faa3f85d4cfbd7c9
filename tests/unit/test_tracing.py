"""Contact tracing's scoring as a pure function: yimatong.domain.tracing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.domain.tracing import Leg, ScanPoint, score_candidates

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
M = timedelta(minutes=1)
CASE = "c" * 32
A, B, C = "a" * 32, "b" * 32, "d" * 32
GATE = ("330104", "杭州东站-3号闸机")
OTHER_GATE = ("330104", "杭州东站-5号闸机")


def scan(sid: str, minutes: float, place: tuple[str, str] = GATE) -> ScanPoint:
    return ScanPoint(sid, T0 + minutes * M, place[0], place[1])


def test_a_scan_at_the_same_gate_within_the_window_is_evidence_with_a_score() -> None:
    (found,) = score_candidates(CASE, [scan(CASE, 0)], [scan(A, -20)])
    assert found.sid == A
    (e,) = found.evidence
    assert (e.minutes_apart, e.same_checkpoint, e.case_at, e.at) == (20.0, True, T0, T0 - 20 * M)
    assert found.score == round(100 * (1 - 20 / 60))
    assert found.last_exposure == T0


def test_outside_the_window_another_area_or_the_case_itself_is_no_evidence() -> None:
    others = [scan(A, 31), scan(B, 5, ("330106", "西湖-1")), scan(CASE, 1)]
    assert score_candidates(CASE, [scan(CASE, 0)], others) == []


def test_the_window_is_configurable() -> None:
    wide = score_candidates(CASE, [scan(CASE, 0)], [scan(A, 50)], window=timedelta(hours=1))
    assert [c.sid for c in wide] == [A]
    assert score_candidates(CASE, [scan(CASE, 0)], [scan(A, 50)]) == []


def test_another_gate_of_the_same_area_weighs_less_and_closer_scores_higher() -> None:
    found = score_candidates(
        CASE, [scan(CASE, 0)], [scan(A, 2), scan(B, 2, OTHER_GATE), scan(C, 25)]
    )
    assert [c.sid for c in found] == [A, C, B]
    assert found[2].evidence[0].same_checkpoint is False


def test_several_co_locations_add_up_but_never_pass_100() -> None:
    cases = [scan(CASE, 0), scan(CASE, 600), scan(CASE, 1200)]
    (found,) = score_candidates(CASE, cases, [scan(A, 1), scan(A, 601), scan(A, 1201)])
    assert len(found.evidence) == 3
    (once,) = score_candidates(CASE, cases[:1], [scan(A, 1)])
    assert once.score < found.score <= 100


def test_the_same_scan_read_twice_counts_once() -> None:
    (found,) = score_candidates(CASE, [scan(CASE, 0)], [scan(A, 3), scan(A, 3)])
    assert len(found.evidence) == 1


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        score_candidates(CASE, [], [], window=timedelta(0))
    with pytest.raises(ValueError):
        score_candidates(CASE, [], [], area_weight=2)


SIDS = (A, B, C)
PLACES = (GATE, OTHER_GATE, ("330106", "西湖-1"))
points = st.builds(
    lambda sid, minutes, place: scan(sid, minutes, place),
    st.sampled_from(SIDS),
    st.integers(-120, 120),
    st.sampled_from(PLACES),
)
case_points = st.builds(
    lambda minutes, place: scan(CASE, minutes, place),
    st.integers(-60, 60),
    st.sampled_from(PLACES),
)


@settings(max_examples=200, deadline=None)
@given(cases=st.lists(case_points, max_size=5), others=st.lists(points, max_size=20))
def test_every_candidate_has_evidence_within_the_window_and_a_score_in_range(
    cases: list[ScanPoint], others: list[ScanPoint]
) -> None:
    found = score_candidates(CASE, cases, others)
    assert len({c.sid for c in found}) == len(found)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    for c in found:
        assert 0 <= c.score <= 100 and c.evidence and c.sid != CASE
        for e in c.evidence:
            assert e.minutes_apart <= 30 and e.area in {p.area for p in cases}


@settings(max_examples=200, deadline=None)
@given(
    cases=st.lists(case_points, min_size=1, max_size=5),
    others=st.lists(points, max_size=20),
    extra=points,
)
def test_more_scans_never_lower_a_score(
    cases: list[ScanPoint], others: list[ScanPoint], extra: ScanPoint
) -> None:
    before = {c.sid: c.score for c in score_candidates(CASE, cases, others)}
    after = {c.sid: c.score for c in score_candidates(CASE, cases, [*others, extra])}
    for sid, score in before.items():
        assert after[sid] >= score


def test_on_a_flight_only_the_rows_near_count_and_they_add_to_the_scans() -> None:
    flight = "aviation:CA1501:2026-12-01"

    def seat(sid: str, row: int) -> Leg:
        return Leg(sid, flight, None, f"{row}C", row, T0, T0 + 120 * M)

    found = score_candidates(
        CASE,
        [ScanPoint(CASE, T0 - 30 * M, *GATE)],
        [ScanPoint(A, T0 - 15 * M, *GATE)],
        case_legs=[seat(CASE, 30)],
        other_legs=[seat(A, 31), seat(B, 32), seat(C, 40), seat(CASE, 30)],
        seat_rows=3,
    )
    # A: 15 minutes apart at the gate (0.75) and one row apart (1 − 1/8): 1 − 0.25 × 0.125
    assert {c.sid: c.score for c in found} == {A: 97, B: 75}
    assert [type(e).__name__ for e in found[0].evidence] == ["TripEvidence", "Evidence"]
    assert found[0].last_exposure == T0 + 120 * M  # the flight's arrival
