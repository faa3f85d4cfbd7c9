"""The per-batch forms of the edge checks give exactly the answers of the general ones.

``EventTimes`` against ``check_event(parse_time(...))``, ``DocumentChecks`` against
``validate_document``, ``Pseudonyms`` against ``subject_id`` (and so against ``hmac``): the lab
upload and the CLI use the batch forms, so any difference would be a row accepted or refused
differently from a single request.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.domain.edge import BadValue, EventTimes, check_event, parse_time
from yimatong.domain.errors import InvalidInput
from yimatong.domain.identity import (
    DocumentChecks,
    DocumentType,
    Pseudonyms,
    check_character,
    subject_id,
    validate_document,
)

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
TODAY = NOW.date()
SECRET = bytes(range(32))
FAST = settings(max_examples=300, deadline=None, database=None)


def _general_time(text: object) -> datetime | str:
    try:
        return check_event(parse_time(text, "sampled_at"), NOW, "sampled_at")
    except BadValue as exc:
        return exc.message


def _batch_time(times: EventTimes, text: object) -> datetime | str:
    try:
        return times.get(text, "sampled_at")
    except BadValue as exc:
        return exc.message


_MOMENTS = st.datetimes(
    min_value=datetime(1899, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)
_OFFSETS = st.sampled_from(["Z", "+00:00", "+08:00", "-05:30", "+14:00", "-12:00", "+08:60"])


@st.composite
def _time_texts(draw: st.DrawFn) -> str:
    when = draw(_MOMENTS)
    form = draw(
        st.sampled_from(
            ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dt%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f"]
        )
    )
    text = when.strftime(form)
    if "." in text:
        text = text[: text.index(".") + draw(st.integers(1, 10))]  # 1 to 9 digits
    if draw(st.booleans()):
        text = text.replace(":00", ":60", 1)  # a leap second, or a 60th minute
    return text + draw(st.one_of(_OFFSETS, st.just("")))


@FAST
@given(st.lists(st.one_of(_time_texts(), st.text(max_size=30), st.integers()), max_size=8))
def test_event_times_answer_as_parse_time_and_check_event(texts: list[object]) -> None:
    times = EventTimes(NOW)
    for text in texts + texts:  # the second time from what it remembered
        assert _batch_time(times, text) == _general_time(text)


def test_event_times_window_ends_are_those_of_check_event() -> None:
    times = EventTimes(NOW)
    for text in (
        (NOW + timedelta(minutes=5)).isoformat(),
        (NOW + timedelta(minutes=5, seconds=1)).isoformat(),
        (NOW - timedelta(days=366)).isoformat(),
        (NOW - timedelta(days=366, seconds=1)).isoformat(),
        "2026-11-20T10:05:00+08:00",
        "2026-11-20T10:05:01+08:00",
        "2026-11-19T08:00:00+08:60",  # an offset's minute 60, which fromisoformat takes
        "2026-11-19T24:00:00+08:00",
        "2026-11-19T08:60:00+08:00",
        "2026-11-19T08:00:60+08:00",  # a leap second
        "2026-11-19T08:00:00.1234567+08:00",
    ):
        assert _batch_time(times, text) == _general_time(text), text


def _general_document(doc_type: DocumentType, number: str) -> str:
    try:
        return "ok " + validate_document(doc_type, number, today=TODAY)
    except InvalidInput as exc:
        return f"{type(exc).__name__}: {exc.message}"


def _batch_document(checks: DocumentChecks, doc_type: DocumentType, number: str) -> str:
    try:
        return "ok " + checks.normal(doc_type, number)
    except InvalidInput as exc:
        return f"{type(exc).__name__}: {exc.message}"


@st.composite
def _resident_numbers(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["330106", "330103", "110000", "441900", "999999", "33010a"]))
    birth = draw(
        st.one_of(
            st.dates(date(1890, 1, 1), TODAY + timedelta(days=30)).map(
                lambda d: d.strftime("%Y%m%d")
            ),
            st.text("0123456789", min_size=8, max_size=8),
        )
    )
    seq = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = area + birth + seq
    check = check_character(first17) if first17.isdigit() else "0"
    if draw(st.booleans()):
        check = draw(st.sampled_from("0123456789Xx"))
    number = first17 + check
    if draw(st.integers(0, 9)) == 0:
        number = " " + number.replace("0", "０", 1)  # the forms normalise_number mends
    return number


@FAST
@given(
    st.lists(
        st.tuples(
            st.sampled_from(DocumentType), st.one_of(_resident_numbers(), st.text(max_size=20))
        ),
        max_size=8,
    )
)
def test_document_checks_answer_as_validate_document(items: list[tuple[DocumentType, str]]) -> None:
    checks = DocumentChecks(TODAY)
    for doc_type, number in items + items:
        assert _batch_document(checks, doc_type, number) == _general_document(doc_type, number)


@FAST
@given(st.lists(_resident_numbers(), max_size=8))
def test_resident_fast_path_takes_only_valid_normal_numbers(numbers: list[str]) -> None:
    checks = DocumentChecks(TODAY)
    for number in numbers:
        taken = checks.resident(number)
        if taken is not None:
            assert (
                taken == number == validate_document(DocumentType.RESIDENT_ID, number, today=TODAY)
            )


@FAST
@given(
    secret=st.binary(min_size=16, max_size=200),
    doc_type=st.sampled_from(DocumentType),
    number=st.text("0123456789ABCHMX()", min_size=1, max_size=20),
)
def test_pseudonyms_are_subject_ids(secret: bytes, doc_type: DocumentType, number: str) -> None:
    assert Pseudonyms(secret).sid(doc_type, number) == subject_id(secret, doc_type, number)


@pytest.mark.parametrize("size", [16, 32, 63, 64, 65, 128])
def test_pseudonyms_of_resident_ids_are_the_hmac_of_subject_id(size: int) -> None:
    secret = bytes(range(size))
    number = "33010619800101123" + check_character("33010619800101123")
    label = b"yimatong/sid/v1"
    message = len(label).to_bytes(2, "big") + label + b"\x00\x03111\x00\x12" + number.encode()
    expected = hmac.new(secret, message, hashlib.sha256).digest()[:16].hex()
    assert Pseudonyms(secret).resident(number) == expected
    assert subject_id(secret, DocumentType.RESIDENT_ID, number) == expected


def test_pseudonyms_refuse_what_subject_id_refuses() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonyms(b"short")
    with pytest.raises(TypeError):
        Pseudonyms("text")  # type: ignore[arg-type]


def test_cli_results_rows_checked_in_bulk_are_those_of_the_general_checks(tmp_path: Any) -> None:
    import yimatong.cli  # noqa: F401  (cli_ops is loaded by the command line, after it)
    from yimatong.cli_ops import _checked_result, _checked_results

    first17 = "33010619800101123"
    number = first17 + check_character(first17)
    rows = [
        {"id_type": "111", "id_number": number, "sampled_at": "2026-11-19T08:00:00+08:00",
         "reported_at": "2026-11-19T12:00:00+00:00", "result": "阴性"},
        {"id_type": "111", "id_number": number, "sampled_at": "2026-11-19T08:00+08:00",
         "reported_at": "2026-11-19T20:00:00.5+08:00", "result": "Positive"},
        {"id_type": "111", "id_number": number.lower(), "sampled_at": "2026-11-19T00:00:00Z",
         "reported_at": "2026-11-19T00:00:00Z", "result": "negative"},
        {"sid": "a" * 32, "sampled_at": "2026-11-19T00:00:00Z",
         "reported_at": "2026-11-19T00:00:01Z", "result": "negative"},
        {"id_type": "414", "id_number": "E12345678", "sampled_at": "2026-11-19T00:00:00Z",
         "reported_at": "2026-11-19T00:00:01Z", "result": "negative"},
    ]  # fmt: skip
    got = _checked_results(tmp_path / "r.csv", list(enumerate(rows, start=2)), NOW)
    assert got == [_checked_result(row, NOW) for row in rows]
    assert got[0]["sampled_at"] == "2026-11-19T00:00:00+00:00"


def test_cli_results_first_bad_line_is_named_as_before(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import yimatong.cli  # noqa: F401  (cli_ops is loaded by the command line, after it)
    from yimatong.cli_ops import _checked_results

    first17 = "33010619800101123"
    good = {"id_type": "111", "id_number": first17 + check_character(first17),
            "sampled_at": "2026-11-19T08:00:00+08:00",
            "reported_at": "2026-11-19T12:00:00+08:00", "result": "negative"}  # fmt: skip
    rows = [good, {**good, "result": "maybe"}, {**good, "reported_at": "2026-11-19T07:00:00+08:00"}]
    with pytest.raises(SystemExit):
        _checked_results(tmp_path / "r.csv", list(enumerate(rows, start=2)), NOW)
    err = capsys.readouterr().err
    assert "r.csv line 3: result must be negative or positive; nothing was uploaded" in err
