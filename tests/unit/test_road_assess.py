"""Defect catalogue and road rule set as data; observations; assess_cell's confirmation rules."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.adapters.crypto import Algorithm, generate_signing_key
from yimatong.domain.errors import Conflict, InvalidInput, Unauthorized
from yimatong.road.assess import assess_cell
from yimatong.road.observations import (
    AcceptedObservation,
    Observation,
    OwnerKind,
    RegisteredDevice,
    accept,
    split_batch,
)
from yimatong.road.rules import (
    Colour,
    InvalidRoadRuleSet,
    RoadRuleSet,
    Severity,
    load_builtin_catalogue,
    load_default_road_ruleset,
)

RULES = load_default_road_ruleset()
CATALOGUE = RULES.catalogue
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
IMAGE = hashlib.sha256(b"frame").hexdigest()


def obs(
    device: str = "car-1",
    seq: int = 1,
    at: datetime = T0,
    defect: str | None = "pothole",
    severity: Severity | None = Severity.SEVERE,
    confidence: float = 0.9,
) -> Observation:
    return Observation(
        device, seq, at, 120.17, 30.28, 90.0, 8.0, defect, severity, confidence, IMAGE
    )


def seen(o: Observation, trusted: bool = False) -> AcceptedObservation:
    return AcceptedObservation(o, OwnerKind.VEHICLE, signed=trusted, trusted=trusted)


def test_the_catalogue_has_the_sixteen_types_of_the_issue_plus_block_cracking() -> None:
    assert CATALOGUE.codes == {
        "pothole", "subsidence", "longitudinal_crack", "transverse_crack", "alligator_crack",
        "rutting", "bleeding", "ravelling", "patch_failure", "manhole_cover_missing",
        "manhole_settlement", "edge_damage", "standing_water", "debris", "marking_wear",
        "block_crack",
    }  # fmt: skip
    assert CATALOGUE.get("manhole_cover_missing").levels == (Severity.SEVERE,)
    assert all(d.sources for d in CATALOGUE.types)


def test_the_default_rule_set_colours_every_level_of_every_type() -> None:
    for defect in CATALOGUE.types:
        for level in defect.levels:
            assert RULES.colour_of(defect.code, level) in (Colour.YELLOW, Colour.RED)
    assert RULES.colour_of("manhole_cover_missing", Severity.SEVERE) is Colour.RED
    assert RULES.deadlines[Severity.SEVERE] < RULES.deadlines[Severity.LIGHT]


def _raw_ruleset() -> dict:
    import json
    from importlib import resources

    path = resources.files("yimatong.road").joinpath("data/ruleset-road-default-2026.1.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_rule_set_missing_a_type_s_colour_is_refused_naming_the_place() -> None:
    raw = _raw_ruleset()
    del raw["colours"]["debris"]
    with pytest.raises(InvalidRoadRuleSet) as caught:
        RoadRuleSet.from_mapping(raw, load_builtin_catalogue("2026.1"))
    assert caught.value.field == "colours.debris"


def test_a_rule_set_with_a_single_device_quorum_is_refused() -> None:
    raw = _raw_ruleset()
    raw["confirmation"]["min_devices"] = 1
    with pytest.raises(InvalidRoadRuleSet):
        RoadRuleSet.from_mapping(raw, CATALOGUE)


@pytest.mark.parametrize(
    ("field", "value"),
    [("observed_at", datetime(2026, 12, 1)), ("lon", 181.0), ("lat", -91.0), ("heading_deg", 360.0),
     ("speed_mps", -1.0), ("confidence", 1.5), ("image_sha256", "ABC"), ("seq", -1),
     ("device_id", ""), ("severity", None)],
)  # fmt: skip
def test_an_observation_with_a_bad_field_is_invalid_input(field: str, value: object) -> None:
    payload = obs().payload()
    payload[field] = value.isoformat() if isinstance(value, datetime) else value
    with pytest.raises(InvalidInput):
        Observation.from_payload(payload)


def test_an_observation_round_trips_through_its_payload() -> None:
    o = obs()
    assert Observation.from_payload(o.payload()) == o


def test_an_unknown_defect_type_or_level_is_refused_at_acceptance() -> None:
    with pytest.raises(InvalidInput):
        accept(obs(defect="unicorn"), None, None, CATALOGUE)
    with pytest.raises(InvalidInput):
        accept(obs(defect="manhole_cover_missing", severity=Severity.LIGHT), None, None, CATALOGUE)


def test_a_registered_vehicle_s_signature_is_checked_and_trust_comes_from_the_registry() -> None:
    key = generate_signing_key(Algorithm.EDDSA)
    device = RegisteredDevice(
        "car-1", OwnerKind.VEHICLE, "xiacheng-roads", key.public, trusted=True
    )
    o = obs()
    accepted = accept(o, key.sign(o.signing_bytes()), device, CATALOGUE)
    assert accepted.trusted and accepted.signed
    with pytest.raises(Unauthorized):
        accept(o, None, device, CATALOGUE)
    with pytest.raises(Unauthorized):
        accept(obs(seq=2), key.sign(o.signing_bytes()), device, CATALOGUE)
    citizen = accept(obs(device="phone-9"), None, None, CATALOGUE)
    assert citizen.owner_kind is OwnerKind.CITIZEN and not citizen.trusted
    with pytest.raises(ValueError):
        RegisteredDevice("p", OwnerKind.CITIZEN, "x", key.public, trusted=True)


def test_ingest_is_idempotent_per_device_and_sequence_number() -> None:
    a, b = obs(seq=1), obs(seq=2)
    split = split_batch([a, b, a], {a.key: a.digest()})
    assert split.new == (b,)
    assert split.duplicates == (a, a)
    with pytest.raises(Conflict):
        split_batch([obs(seq=1, confidence=0.5)], {a.key: a.digest()})
    with pytest.raises(Conflict):
        split_batch([b, obs(seq=2, confidence=0.5)], {})


def test_one_untrusted_observation_does_not_colour_the_cell() -> None:
    result = assess_cell([seen(obs())], RULES, T0 + timedelta(hours=1))
    assert result.colour is Colour.GREEN
    assert result.pending == ("pothole",)


def test_one_trusted_vehicle_confirms_a_pothole_red_at_once() -> None:
    result = assess_cell([seen(obs(), trusted=True)], RULES, T0)
    assert result.colour is Colour.RED
    assert [r.code for r in result.reasons] == ["road.pothole.severe"]
    assert result.confirmed_at == T0
    assert result.reasons[0].trusted


def test_three_distinct_devices_within_the_window_confirm_at_the_third() -> None:
    reports = [seen(obs(device=f"phone-{i}", at=T0 + timedelta(hours=i))) for i in range(3)]
    result = assess_cell(reports, RULES, T0 + timedelta(days=1))
    assert result.colour is Colour.RED
    assert result.confirmed_at == T0 + timedelta(hours=2)
    assert result.reasons[0].devices == 3
    assert result.reasons[0].first_seen_at == T0


def test_many_reports_from_one_device_are_one_device() -> None:
    reports = [seen(obs(seq=i, at=T0 + timedelta(minutes=i))) for i in range(10)]
    assert assess_cell(reports, RULES, T0 + timedelta(hours=1)).colour is Colour.GREEN


def test_devices_further_apart_than_the_window_do_not_confirm() -> None:
    gap = RULES.confirmation.window + timedelta(minutes=1)
    reports = [seen(obs(device=f"phone-{i}", at=T0 + i * gap)) for i in range(3)]
    assert assess_cell(reports, RULES, T0 + 3 * gap).colour is Colour.GREEN


def test_low_confidence_future_and_stale_observations_do_not_count() -> None:
    low = seen(obs(confidence=0.5), trusted=True)
    future = seen(obs(at=T0 + timedelta(hours=2)), trusted=True)
    stale = seen(obs(at=T0 - RULES.confirmation.lookback - timedelta(days=1)), trusted=True)
    assert assess_cell([low, future, stale], RULES, T0 + timedelta(hours=1)).colour is Colour.GREEN


def test_the_worst_colour_wins_and_reasons_list_worst_first() -> None:
    crack = seen(obs(defect="longitudinal_crack", severity=Severity.LIGHT), trusted=True)
    hole = seen(obs(seq=2, at=T0 + timedelta(hours=1)), trusted=True)
    result = assess_cell([crack, hole], RULES, T0 + timedelta(hours=2))
    assert result.colour is Colour.RED
    assert [r.code for r in result.reasons] == [
        "road.pothole.severe",
        "road.longitudinal_crack.light",
    ]
    assert result.confirmed_at == T0 + timedelta(hours=1)


def test_a_finding_takes_the_worst_level_seen() -> None:
    light = seen(obs(severity=Severity.LIGHT), trusted=True)
    assert assess_cell([light], RULES, T0).colour is Colour.YELLOW
    worse = seen(obs(device="phone-1", at=T0 + timedelta(hours=1), severity=Severity.MODERATE))
    assert assess_cell([light, worse], RULES, T0 + timedelta(hours=1)).colour is Colour.RED


def test_a_confirmed_clear_pass_turns_the_cell_green_and_a_new_finding_reds_it_again() -> None:
    hole = seen(obs(), trusted=True)
    clear = seen(obs(seq=2, at=T0 + timedelta(days=1), defect=None, severity=None), trusted=True)
    result = assess_cell([hole, clear], RULES, T0 + timedelta(days=1))
    assert result.colour is Colour.GREEN
    assert result.cleared_at == T0 + timedelta(days=1)
    again = seen(obs(seq=3, at=T0 + timedelta(days=2)), trusted=True)
    assert assess_cell([hole, clear, again], RULES, T0 + timedelta(days=2)).colour is Colour.RED


def test_an_unconfirmed_clear_pass_does_not_clear() -> None:
    hole = seen(obs(), trusted=True)
    clear = seen(obs(device="phone-1", at=T0 + timedelta(hours=1), defect=None, severity=None))
    assert assess_cell([hole, clear], RULES, T0 + timedelta(hours=2)).colour is Colour.RED


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        assess_cell([], RULES, datetime(2026, 12, 1))


def test_a_trusted_car_and_a_third_phone_at_one_instant_confirm_as_trusted_in_any_order() -> None:
    phones = [seen(obs(f"phone-{i}", i, T0)) for i in (1, 3)]
    car = seen(obs("car-1", 4, T0 + timedelta(hours=1)), trusted=True)
    third = seen(obs("phone-2", 2, T0 + timedelta(hours=1)))
    now = T0 + timedelta(days=1)
    one = assess_cell([*phones, car, third], RULES, now)
    other = assess_cell([*phones, third, car], RULES, now)
    assert one == other and one.reasons[0].trusted


reports = st.lists(
    st.tuples(
        st.sampled_from(["car-1", "car-2", "phone-1", "phone-2", "phone-3"]),
        st.integers(min_value=0, max_value=96),  # hours after T0
        st.sampled_from([None, Severity.LIGHT, Severity.MODERATE, Severity.SEVERE]),
        st.booleans(),
    ),
    max_size=12,
)


@settings(max_examples=150)
@given(reports, st.permutations(range(12)))
def test_the_colour_does_not_depend_on_the_order_of_observations(
    raw: list[tuple[str, int, Severity | None, bool]], order: list[int]
) -> None:
    items = [
        seen(obs(d, i, T0 + timedelta(hours=h), None if s is None else "pothole", s), trusted=t)
        for i, (d, h, s, t) in enumerate(raw)
    ]
    shuffled = [items[i] for i in order if i < len(items)]
    now = T0 + timedelta(days=5)
    assert assess_cell(items, RULES, now) == assess_cell(shuffled, RULES, now)


def test_observations_of_the_same_instant_give_one_answer_whatever_their_order() -> None:
    """Three phones and a trusted vehicle at one instant: the vehicle confirms, stored first or
    last (hypothesis found the order mattering: the third phone confirmed first by count)."""
    phones = [seen(obs(f"phone-{n}", n, T0, severity=Severity.LIGHT)) for n in (1, 2, 3)]
    car = seen(obs("car-1", 4, T0, severity=Severity.LIGHT), trusted=True)
    now = T0 + timedelta(hours=1)
    first, last = assess_cell([car, *phones], RULES, now), assess_cell([*phones, car], RULES, now)
    assert first == last
    assert first.reasons[0].trusted
