"""The pure checks every node's edge runs (``yimatong.domain.edge``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from yimatong.domain.edge import (
    EVENT_PAST,
    MAX_ID,
    BadValue,
    check_event,
    check_id,
    check_name,
    check_text,
    check_time,
    is_digits,
    parse_time,
)
from yimatong.domain.errors import InvalidInput

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_a_time_whose_utc_form_leaves_the_range_is_refused_not_overflowed() -> None:
    # Valid-looking, and datetime holds it; its UTC form is before year 1.
    with pytest.raises(BadValue) as caught:
        parse_time("0001-01-01T00:00:00+14:00", "at")
    assert caught.value.field == "at"
    assert "1900-01-01" in caught.value.reason
    with pytest.raises(BadValue):
        parse_time("9999-12-31T23:59:59-14:00", "at")
    with pytest.raises(BadValue):
        check_time(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), "at")


def test_times_are_normalised_to_utc() -> None:
    parsed = parse_time("2026-11-20T10:00:00.1234567+08:00", "at")
    assert parsed == datetime(2026, 11, 20, 2, 0, 0, 123456, tzinfo=UTC)
    assert parsed.tzinfo is UTC
    assert parse_time("2026-11-20t02:00:00z", "at") == NOW
    assert parse_time("2026-11-20 02:00Z", "at") == NOW  # seconds may be left out
    assert parse_time("2026-12-31T23:59:60Z", "at").second == 59  # a leap second


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T10:00:00",  # no offset
        "2026-11-20",
        "20261120T100000+08:00",  # ISO 8601 basic form: fromisoformat takes it, RFC 3339 not
        "２０２６-11-20T10:00:00+08:00",  # full-width digits match \\d
        "2026-02-30T10:00:00Z",
        "2026-11-20T10:00:00+24:00",
        "2026-11-20T10:00:00+08:60",
        "2026-11-20T10:00:00+08:00\n",
        None,
        1763604000,
    ],
)
def test_what_is_not_an_rfc3339_time_with_an_offset_is_refused(text: object) -> None:
    with pytest.raises(InvalidInput):
        parse_time(text, "at")


def test_a_refused_value_is_also_a_value_error_for_code_reading_documents() -> None:
    with pytest.raises(ValueError):
        parse_time("soon", "at")


def test_events_lie_within_a_year_before_now_and_five_minutes_after() -> None:
    assert check_event(NOW - EVENT_PAST, NOW, "at") == NOW - EVENT_PAST
    assert check_event(NOW + timedelta(minutes=5), NOW, "at")
    with pytest.raises(BadValue, match="in the future"):
        check_event(NOW + timedelta(minutes=6), NOW, "at")
    with pytest.raises(BadValue, match="366 days in the past"):
        check_event(NOW - EVENT_PAST - timedelta(seconds=1), NOW, "at")
    assert check_event(NOW + timedelta(days=30), NOW, "to", ahead=EVENT_PAST)


def test_ids_fit_a_signed_64_bit_column() -> None:
    assert check_id(0, "id") == 0
    assert check_id(MAX_ID, "id") == MAX_ID
    for bad in (-1, MAX_ID + 1, True, 1.0, "1"):
        with pytest.raises(BadValue):
            check_id(bad, "id")  # type: ignore[arg-type]


def test_codes_are_ascii_digits_only() -> None:
    assert is_digits("330106", 6)
    assert not is_digits("３３０１０６", 6)  # full-width: str.isdigit() and \\d say yes
    assert not is_digits("33010٦", 6)  # an Arabic-Indic six
    assert not is_digits("²", 1)  # isdigit() is True; int() fails
    assert not is_digits("", None)
    assert not is_digits(330106, 6)


@pytest.mark.parametrize(
    "name",
    [
        "张\x00三",  # NUL
        "\u202e三张",  # right-to-left override
        "张\u200b三",  # zero-width space
        "\ufeff张三",  # byte-order mark
        "张三\n",
        "张\u2028三",  # line separator
        "张\ud800三",  # a lone surrogate
    ],
)
def test_names_refuse_control_and_format_characters(name: str) -> None:
    with pytest.raises(BadValue) as caught:
        check_name(name)
    assert "U+" in caught.value.reason
    assert name not in caught.value.message


def test_names_in_every_script_pass() -> None:
    for name in ("张三丰", "欧阳修", "阿卜杜拉·艾合买提", "John Smith", "Ñúñez", "𠀀"):
        assert check_name(name) == name


def test_long_free_text_may_hold_line_breaks_and_tabs_but_not_other_controls() -> None:
    statement = "I was not there.\r\nThe scan was at another gate.\tThanks"
    assert check_text(statement, "statement", multiline=True) == statement
    with pytest.raises(BadValue):
        check_text(statement, "statement")
    with pytest.raises(BadValue):
        check_text("ok\x1b[31m", "statement", multiline=True)
