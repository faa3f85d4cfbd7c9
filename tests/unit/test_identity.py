"""Identity documents, masking and the subject pseudonym (yimatong.domain.identity)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.domain import identity
from yimatong.domain.errors import InvalidDocument, InvalidInput
from yimatong.domain.identity import (
    DocumentType,
    Sex,
    age_on,
    check_character,
    identity_key,
    is_chinese_passport,
    is_sid,
    mask_id,
    mask_name,
    parse_resident_id,
    subject_id,
    validate_document,
)
from yimatong.domain.regions import default_divisions

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "identity"
TODAY = date(2024, 6, 1)
SECRET = bytes(range(32))
FAST = settings(max_examples=150, deadline=None, database=None)


def make_id(area: str, birth: date | str, sequence: int) -> str:
    """A well-formed ID number for tests: real area code, chosen birth date and sequence."""
    born = birth if isinstance(birth, str) else birth.strftime("%Y%m%d")
    body = f"{area}{born}{sequence:03d}"
    return body + check_character(body)


def fails_with(number: str, fragment: str, *, today: date = TODAY) -> InvalidDocument:
    with pytest.raises(InvalidDocument) as info:
        parse_resident_id(number, today=today)
    exc = info.value
    assert fragment in exc.message
    assert exc.field == "id_number"
    # never echo the number (nor its 17-digit body) back
    normalised = identity.normalise_number(number)
    if len(normalised) >= 6:
        assert normalised not in exc.message
    if len(normalised) >= 17:
        assert normalised[:17] not in exc.message
    return exc


# -------------------------------------------------------------------------- module surface


def test_public_api_is_exported() -> None:
    for name in identity.__all__:
        assert hasattr(identity, name), name
    assert "parse_resident_id" in identity.__all__


def test_document_types_have_codes_and_labels() -> None:
    assert [d.code for d in DocumentType] == ["111", "414", "516", "511", "553"]
    assert DocumentType("111") is DocumentType.RESIDENT_ID
    assert DocumentType.RESIDENT_ID.label_zh == "居民身份证"
    assert DocumentType.HK_MACAO_PERMIT.label_zh == "港澳居民来往内地通行证"
    assert DocumentType.TAIWAN_PERMIT.label_zh == "台湾居民来往大陆通行证"
    assert DocumentType.FOREIGN_PERMANENT_RESIDENT.label_zh == "外国人永久居留身份证"
    assert DocumentType.PASSPORT.label_zh == "护照"
    for d in DocumentType:
        assert d.label_en
        assert d.label_zh
    assert Sex.MALE.value == "1"
    assert Sex.FEMALE.label_zh == "女"


# -------------------------------------------------------------------------- check character


def test_check_character_matches_the_standards_examples() -> None:
    vectors = json.loads((VECTORS / "gb11643_examples.json").read_text("utf-8"))["examples"]
    assert len(vectors) == 2
    for v in vectors:
        assert check_character(v["number"][:17]) == v["check"] == v["number"][17]


@pytest.mark.parametrize("bad", ["", "1" * 16, "1" * 18, "1101051949123100A", "１" * 17])
def test_check_character_wants_17_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        check_character(bad)


def test_check_character_covers_every_residue() -> None:
    seen = {check_character(f"{n:017d}") for n in range(200)}
    assert seen == set("0123456789X")


# -------------------------------------------------------------------------- resident ID: good


def test_parse_the_standards_example() -> None:
    parsed = parse_resident_id("11010519491231002X", today=TODAY)
    assert parsed.number == "11010519491231002X"
    assert parsed.area_code == "110105"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sequence == "002"
    assert parsed.sex is Sex.FEMALE
    assert parsed.check == "X"


def test_parse_a_built_id() -> None:
    number = make_id("330106", date(1990, 5, 17), 123)
    parsed = parse_resident_id(number, today=TODAY)
    assert parsed.area_code == "330106"
    assert parsed.birth_date == date(1990, 5, 17)
    assert parsed.sequence == "123"
    assert parsed.sex is Sex.MALE
    assert parsed.number == number


def test_repr_masks_the_number() -> None:
    number = make_id("330106", date(1990, 5, 17), 123)
    text = repr(parse_resident_id(number, today=TODAY))
    assert number not in text
    assert number[6:14] not in text
    assert mask_id(number) in text


def test_lowercase_x_is_accepted_and_upper_cased() -> None:
    assert parse_resident_id("11010519491231002x", today=TODAY).number == "11010519491231002X"


def test_spaces_and_full_width_digits_are_normalised() -> None:
    number = make_id("520102", date(1975, 1, 2), 44)
    spaced = f" {number[:6]} {number[6:14]} {number[14:]} "
    assert parse_resident_id(spaced, today=TODAY).number == number
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert parse_resident_id(full_width, today=TODAY).number == number


@pytest.mark.parametrize(
    ("area", "why"),
    [
        ("330103", "下城区, merged into 拱墅区 in 2021"),
        ("330104", "江干区, abolished 2021"),
        ("110103", "崇文区, merged into 东城区 in 2010"),
        ("420121", "汉阳县, last listed 1991"),
        ("371200", "莱芜市, merged into 济南 in 2019"),
        ("440301", "深圳 市辖区, on many 1980s-90s numbers"),
        ("441900", "东莞市, a city without counties"),
        ("429004", "仙桃市, province-administered"),
        ("330102", "上城区, still current"),
    ],
)
def test_current_and_historical_area_codes_are_accepted(area: str, why: str) -> None:
    parsed = parse_resident_id(make_id(area, date(1988, 8, 8), 31), today=TODAY)
    assert parsed.area_code == area, why


def test_birth_date_limits() -> None:
    assert parse_resident_id(make_id("110105", "19000101", 1), today=TODAY).birth_date == date(
        1900, 1, 1
    )
    fails_with(make_id("110105", "18991231", 1), "before 1900-01-01")
    # born today is fine, born tomorrow is not
    assert parse_resident_id(make_id("110105", TODAY, 2), today=TODAY).birth_date == TODAY
    fails_with(make_id("110105", TODAY + timedelta(days=1), 2), "in the future")


def test_future_birth_date_depends_on_today_passed_in() -> None:
    number = make_id("110105", "20310101", 5)
    fails_with(number, "birth date 2031-01-01 is in the future")
    assert parse_resident_id(number, today=date(2031, 1, 1)).birth_date == date(2031, 1, 1)


@pytest.mark.parametrize(
    ("born", "real"),
    [
        ("20000229", True),  # divisible by 400: leap
        ("20240229", True),
        ("19000229", False),  # divisible by 100 only: not leap
        ("20230229", False),
        ("19990230", False),
        ("19990431", False),
        ("19991301", False),
        ("19990001", False),
        ("19990100", False),
    ],
)
def test_impossible_dates(born: str, real: bool) -> None:
    number = make_id("110105", born, 7)
    if real:
        assert parse_resident_id(number, today=TODAY).birth_date.strftime("%Y%m%d") == born
    else:
        shown = f"{born[:4]}-{born[4:6]}-{born[6:]}"
        fails_with(number, f"birth date {shown} is not a real date")


# -------------------------------------------------------------------------- resident ID: bad


@pytest.mark.parametrize("length", [0, 1, 15, 17, 19, 20])
def test_wrong_lengths(length: int) -> None:
    number = (make_id("110105", "19800101", 1) * 2)[:length]
    fails_with(number, f"18 characters, not {length}")


def test_first_generation_15_digit_numbers_are_refused() -> None:
    fails_with("110105491231002", "18 characters, not 15")


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002Y",
        "X10105194912310021",
        "1101051949123100X2",
        "11010519491231-02X",
        "11010519491231OO2X",  # letter O, not zero
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits: digits to Python, not to GB 11643
    ],
)
def test_non_digits(number: str) -> None:
    fails_with(number, "17 digits and a last character 0-9 or X")


@pytest.mark.parametrize(
    "area",
    [
        "999999",  # never a code
        "110000",  # province level
        "330000",
        "330199",  # well-formed, unknown
        "000000",
        "710000",  # 台湾省: a province-level code, not an area code
    ],
)
def test_unknown_or_non_county_area(area: str) -> None:
    fails_with(make_id(area, "19800101", 1), f"area code {area} is not")


def test_wrong_check_character() -> None:
    number = make_id("330106", "19900517", 123)
    wrong = "0" if number[-1] != "0" else "1"
    fails_with(number[:-1] + wrong, "check character does not match")


def test_not_a_string() -> None:
    with pytest.raises(TypeError):
        parse_resident_id(110105194912310020, today=TODAY)  # type: ignore[arg-type]


def test_errors_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_resident_id("123", today=TODAY)


# -------------------------------------------------------------------------- properties

CURRENT_AREAS = ["110101", "310115", "330106", "420107", "429004", "441900", "500229", "659001"]
HISTORICAL_AREAS = ["330103", "110103", "420121", "440301"]
AREAS = st.sampled_from(CURRENT_AREAS + HISTORICAL_AREAS)
BIRTHS = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
SEQUENCES = st.integers(min_value=0, max_value=999)


@pytest.fixture(scope="module", autouse=True)
def _divisions_loaded() -> None:
    default_divisions()  # load once, outside hypothesis' timing


@FAST
@given(AREAS, BIRTHS, SEQUENCES)
def test_valid_ids_round_trip(area: str, birth: date, sequence: int) -> None:
    number = make_id(area, birth, sequence)
    parsed = parse_resident_id(number.lower(), today=TODAY)
    assert (parsed.number, parsed.area_code, parsed.birth_date) == (number, area, birth)
    assert parsed.sequence == f"{sequence:03d}"
    assert parsed.sex is (Sex.MALE if sequence % 2 else Sex.FEMALE)
    assert validate_document(DocumentType.RESIDENT_ID, number, today=TODAY) == number


@FAST
@given(AREAS, BIRTHS, SEQUENCES)
def test_every_other_check_character_fails(area: str, birth: date, sequence: int) -> None:
    number = make_id(area, birth, sequence)
    for other in "0123456789X":
        if other != number[-1]:
            fails_with(number[:-1] + other, "check character does not match")


@FAST
@given(AREAS, BIRTHS, SEQUENCES, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_error_is_caught(
    area: str, birth: date, sequence: int, position: int, delta: int
) -> None:
    number = make_id(area, birth, sequence)
    digit = str((int(number[position]) + delta) % 10)
    with pytest.raises(InvalidDocument):
        parse_resident_id(number[:position] + digit + number[position + 1 :], today=TODAY)


@FAST
@given(AREAS, BIRTHS, SEQUENCES, st.integers(0, 15))
def test_any_adjacent_transposition_is_caught(
    area: str, birth: date, sequence: int, position: int
) -> None:
    number = make_id(area, birth, sequence)
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    with pytest.raises(InvalidDocument):
        parse_resident_id(swapped, today=TODAY)


# -------------------------------------------------------------------------- other documents


@pytest.mark.parametrize(
    ("doc_type", "number", "normalised"),
    [
        (DocumentType.PASSPORT, "E12345678", "E12345678"),
        (DocumentType.PASSPORT, "ea1234567", "EA1234567"),
        (DocumentType.PASSPORT, "G 1234 5678", "G12345678"),
        (DocumentType.PASSPORT, "C03005988", "C03005988"),  # foreign, 9 characters
        (DocumentType.PASSPORT, "12345", "12345"),
        (DocumentType.PASSPORT, "X" * 17, "X" * 17),
        (DocumentType.HK_MACAO_PERMIT, "h12345678", "H12345678"),
        (DocumentType.HK_MACAO_PERMIT, "M1234567801", "M1234567801"),
        (DocumentType.TAIWAN_PERMIT, "12345678", "12345678"),
        (DocumentType.TAIWAN_PERMIT, "1234567801", "1234567801"),
        (DocumentType.TAIWAN_PERMIT, "1234567801(b)", "1234567801(B)"),
        (DocumentType.TAIWAN_PERMIT, "1234567801（B）", "1234567801(B)"),  # full-width
        (DocumentType.FOREIGN_PERMANENT_RESIDENT, "usa330078020801", "USA330078020801"),
    ],
)
def test_other_documents_valid(doc_type: DocumentType, number: str, normalised: str) -> None:
    assert validate_document(doc_type, number, today=TODAY) == normalised


@pytest.mark.parametrize(
    ("doc_type", "number", "fragment"),
    [
        (DocumentType.PASSPORT, "", "empty"),
        (DocumentType.PASSPORT, "  ", "empty"),
        (DocumentType.PASSPORT, "E123", "5 to 17"),
        (DocumentType.PASSPORT, "X" * 18, "5 to 17"),
        (DocumentType.PASSPORT, "E1234-5678", "5 to 17"),
        (DocumentType.PASSPORT, "护照12345", "5 to 17"),
        (DocumentType.HK_MACAO_PERMIT, "H1234567", "H or M"),
        (DocumentType.HK_MACAO_PERMIT, "H123456789", "H or M"),
        (DocumentType.HK_MACAO_PERMIT, "K12345678", "H or M"),
        (DocumentType.HK_MACAO_PERMIT, "12345678", "H or M"),
        (DocumentType.TAIWAN_PERMIT, "1234567", "8 digits"),
        (DocumentType.TAIWAN_PERMIT, "123456789", "8 digits"),
        (DocumentType.TAIWAN_PERMIT, "12345678(B)", "8 digits"),
        (DocumentType.TAIWAN_PERMIT, "T12345678", "8 digits"),
        (DocumentType.FOREIGN_PERMANENT_RESIDENT, "US330078020801", "3 letters"),
        (DocumentType.FOREIGN_PERMANENT_RESIDENT, "USA33007802080", "3 letters"),
        (DocumentType.FOREIGN_PERMANENT_RESIDENT, "110105194912310021", "3 letters"),
        (DocumentType.RESIDENT_ID, "E12345678", "18 characters"),
    ],
)
def test_other_documents_invalid(doc_type: DocumentType, number: str, fragment: str) -> None:
    with pytest.raises(InvalidDocument) as info:
        validate_document(doc_type, number, today=TODAY)
    assert fragment in info.value.message
    assert info.value.field == "id_number"
    if len(number.strip()) > 4:
        assert identity.normalise_number(number) not in info.value.message


def test_new_foreign_permanent_resident_card_has_a_check_character() -> None:
    body = "9" + "11" + "840" + "19800101" + "012"  # 17 digits starting with 9
    good = body + check_character(body)
    doc = DocumentType.FOREIGN_PERMANENT_RESIDENT
    assert validate_document(doc, good.lower(), today=TODAY) == good
    for other in "0123456789X":
        if other != good[-1]:
            with pytest.raises(InvalidDocument, match="check character"):
                validate_document(doc, body + other, today=TODAY)


@pytest.mark.parametrize(
    ("number", "chinese"),
    [
        ("G12345678", True),
        ("E12345678", True),
        ("EA1234567", True),
        ("EZ1234567", True),
        ("EI1234567", False),  # I and O are not used
        ("EO1234567", False),
        ("E1234567", False),
        ("G1234567X", False),
        ("C03005988", False),
    ],
)
def test_is_chinese_passport(number: str, chinese: bool) -> None:
    assert is_chinese_passport(number) is chinese


# -------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("李", "李*"),
        ("欧阳修", "欧阳*"),
        ("欧阳娜娜", "欧阳**"),
        ("司马光", "司马*"),
        ("诸葛孔明", "诸葛**"),
        ("上官婉儿", "上官**"),
        ("欧阳", "欧*"),  # two characters: surname 欧, given name 阳
        (" 王 小 明 ", "王**"),
        ("阿依古丽·买买提", "阿***·***"),
        ("John Ronald Smith", "John *"),
        ("  John   Smith ", "John *"),
        ("Madonna", "M*"),
        ("", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@FAST
@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=2))
def test_mask_name_keeps_the_length_of_chinese_names(name: str) -> None:
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked[0] == name[0]
    assert masked.endswith("*")


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("11010519491231002X", "11**************2X"),
        ("E12345678", "E1*****78"),
        ("H12345678", "H1*****78"),
        ("12345", "12*45"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_id(number: str, masked: str) -> None:
    assert mask_id(number) == masked


@FAST
@given(st.text(alphabet="0123456789ABCDEFGHX", min_size=5, max_size=40))
def test_mask_id_keeps_length_and_only_the_ends(number: str) -> None:
    masked = mask_id(number)
    assert len(masked) == len(number)
    assert masked[:2] == number[:2]
    assert masked[-2:] == number[-2:]
    assert set(masked[2:-2]) <= {"*"}


# -------------------------------------------------------------------------- subject pseudonym


def test_sid_is_pinned() -> None:
    number = make_id("330106", "19900517", 123)
    sid = subject_id(SECRET, DocumentType.RESIDENT_ID, number)
    # recompute the documented encoding by hand
    parts = [b"yimatong/sid/v1", b"111", number.encode()]
    message = b"".join(len(p).to_bytes(2, "big") + p for p in parts)
    assert sid == hmac.new(SECRET, message, hashlib.sha256).hexdigest()[:32]
    assert sid == "fb893184ce6f71703cd7a5366f54de00"


@FAST
@given(st.text(alphabet="0123456789ABCDEFGHJKX", min_size=5, max_size=18))
def test_sid_is_deterministic_and_distinct_per_document_type(number: str) -> None:
    sids = {d: subject_id(SECRET, d, number) for d in DocumentType}
    for d, sid in sids.items():
        assert is_sid(sid)
        assert subject_id(SECRET, d, number) == sid
    assert len(set(sids.values())) == len(DocumentType)


def test_sid_depends_on_the_secret_and_the_number() -> None:
    number = make_id("330106", "19900517", 123)
    other = make_id("330106", "19900517", 125)
    doc = DocumentType.RESIDENT_ID
    assert subject_id(SECRET, doc, number) != subject_id(SECRET[::-1], doc, number)
    assert subject_id(SECRET, doc, number) != subject_id(SECRET, doc, other)
    # normalised first: a stray space or a lower-case x is the same person
    assert subject_id(SECRET, doc, " " + number.lower()) == subject_id(SECRET, doc, number)


def test_sid_follows_the_lifelong_number_of_permits() -> None:
    hk = DocumentType.HK_MACAO_PERMIT
    first = subject_id(SECRET, hk, "H1234567800")
    assert subject_id(SECRET, hk, "H1234567801") == first  # re-issued permit
    assert subject_id(SECRET, hk, "H12345678") == first  # 2019 card
    assert subject_id(SECRET, hk, "M12345678") != first  # Macau is another person
    tw = DocumentType.TAIWAN_PERMIT
    assert subject_id(SECRET, tw, "1234567801(B)") == subject_id(SECRET, tw, "12345678")
    assert identity_key(tw, "1234567802") == "12345678"
    assert identity_key(DocumentType.PASSPORT, "E12345678") == "E12345678"


def test_sid_secret_must_be_long_bytes() -> None:
    with pytest.raises(ValueError):
        subject_id(b"short", DocumentType.PASSPORT, "E12345678")
    with pytest.raises(TypeError):
        subject_id("a text secret, not bytes", DocumentType.PASSPORT, "E12345678")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        subject_id(SECRET, "111", "E12345678")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("0123456789abcdef0123456789abcdef", True),
        ("0123456789ABCDEF0123456789ABCDEF", False),
        ("0123456789abcdef0123456789abcde", False),
        ("0123456789abcdef0123456789abcdefa", False),
        ("g123456789abcdef0123456789abcdef", False),
        ("", False),
        (None, False),
        (b"0123456789abcdef0123456789abcdef", False),
    ],
)
def test_is_sid(text: object, ok: bool) -> None:
    assert is_sid(text) is ok


# -------------------------------------------------------------------------- ages


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(1950, 6, 1), date(2024, 6, 1), 74),
        (date(1950, 6, 2), date(2024, 6, 1), 73),
        (date(1950, 5, 31), date(2024, 6, 1), 74),
        (date(2024, 6, 1), date(2024, 6, 1), 0),
        (date(2000, 2, 29), date(2023, 2, 28), 22),
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(1900, 1, 1), date(2024, 12, 31), 124),
    ],
)
def test_age_on(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


def test_age_on_before_birth_is_a_mistake() -> None:
    with pytest.raises(ValueError):
        age_on(date(2000, 1, 2), date(2000, 1, 1))
