"""Identity documents, masking for display, and the subject pseudonym (DESIGN §3).

Pure: standard library only; "today" is always passed in.

Document types
    GB/T 38962 names the document types a health code accepts but its code table was not
    available to us, so :class:`DocumentType` uses the public-security list of common document
    codes (GA/T 517 "常用证件代码"), the list government systems in China exchange:
    111 居民身份证, 414 普通护照, 516 港澳居民来往内地通行证 (the card that replaced the 回乡证),
    511 台湾居民来往大陆通行证, 553 外国人永久居留身份证. 414 stands for any passport here,
    Chinese or foreign (nationality is a separate data element). The code is part of every
    subject pseudonym, so a code must never be renumbered once issued.

Number formats (after :func:`normalise_number`: NFKC, whitespace removed, upper case)
    * resident ID — GB 11643-1999: six-digit area code (current *or* historical GB/T 2260, see
      :meth:`yimatong.domain.regions.Divisions.is_valid_id_area`), birth date YYYYMMDD between
      1900-01-01 and today, three-digit sequence (odd for men), ISO 7064 MOD 11-2 check
      character 0-9 or X. See :func:`parse_resident_id`.
    * passport — Chinese ordinary passports are ``G`` + 8 digits (before 2012), ``E`` + 8 digits
      (2012 to April 2017) and ``E`` + a letter other than I and O + 7 digits (since). Foreign
      passports follow their issuer: ICAO 9303 gives the document number 9 characters with an
      extension for longer ones, so we accept 5 to 17 letters and digits and cannot be stricter
      without the nationality. :func:`is_chinese_passport` checks the Chinese forms.
    * Hong Kong/Macau residents' permit — ``H`` (Hong Kong) or ``M`` (Macau) + 8 digits (the
      holder's lifelong number; the 2019 card) or + 10 digits (lifelong number + two digits
      counting re-issues; the 1999 card).
    * Taiwan residents' permit — 8 digits, the lifelong number (one number for life since
      2008-09-25, and the 2015 card). Older booklets, still seen in records, add two digits
      counting issues and, from some issuing offices, a bracketed issuing-office character:
      ``12345678``, ``1234567801``, ``1234567801(B)`` are all accepted.
    * foreign permanent resident ID card — 2004/2017 cards: three letters (the ISO 3166 alpha-3
      nationality) + 12 digits, 15 characters; the card issued since 2023-12-01: 18 characters
      shaped like a resident ID, first digit ``9`` (no resident ID starts with 9), last the same
      ISO 7064 MOD 11-2 check character.

Error messages name what is wrong without repeating the number (a birth date or area code alone
does not identify anyone, so those may be shown).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from yimatong.domain.errors import InvalidDocument
from yimatong.domain.regions import Divisions, default_divisions

__all__ = [
    "MIN_BIRTH_DATE",
    "SECRET_MIN_BYTES",
    "SID_HEX_LENGTH",
    "DocumentChecks",
    "DocumentType",
    "Pseudonyms",
    "ResidentId",
    "Sex",
    "age_on",
    "check_character",
    "identity_key",
    "is_chinese_passport",
    "is_sid",
    "mask_id",
    "mask_name",
    "normalise_number",
    "parse_resident_id",
    "subject_id",
    "validate_document",
]

FIELD = "id_number"
MIN_BIRTH_DATE = date(1900, 1, 1)


class DocumentType(enum.Enum):
    """Identity documents a subject may apply with; the value is the document-type code."""

    RESIDENT_ID = "111"
    PASSPORT = "414"
    HK_MACAO_PERMIT = "516"
    TAIWAN_PERMIT = "511"
    FOREIGN_PERMANENT_RESIDENT = "553"

    @property
    def code(self) -> str:
        return self.value

    @property
    def label_zh(self) -> str:
        return _DOC_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _DOC_LABELS[self][1]


_DOC_LABELS = {
    DocumentType.RESIDENT_ID: ("居民身份证", "Resident identity card"),
    DocumentType.PASSPORT: ("护照", "Passport"),
    DocumentType.HK_MACAO_PERMIT: (
        "港澳居民来往内地通行证",
        "Mainland travel permit for Hong Kong and Macau residents",
    ),
    DocumentType.TAIWAN_PERMIT: (
        "台湾居民来往大陆通行证",
        "Mainland travel permit for Taiwan residents",
    ),
    DocumentType.FOREIGN_PERMANENT_RESIDENT: (
        "外国人永久居留身份证",
        "Foreign permanent resident ID card",
    ),
}


class Sex(enum.Enum):
    """GB/T 2261.1 sex codes (only the two a resident ID can encode)."""

    MALE = "1"
    FEMALE = "2"

    @property
    def label_zh(self) -> str:
        return "男" if self is Sex.MALE else "女"


# ---------------------------------------------------------------------------- normalising


def normalise_number(number: str) -> str:
    """NFKC (full-width digits and letters from a Chinese IME become ASCII), no whitespace, upper.

    Only the form is normalised; nothing is validated.
    """
    if not isinstance(number, str):
        raise TypeError(f"a document number is a str, not {type(number).__name__}")
    return "".join(unicodedata.normalize("NFKC", number).split()).upper()


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# ---------------------------------------------------------------------------- resident ID

# ISO 7064 MOD 11-2: weight of position i (from the left, 0-based) is 2**(17 - i) mod 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK = "10X98765432"  # check character for (sum of weighted digits) mod 11
# the weighted sum of the ASCII bytes of 17 digits exceeds that of the digits by this
_ASCII_ZERO_WEIGHT = ord("0") * sum(_WEIGHTS)


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character ("0"–"9" or "X") for 17 digits."""
    if len(first17) != 17 or not _digits(first17):
        raise ValueError("check_character needs exactly 17 ASCII digits")
    total = sum(map(operator.mul, first17.encode("ascii"), _WEIGHTS)) - _ASCII_ZERO_WEIGHT
    return _CHECK[total % 11]


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A parsed, valid resident ID number (its repr masks the number)."""

    number: str
    area_code: str
    birth_date: date
    sequence: str
    sex: Sex
    check: str

    def __repr__(self) -> str:
        return f"ResidentId({mask_id(self.number)})"


def parse_resident_id(
    number: str, *, today: date, divisions: Divisions | None = None
) -> ResidentId:
    """Parse and check a GB 11643-1999 citizen identity number; InvalidDocument if it fails.

    Accepts lower-case ``x`` and the IME forms :func:`normalise_number` handles. ``divisions``
    defaults to :func:`~yimatong.domain.regions.default_divisions`.
    """
    text = normalise_number(number)
    if len(text) != 18:
        raise InvalidDocument(
            f"a resident ID number has 18 characters, not {len(text)}", field=FIELD
        )
    body, check = text[:17], text[17]
    if not _digits(body) or not (check == "X" or _digits(check)):
        raise InvalidDocument(
            "a resident ID number has 17 digits and a last character 0-9 or X", field=FIELD
        )
    area = body[:6]
    divisions = default_divisions() if divisions is None else divisions
    if not divisions.is_valid_id_area(area):
        raise InvalidDocument(
            f"area code {area} is not a GB/T 2260 county or city code", field=FIELD
        )
    year, month, day = int(body[6:10]), int(body[10:12]), int(body[12:14])
    shown = f"{body[6:10]}-{body[10:12]}-{body[12:14]}"
    try:
        birth = date(year, month, day)
    except ValueError:
        raise InvalidDocument(f"birth date {shown} is not a real date", field=FIELD) from None
    if birth < MIN_BIRTH_DATE:
        raise InvalidDocument(f"birth date {shown} is before 1900-01-01", field=FIELD)
    if birth > today:
        raise InvalidDocument(f"birth date {shown} is in the future", field=FIELD)
    if check_character(body) != check:
        raise InvalidDocument("check character does not match", field=FIELD)
    sequence = body[14:17]
    return ResidentId(
        number=text,
        area_code=area,
        birth_date=birth,
        sequence=sequence,
        sex=Sex.MALE if int(sequence[2]) % 2 else Sex.FEMALE,
        check=check,
    )


# ---------------------------------------------------------------------------- other documents

_CHINESE_PASSPORT = re.compile(r"G[0-9]{8}|E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}")
_PASSPORT = re.compile(r"[A-Z0-9]{5,17}")
_HK_MACAO = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")
_TAIWAN = re.compile(r"[0-9]{8}(?:[0-9]{2}(?:\([A-Z0-9]\))?)?")
_FOREIGN_OLD = re.compile(r"[A-Z]{3}[0-9]{12}")
_FOREIGN_NEW = re.compile(r"9[0-9]{16}[0-9X]")


def is_chinese_passport(number: str) -> bool:
    """Whether a normalised number has the form of a Chinese ordinary passport (G/E/E+letter)."""
    return _CHINESE_PASSPORT.fullmatch(number) is not None


def validate_document(doc_type: DocumentType, number: str, *, today: date) -> str:
    """The normalised document number, or InvalidDocument saying what is wrong with it."""
    if doc_type is DocumentType.RESIDENT_ID:
        return parse_resident_id(number, today=today).number
    text = normalise_number(number)
    if not text:
        raise InvalidDocument("the document number is empty", field=FIELD)
    if doc_type is DocumentType.PASSPORT:
        if _PASSPORT.fullmatch(text) is None:
            raise InvalidDocument("a passport number has 5 to 17 letters and digits", field=FIELD)
    elif doc_type is DocumentType.HK_MACAO_PERMIT:
        if _HK_MACAO.fullmatch(text) is None:
            raise InvalidDocument(
                "a Hong Kong/Macau residents' permit number is H or M followed by 8 or 10 digits",
                field=FIELD,
            )
    elif doc_type is DocumentType.TAIWAN_PERMIT:
        if _TAIWAN.fullmatch(text) is None:
            raise InvalidDocument(
                "a Taiwan residents' permit number has 8 digits (older permits: 10 digits, "
                "sometimes followed by an issuing-office character in brackets)",
                field=FIELD,
            )
    elif doc_type is DocumentType.FOREIGN_PERMANENT_RESIDENT:
        if _FOREIGN_NEW.fullmatch(text) is not None:
            if check_character(text[:17]) != text[17]:
                raise InvalidDocument("check character does not match", field=FIELD)
        elif _FOREIGN_OLD.fullmatch(text) is None:
            raise InvalidDocument(
                "a foreign permanent resident ID number is 3 letters and 12 digits, "
                "or (since 2023) 18 characters starting with 9",
                field=FIELD,
            )
    else:  # pragma: no cover - every member is handled above
        raise TypeError(f"not a DocumentType: {doc_type!r}")
    return text


# A resident ID number already in its normal form (what normalise_number leaves unchanged).
_NORMAL_RESIDENT = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)


def _weighted(digits: str, start: int) -> int:
    """The part of the ISO 7064 sum that ``digits`` at positions ``start``… contribute."""
    return sum(int(d) * w for d, w in zip(digits, _WEIGHTS[start:], strict=False))


_SEQUENCE_WEIGHTS = {f"{n:03d}": _weighted(f"{n:03d}", 14) for n in range(1000)}


class DocumentChecks:
    """:func:`validate_document` for the many rows of one batch or file.

    A resident ID number already in its normal form (17 ASCII digits and a digit or ``X``,
    as machines write them) is checked here directly, its area code and birth date looked up
    once per batch; anything else, and any number that fails here, goes to
    :func:`validate_document`, which gives the answer or the error. So the result is always
    the one :func:`validate_document` gives.
    """

    __slots__ = ("_areas", "_births", "divisions", "today")

    def __init__(self, today: date, divisions: Divisions | None = None) -> None:
        self.today = today
        self.divisions = default_divisions() if divisions is None else divisions
        # area code / birth date -> its digits' part of the check sum, or -1 if it is invalid
        self._areas: dict[str, int] = {}
        self._births: dict[str, int] = {}

    def resident(self, number: object) -> str | None:
        """``number`` if it is a valid resident ID number in its normal form, else None.

        The area code and the birth date are looked up once per batch, each with its part
        of the check sum; the sequence's part comes from a table of all 1,000.
        """
        if type(number) is not str or _NORMAL_RESIDENT.fullmatch(number) is None:
            return None
        area = number[:6]
        part = self._areas.get(area)
        if part is None:
            valid = self.divisions.is_valid_id_area(area)
            part = self._areas[area] = _weighted(area, 0) if valid else -1
        birth = number[6:14]
        born = self._births.get(birth)
        if born is None:
            try:
                day = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
            except ValueError:
                valid = False
            else:
                valid = MIN_BIRTH_DATE <= day <= self.today
            born = self._births[birth] = _weighted(birth, 6) if valid else -1
        if part < 0 or born < 0:
            return None
        total = part + born + _SEQUENCE_WEIGHTS[number[14:17]]
        return number if _CHECK[total % 11] == number[17] else None

    def normal(self, doc_type: DocumentType, number: str) -> str:
        """The normalised number, or InvalidDocument: what :func:`validate_document` says."""
        if doc_type is DocumentType.RESIDENT_ID:
            checked = self.resident(number)
            if checked is not None:
                return checked
        return validate_document(doc_type, number, today=self.today)


class Pseudonyms:
    """:func:`subject_id` under one secret for many numbers, keyed once.

    HMAC-SHA256 as RFC 2104 defines it (and ``hmac`` computes it): ``H((K ^ opad) ||
    H((K ^ ipad) || message))``. The two keyed SHA-256 states, the inner one already fed the
    message's fixed start (the label and the document type), are made once; each number costs
    a copy of each and the bytes of the number. Equal to :func:`subject_id` (the unit tests
    check it against ``hmac`` for secrets of every length class).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes | bytearray):
            raise TypeError("the sid secret is bytes")
        if len(secret) < SECRET_MIN_BYTES:
            raise ValueError(f"the sid secret must have at least {SECRET_MIN_BYTES} bytes")
        key = bytes(secret)
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_SHA256_BLOCK, b"\0")
        self._outer = hashlib.sha256(key.translate(_OPAD))
        inner = hashlib.sha256(key.translate(_IPAD))
        self._inner = {}
        for doc_type in DocumentType:
            state = inner.copy()
            state.update(_sid_prefix(doc_type))
            self._inner[doc_type] = state

    def _mac(self, doc_type: DocumentType, rest: bytes) -> str:
        inner = self._inner[doc_type].copy()
        inner.update(rest)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:16].hex()

    def sid(self, doc_type: DocumentType, number: str) -> str:
        """``subject_id(secret, doc_type, number)``; the number should be validated first."""
        key = identity_key(doc_type, number).encode()
        return self._mac(doc_type, len(key).to_bytes(2, "big") + key)

    def resident(self, number: str) -> str:
        """The sid of a resident ID number that :meth:`DocumentChecks.resident` accepted (its
        identity key is the whole 18-character number)."""
        inner = self._inner[DocumentType.RESIDENT_ID].copy()
        inner.update(b"\x00\x12" + number.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:16].hex()


_SHA256_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


# ---------------------------------------------------------------------------- masking

# Two-character surnames (复姓) from the 百家姓 and those common today. A name starting with one
# of these is taken to carry it when the name has at least three characters; a two-character
# name such as 欧阳 alone is surname 欧 + given name 阳.
_COMPOUND_SURNAMES = frozenset(  # one readable block rather than 85 lines
    """
    欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台 皇甫
    宗政 濮阳 公冶 太叔 申屠 公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘 子车 亓官
    司寇 巫马 公西 颛孙 壤驷 公良 漆雕 乐正 宰父 谷梁 拓跋 夹谷 轩辕 令狐 段干 百里 呼延
    东郭 南门 羊舌 微生 公户 公玉 公仪 梁丘 公仲 公上 公门 公山 公坚 左丘 公伯 西门 公祖
    第五 公乘 贯丘 公皙 南荣 东里 东宫 仲长 子书 子桑 即墨 达奚 褚师 欧侯 纳兰 完颜
    """.split()  # noqa: SIM905
)
_NAME_SEPARATORS = frozenset("·•‧・.．")


def _is_han(ch: str) -> bool:
    o = ord(ch)
    return (
        0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x3FFFF
    )


def mask_name(name: str) -> str:
    """A name for display: the surname and one ``*`` per remaining character.

    * Chinese names keep their length: 张三丰 → 张**, 欧阳修 → 欧阳*, 诸葛孔明 → 诸葛**;
      a one-character name becomes 李 → 李*.
    * Names written with a middle dot (many Uyghur, Tibetan and transliterated names) keep the
      first character and the dots: 阿依古丽·买买提 → 阿***·***.
    * Other names show their first word: "John Ronald Smith" → "John *"; a one-word name its
      first letter: "Madonna" → "M*".
    """
    if not isinstance(name, str):
        raise TypeError(f"a name is a str, not {type(name).__name__}")
    text = " ".join(name.split())
    if not text:
        return ""
    if any(_is_han(ch) for ch in text):
        compact = text.replace(" ", "")
        if any(ch in _NAME_SEPARATORS for ch in compact):
            return compact[0] + "".join(ch if ch in _NAME_SEPARATORS else "*" for ch in compact[1:])
        if len(compact) == 1:
            return compact + "*"
        surname = 2 if len(compact) >= 3 and compact[:2] in _COMPOUND_SURNAMES else 1
        return compact[:surname] + "*" * (len(compact) - surname)
    words = text.split(" ")
    if len(words) > 1:
        return words[0] + " *"
    return text[0] + "*"


def mask_id(number: str) -> str:
    """A document number for display: first two and last two characters, ``*`` between.

    The length is kept. Numbers of four characters or fewer are masked entirely, since showing
    two and two would show everything.
    """
    if not isinstance(number, str):
        raise TypeError(f"a document number is a str, not {type(number).__name__}")
    text = number.strip()
    if len(text) <= 4:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 4) + text[-2:]


# ---------------------------------------------------------------------------- pseudonym

SID_HEX_LENGTH = 32
SECRET_MIN_BYTES = 16
_SID_LABEL = b"yimatong/sid/v1"
_SID_CHARS = frozenset("0123456789abcdef")


def identity_key(doc_type: DocumentType, number: str) -> str:
    """The part of a normalised number that identifies the person across re-issued documents.

    Hong Kong/Macau permits (``H`` + lifelong 8 digits [+ 2-digit re-issue count]) and Taiwan
    permits (lifelong 8 digits [+ issue count and office]) carry a lifelong number that stays
    the same when the permit is replaced, so only that part counts: a renewed permit keeps its
    holder's health record. Every other number counts whole (a passport number changes with the
    passport; a 2023 permanent resident card is not derivable from the 15-character one).
    """
    text = normalise_number(number)
    if doc_type is DocumentType.HK_MACAO_PERMIT and _HK_MACAO.fullmatch(text):
        return text[:9]
    if doc_type is DocumentType.TAIWAN_PERMIT and _TAIWAN.fullmatch(text):
        return text[:8]
    return text


def subject_id(secret: bytes, doc_type: DocumentType, number: str) -> str:
    """The subject pseudonym ``sid``: 32 lower-case hex characters.

    ``HMAC-SHA256(secret, message)`` truncated to its first 16 bytes (128 bits), where the
    message is the label ``yimatong/sid/v1`` followed by the document-type code and the
    :func:`identity_key` of the number, each preceded by its length as two big-endian bytes —
    an encoding in which no two different (type, number) pairs give the same bytes.

    * Keyed, so nobody without the federation-wide secret can test a guessed ID number against
      a pseudonym (ID numbers are far too few and too structured for an unkeyed hash).
    * Truncation of an HMAC to its leftmost bits is the form RFC 2104 §5 allows; 128 bits keep
      the chance of any collision among 1.5 billion subjects near 2**-68.
    * Deterministic, so every node derives the same ``sid`` for the same person and records can
      be linked without passing ID numbers around. Rotating the secret re-keys every record.

    The number should already have passed :func:`validate_document`; it is normalised again here
    so that a caller's stray space cannot split one person into two.
    """
    if not isinstance(secret, bytes | bytearray):
        raise TypeError("the sid secret is bytes")
    if len(secret) < SECRET_MIN_BYTES:
        raise ValueError(f"the sid secret must have at least {SECRET_MIN_BYTES} bytes")
    if not isinstance(doc_type, DocumentType):
        raise TypeError(f"not a DocumentType: {doc_type!r}")
    key = identity_key(doc_type, number).encode()
    message = _sid_prefix(doc_type) + len(key).to_bytes(2, "big") + key
    return hmac.new(bytes(secret), message, hashlib.sha256).digest()[:16].hex()


def _sid_prefix(doc_type: DocumentType) -> bytes:
    """The start of the sid message: the label and the document-type code, length-prefixed."""
    parts = (_SID_LABEL, doc_type.code.encode("ascii"))
    return b"".join(len(p).to_bytes(2, "big") + p for p in parts)


def is_sid(text: object) -> bool:
    """Whether ``text`` has the form of a subject pseudonym (32 lower-case hex characters)."""
    return isinstance(text, str) and len(text) == SID_HEX_LENGTH and set(text) <= _SID_CHARS


# ---------------------------------------------------------------------------- ages


def age_on(birth_date: date, day: date) -> int:
    """Age in completed years on ``day`` (周岁).

    Someone born on 29 February turns a year older on 1 March in common years.
    """
    if day < birth_date:
        raise ValueError("day is before the birth date")
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday
