"""A deterministic synthetic population for the demo federation and the tests.

Every person here is made up: names come from Faker's ``zh_CN`` tables, and ID numbers, phone
numbers, itineraries, test results and authority facts are drawn from a seeded
:class:`random.Random`. Nothing is read from anywhere but the packaged division codes.

Pure apart from Faker: the clock is the ``now`` argument, the randomness comes from ``seed``
(a ``Faker("zh_CN")`` seeded with :meth:`~faker.Faker.seed_instance` and a private
:class:`random.Random`; nothing touches the global generators), so the same arguments always give
the same population.

What a population looks like (shares are targets; a small sample wanders around them):

* **identity** — 97.5 % resident ID cards (GB 11643: a current county of the region, birth date,
  a sequence whose parity matches the person's sex, the MOD 11-2 check character); the rest
  Chinese passports (overseas Chinese), Hong Kong/Macau and Taiwan residents' permits and 2023
  foreign permanent resident cards, all valid by
  :func:`~yimatong.domain.identity.validate_document`.
  Document numbers and phone numbers (``1[3-9]`` + 9 digits, real mobile prefixes) are unique.
  Ages 0–95 on ``now``'s date in China (shaped roughly like the 2020 census), 51 % men.
* **home** — a current township/street of the region, chosen uniformly (so counties with more
  townships have more people); county-level development zones (codes ``xxxx7x``, statistical
  codes outside GB/T 2260) never appear on an ID card and are not homes.
* **itinerary** — the last 21 days: 70 % stayed home, 15 % made local trips inside the region,
  15 % went to another province (Wuhan streets, Xiaogan, Guiyang, Hangzhou, Lhasa, Beijing,
  Shanghai … whichever are outside the home province), a fifth of those still away. Stays follow
  each other without overlapping, the first begins exactly 21 days before ``now`` and the last is
  open (``left`` None). Sources: self-declared and checkpoint scans for local movement, rail,
  aviation, self-declared car trips and telecom (city-level codes) for the long ones.
* **tests** — 85 % have 1–3 negative nucleic-acid results sampled in the last 7 days, 5 % one
  older result, 10 % none; reported 4–30 hours after sampling by one of :data:`LABS`.
* **authority facts** — 0.3 % cases (confirmed or asymptomatic, with the positive result that
  led to them), 0.05 % a fresh positive result not yet acted on, 1 % close contacts and 2 %
  secondary contacts with the last exposure in the last 14 days.
* **proxies (代办)** — 5 % of people aged 70 or more have a younger relative (18 or older and at
  least 18 years younger, from the same county when there is one) applying on their behalf:
  :attr:`Person.proxy_index` is that relative's index in the list.

Every datetime is timezone-aware in China Standard Time (UTC+08:00) and earlier than ``now``.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import accumulate
from typing import Any

from faker import Faker

from yimatong.domain.facts import (
    CaseFact,
    CaseStatus,
    ContactFact,
    ContactKind,
    Stay,
    StaySource,
    SubjectFacts,
    TestOutcome,
    TestResult,
)
from yimatong.domain.identity import (
    MIN_BIRTH_DATE,
    DocumentType,
    Sex,
    age_on,
    check_character,
    identity_key,
    mask_id,
    mask_name,
)
from yimatong.domain.regions import Divisions, Level, default_divisions

__all__ = [
    "AGE_BANDS",
    "CHINA_TZ",
    "DESTINATIONS",
    "ITINERARY_DAYS",
    "LABS",
    "MAX_AGE",
    "Person",
    "generate_population",
    "summary",
]

CHINA_TZ = timezone(timedelta(hours=8), "CST")
ITINERARY_DAYS = 21
TEST_DAYS = 7
EXPOSURE_DAYS = 14
MAX_AGE = 95

# Laboratories that upload results (national chains and large hospital laboratories).
LABS = (
    "浙江迪安诊断",
    "上海金域医学",
    "华大基因",
    "艾迪康医学检验",
    "凯普医学检验",
    "兰卫医学检验",
    "武汉大学人民医院检验科",
    "贵州省人民医院检验科",
    "杭州市第一人民医院检验科",
    "西藏自治区人民医院检验科",
)

# Out-of-province destinations and their weights: cities of the stories and large hubs.
DESTINATIONS: tuple[tuple[str, int], ...] = (
    ("420100", 5),  # 武汉市
    ("420900", 2),  # 孝感市
    ("420300", 1),  # 十堰市 (丹江口)
    ("421000", 1),  # 荆州市
    ("520100", 3),  # 贵阳市
    ("520300", 1),  # 遵义市 (仁怀 茅台镇)
    ("330100", 3),  # 杭州市
    ("540100", 1),  # 拉萨市
    ("110000", 3),  # 北京市
    ("310000", 3),  # 上海市
    ("440100", 2),  # 广州市
    ("440300", 2),  # 深圳市
    ("440600", 1),  # 佛山市
    ("510100", 2),  # 成都市
    ("360400", 1),  # 九江市
)

# Age bands (first age, last age, weight in %), roughly the 2020 census pyramid.
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 4, 5.5),
    (5, 9, 6.3),
    (10, 14, 6.0),
    (15, 19, 5.2),
    (20, 24, 5.4),
    (25, 29, 6.6),
    (30, 34, 8.8),
    (35, 39, 7.0),
    (40, 44, 6.6),
    (45, 49, 8.2),
    (50, 54, 8.6),
    (55, 59, 7.2),
    (60, 64, 5.2),
    (65, 69, 5.3),
    (70, 74, 3.6),
    (75, 79, 2.3),
    (80, 84, 1.5),
    (85, 89, 0.8),
    (90, MAX_AGE, 0.3),
)

# Summary bands: (label, first age, last age).
_SUMMARY_BANDS = (
    ("0-17", 0, 17),
    ("18-59", 18, 59),
    ("60-69", 60, 69),
    ("70-79", 70, 79),
    ("80+", 80, 200),
)

# Mainland mobile number segments (中国移动, 联通, 电信, 广电, virtual operators).
_PHONE_PREFIXES = tuple(
    str(p)
    for p in (
        *range(130, 140),
        145,
        147,
        *range(150, 154),
        *range(155, 160),
        162,
        165,
        166,
        167,
        *range(170, 174),
        *range(175, 179),
        *range(180, 190),
        *range(190, 194),
        *range(195, 200),
    )
)

# Shares.
_MALE_SHARE = 0.512
_OTHER_DOCUMENTS: tuple[tuple[DocumentType, float], ...] = (
    (DocumentType.PASSPORT, 0.008),
    (DocumentType.HK_MACAO_PERMIT, 0.007),
    (DocumentType.TAIWAN_PERMIT, 0.005),
    (DocumentType.FOREIGN_PERMANENT_RESIDENT, 0.005),
)
_OUT_OF_PROVINCE_SHARE = 0.15
_LOCAL_TRIP_SHARE = 0.15
_STILL_AWAY_SHARE = 0.2
_RECENT_TESTS_SHARE = 0.85
_OLD_TEST_SHARE = 0.05
_CASE_SHARE = 0.003
_CONFIRMED_OF_CASES = 0.6
_FRESH_POSITIVE_SHARE = 0.0005
_CLOSE_SHARE = 0.01
_SECONDARY_SHARE = 0.02
_PROXY_SHARE_OF_ELDERLY = 0.05
_ELDERLY_AGE = 70
_ADULT_AGE = 18
_PROXY_MIN_GAP = 18

# ISO 3166-1 numeric nationality codes for the 2023 permanent resident card.
_NATIONALITIES = ("840", "410", "392", "276", "250", "826", "704", "124", "036", "643", "702")

_NAME_POOL = 2048

_MINUTE = timedelta(minutes=1)
_HOUR_MIN = 60
_DAY_MIN = 24 * 60
_WINDOW_MIN = ITINERARY_DAYS * _DAY_MIN

_OUT_SOURCES = (StaySource.RAIL, StaySource.AVIATION, StaySource.SELF, StaySource.TELECOM)
_OUT_SOURCE_CUM = tuple(accumulate((0.45, 0.25, 0.15, 0.15)))
_LOCAL_SOURCES = (StaySource.SCAN, StaySource.SELF, StaySource.TELECOM)
_LOCAL_SOURCE_CUM = tuple(accumulate((0.4, 0.4, 0.2)))

_AGES = tuple(range(MAX_AGE + 1))
_AGE_CUM = tuple(
    accumulate(
        next(w / (hi - lo + 1) for lo, hi, w in AGE_BANDS if lo <= age <= hi) for age in _AGES
    )
)


# ---------------------------------------------------------------------------- the record


@dataclass(frozen=True, slots=True, repr=False)
class Person:
    """One synthetic person, with everything an issuer and the authorities would know.

    ``home`` is a nine-digit township/street code; its first six digits are the county (or
    county-less city) that a resident ID's area code names. ``proxy_index`` is the index, in the
    same population list, of the younger relative who applies on this person's behalf (代办).
    """

    name: str
    id_type: DocumentType
    id_number: str
    sex: Sex
    birth_date: date
    phone: str
    home: str
    stays: tuple[Stay, ...] = ()
    tests: tuple[TestResult, ...] = ()
    cases: tuple[CaseFact, ...] = ()
    contacts: tuple[ContactFact, ...] = ()
    proxy_index: int | None = None

    @property
    def county(self) -> str:
        """The county-level code of the home (the first six digits of the township code)."""
        return self.home[:6]

    def age_on(self, day: date) -> int:
        """Age in completed years on ``day``."""
        return age_on(self.birth_date, day)

    def facts(self) -> SubjectFacts:
        """The facts the colour rules look at."""
        return SubjectFacts(
            stays=self.stays, tests=self.tests, cases=self.cases, contacts=self.contacts
        )

    def __repr__(self) -> str:  # masked, as any display of personal data is
        return (
            f"Person({mask_name(self.name)}, {self.id_type.name}:{mask_id(self.id_number)}, "
            f"{self.sex.name}, home={self.home}, stays={len(self.stays)}, "
            f"tests={len(self.tests)}, cases={len(self.cases)}, contacts={len(self.contacts)}"
            f"{'' if self.proxy_index is None else f', proxy_index={self.proxy_index}'})"
        )


# ---------------------------------------------------------------------------- places


@dataclass(frozen=True, slots=True)
class _Places:
    homes: tuple[str, ...]  # townships a resident may live in
    local: tuple[str, ...]  # townships of the region (local trips)
    destinations: tuple[tuple[str, tuple[str, ...]], ...]  # (city code, its townships)
    destination_cum: tuple[float, ...]


def _is_development_zone(county: str) -> bool:
    """NBS statistical county-level codes ``xxxx71``–``xxxx79`` (开发区, 新区 …)."""
    return county[4] == "7"


@lru_cache(maxsize=32)
def _places(divisions: Divisions, region: str) -> _Places:
    area = divisions.validate_area(region)
    if area.level is Level.TOWNSHIP:
        townships = [area.code]
    else:
        townships = [r.code for r in divisions.descendants(area.code, Level.TOWNSHIP)]
    homes = [t for t in townships if not _is_development_zone(t[:6])] or townships
    if not homes:
        raise ValueError(f"region {area.code} ({area.name}) has no townships to live in")
    province = area.code[:2]
    destinations: list[tuple[str, tuple[str, ...]]] = []
    weights: list[float] = []
    for city, weight in DESTINATIONS:
        if city[:2] == province or not divisions.is_current(city):
            continue
        streets = tuple(r.code for r in divisions.descendants(city, Level.TOWNSHIP))
        if streets:
            destinations.append((city, streets))
            weights.append(weight)
    return _Places(
        homes=tuple(homes),
        local=tuple(townships),
        destinations=tuple(destinations),
        destination_cum=tuple(accumulate(weights)),
    )


@lru_cache(maxsize=4096)
def _city_of(divisions: Divisions, township: str) -> str:
    """The city-level code a telecom itinerary shows for a township (a province for 北京 …)."""
    county = divisions.get(township[:6])
    if county.level is not Level.COUNTY or county.parent is None:
        return county.code
    return county.parent


# ---------------------------------------------------------------------------- generation


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


def _birth_date(rng: random.Random, age: int, today: date) -> date:
    """A birth date on which someone is ``age`` on ``today``, never later than yesterday."""
    latest = _years_before(today, age) if age else today - timedelta(days=1)
    earliest = _years_before(today, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))


def _pick(rng: random.Random, cum: Sequence[float]) -> int:
    """An index drawn with the weights whose running totals are ``cum``."""
    return min(bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _document_type(rng: random.Random) -> DocumentType:
    u = rng.random()
    for doc_type, share in _OTHER_DOCUMENTS:
        if u < share:
            return doc_type
        u -= share
    return DocumentType.RESIDENT_ID


def _document_number(
    rng: random.Random, doc_type: DocumentType, county: str, born: date, sex: Sex
) -> str:
    if doc_type is DocumentType.RESIDENT_ID:
        # Sequence 001–999: odd for men, even for women.
        parity = 1 if sex is Sex.MALE else 0
        sequence = 2 * rng.randrange(0 if parity else 1, 500) + parity
        body = f"{county}{born:%Y%m%d}{sequence:03d}"
        return body + check_character(body)
    if doc_type is DocumentType.PASSPORT:
        letter = rng.choice("ABCDFGHJKLMNPQRSTUVWXYZ")
        return f"E{letter}{rng.randrange(10**7):07d}"
    if doc_type is DocumentType.HK_MACAO_PERMIT:
        return f"{'H' if rng.random() < 0.8 else 'M'}{rng.randrange(10**8):08d}"
    if doc_type is DocumentType.TAIWAN_PERMIT:
        return f"{rng.randrange(10**8):08d}"
    # 2023 foreign permanent resident card: 9, province, nationality, birth date, sequence, check.
    parity = 1 if sex is Sex.MALE else 0
    sequence = 2 * rng.randrange(0 if parity else 1, 500) + parity
    body = f"9{county[:2]}{rng.choice(_NATIONALITIES)}{born:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


def _at(start: datetime, minutes: int) -> datetime:
    return start + minutes * _MINUTE


def _itinerary(
    rng: random.Random, divisions: Divisions, places: _Places, home: str, start: datetime
) -> tuple[Stay, ...]:
    """Consecutive stays covering the 21 days from ``start``; times are minutes from it."""
    u = rng.random()
    if u < _OUT_OF_PROVINCE_SHARE and places.destinations:
        trips = 1 if rng.random() < 0.8 else 2
        out = True
        away = rng.random() < _STILL_AWAY_SHARE
    elif u < _OUT_OF_PROVINCE_SHARE + _LOCAL_TRIP_SHARE and len(places.local) > 1:
        trips = rng.randint(1, 3)
        out = away = False
    else:
        return (Stay(home, start, None, StaySource.SELF),)

    end = _WINDOW_MIN - 1  # the last minute before now
    stays: list[Stay] = []
    at = 0  # when the current stay at home began
    for j in range(trips):
        room = end - at
        if room < 12 * _HOUR_MIN:
            break
        if away and j == trips - 1:  # leave at any time, arrive before now, stay there
            depart = at + rng.randrange(_HOUR_MIN, room - 10 * _HOUR_MIN)
        else:
            depart = at + rng.randrange(_HOUR_MIN, max(_HOUR_MIN + 1, room // (trips - j + 1)))
        if out:
            city, streets = places.destinations[_pick(rng, places.destination_cum)]
            township = rng.choice(streets)
            source = _OUT_SOURCES[_pick(rng, _OUT_SOURCE_CUM)]
            longest = 5 if source is StaySource.AVIATION else 10  # hours on the way
            travel = rng.randrange(2 * _HOUR_MIN, longest * _HOUR_MIN)
            length = rng.randrange(12 * _HOUR_MIN, 7 * _DAY_MIN)
            area = city if source is StaySource.TELECOM else township
        else:
            township = rng.choice(places.local)
            if township == home:
                continue
            source = _LOCAL_SOURCES[_pick(rng, _LOCAL_SOURCE_CUM)]
            travel = rng.randrange(15, 2 * _HOUR_MIN)
            length = rng.randrange(_HOUR_MIN, 2 * _DAY_MIN)
            area = _city_of(divisions, township) if source is StaySource.TELECOM else township
        arrive = depart + travel
        if arrive >= end:
            break  # still on the road: the home stay stays open
        stays.append(Stay(home, _at(start, at), _at(start, depart), StaySource.SELF))
        leave = arrive + length
        if leave + travel >= end or (away and j == trips - 1):  # still away
            stays.append(Stay(area, _at(start, arrive), None, source))
            return tuple(stays)
        stays.append(Stay(area, _at(start, arrive), _at(start, leave), source))
        at = leave + travel
    stays.append(Stay(home, _at(start, at), None, StaySource.SELF))
    return tuple(stays)


def _delay(rng: random.Random) -> int:
    """Minutes from sampling to report: 4–30 hours, most around 8."""
    return round(rng.triangular(4 * _HOUR_MIN, 30 * _HOUR_MIN, 8 * _HOUR_MIN))


def _test(
    rng: random.Random, now: datetime, lab: str, newest: int, oldest: int, outcome: TestOutcome
) -> TestResult:
    """A result sampled between ``oldest`` and ``newest`` minutes before now, reported by now."""
    delay = _delay(rng)
    back = rng.randint(max(newest, delay + 1), max(oldest, delay + 1))
    sampled = now - back * _MINUTE
    return TestResult(sampled, sampled + delay * _MINUTE, outcome, lab)


def _tests(rng: random.Random, now: datetime) -> list[TestResult]:
    u = rng.random()
    lab = rng.choice(LABS)
    if u < _RECENT_TESTS_SHARE:
        count = 1 if (v := rng.random()) < 0.45 else 2 if v < 0.8 else 3
        return [
            _test(
                rng,
                now,
                lab if rng.random() < 0.7 else rng.choice(LABS),
                0,
                TEST_DAYS * _DAY_MIN,
                TestOutcome.NEGATIVE,
            )
            for _ in range(count)
        ]
    if u < _RECENT_TESTS_SHARE + _OLD_TEST_SHARE:
        return [
            _test(rng, now, lab, (TEST_DAYS + 1) * _DAY_MIN, 20 * _DAY_MIN, TestOutcome.NEGATIVE)
        ]
    return []


def _facts(
    rng: random.Random, now: datetime
) -> tuple[tuple[TestResult, ...], tuple[CaseFact, ...], tuple[ContactFact, ...]]:
    tests = _tests(rng, now)
    cases: tuple[CaseFact, ...] = ()
    u = rng.random()
    if u < _CASE_SHARE:
        confirmed = rng.random() < _CONFIRMED_OF_CASES
        status = CaseStatus.CONFIRMED if confirmed else CaseStatus.ASYMPTOMATIC
        since = now - rng.randint(_HOUR_MIN, EXPOSURE_DAYS * _DAY_MIN) * _MINUTE
        reported = since - rng.randint(10, 6 * _HOUR_MIN) * _MINUTE
        sampled = reported - _delay(rng) * _MINUTE
        tests.append(TestResult(sampled, reported, TestOutcome.POSITIVE, rng.choice(LABS)))
        cases = (CaseFact(status, since),)
    elif u < _CASE_SHARE + _FRESH_POSITIVE_SHARE:
        tests.append(
            _test(rng, now, rng.choice(LABS), 1, _DAY_MIN + 30 * _HOUR_MIN, TestOutcome.POSITIVE)
        )
    contacts: tuple[ContactFact, ...] = ()
    u = rng.random()
    if u < _CLOSE_SHARE + _SECONDARY_SHARE:
        kind = ContactKind.CLOSE if u < _CLOSE_SHARE else ContactKind.SECONDARY
        back = rng.randint(_HOUR_MIN, EXPOSURE_DAYS * _DAY_MIN)
        contacts = (ContactFact(kind, now - back * _MINUTE),)
    tests.sort(key=lambda t: t.sampled_at)
    return tuple(tests), cases, contacts


def _phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = f"{rng.choice(_PHONE_PREFIXES)}{rng.randrange(10**8):08d}"
        if phone not in taken:
            taken.add(phone)
            return phone


class _Names:
    """Chinese names from Faker's ``zh_CN`` tables, matching the person's sex.

    The first :data:`_NAME_POOL` surnames and given names of each sex come from Faker one by one
    (``last_name`` weighs 400 surnames by frequency on every call, which would dominate a large
    population); after that, names are drawn by Faker's seeded generator from those already
    made, which keeps the frequencies.
    """

    def __init__(self, fake: Faker) -> None:
        self._fake = fake
        self._random = fake.random  # the instance's seeded generator (the proxy is slow)
        self._surnames: list[str] = []
        self._given: dict[Sex, list[str]] = {Sex.MALE: [], Sex.FEMALE: []}

    def __call__(self, sex: Sex) -> str:
        fake = self._fake
        surnames = self._surnames
        if len(surnames) < _NAME_POOL:
            surname = fake.last_name()
            surnames.append(surname)
        else:
            surname = self._random.choice(surnames)
        given = self._given[sex]
        if len(given) < _NAME_POOL:
            first = fake.first_name_male() if sex is Sex.MALE else fake.first_name_female()
            given.append(first)
        else:
            first = self._random.choice(given)
        return f"{surname}{first}"


def generate_population(
    region: str, n: int, *, seed: int, now: datetime, divisions: Divisions | None = None
) -> list[Person]:
    """``n`` synthetic residents of ``region`` (a current province, city, county or township code).

    Deterministic: the same arguments give an equal list. ``now`` must be timezone-aware and
    after 1996 (so that a 95-year-old was born after 1900); every datetime in the result is in
    China Standard Time and before ``now``, ages are counted on ``now``'s date in China.
    Raises UnknownRegion for a code that is not current and ValueError for a region without
    townships.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    divisions = default_divisions() if divisions is None else divisions
    places = _places(divisions, region)
    now = now.astimezone(CHINA_TZ)
    today = now.date()
    if _years_before(today, MAX_AGE + 1) < MIN_BIRTH_DATE:
        raise ValueError("now is too early: the oldest would be born before 1900")
    window_start = now - timedelta(days=ITINERARY_DAYS)

    rng = random.Random(f"yimatong.demo.population/{region}/{seed}")
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    names = _Names(fake)

    ages = rng.choices(_AGES, cum_weights=_AGE_CUM, k=n)
    phones: set[str] = set()
    documents: set[tuple[DocumentType, str]] = set()
    people: list[Person] = []
    for age in ages:
        sex = Sex.MALE if rng.random() < _MALE_SHARE else Sex.FEMALE
        born = _birth_date(rng, age, today)
        home = rng.choice(places.homes)
        doc_type = _document_type(rng)
        while True:
            number = _document_number(rng, doc_type, home[:6], born, sex)
            key = (doc_type, identity_key(doc_type, number))
            if key not in documents:
                documents.add(key)
                break
        tests, cases, contacts = _facts(rng, now)
        people.append(
            Person(
                name=names(sex),
                id_type=doc_type,
                id_number=number,
                sex=sex,
                birth_date=born,
                phone=_phone(rng, phones),
                home=home,
                stays=_itinerary(rng, divisions, places, home, window_start),
                tests=tests,
                cases=cases,
                contacts=contacts,
            )
        )
    _assign_proxies(rng, people, ages)
    return people


def _assign_proxies(rng: random.Random, people: list[Person], ages: Sequence[int]) -> None:
    """Give 5 % of the elderly a younger adult relative, from their own county if possible."""
    adults_by_county: dict[str, list[int]] = {}
    adults: list[int] = []
    for i, (person, age) in enumerate(zip(people, ages, strict=True)):
        if _ADULT_AGE <= age < _ELDERLY_AGE:
            adults_by_county.setdefault(person.county, []).append(i)
            adults.append(i)
    for i, age in enumerate(ages):
        if age < _ELDERLY_AGE or rng.random() >= _PROXY_SHARE_OF_ELDERLY:
            continue
        limit = age - _PROXY_MIN_GAP
        for pool in (adults_by_county.get(people[i].county, []), adults):
            fitting = [j for j in pool if ages[j] <= limit]
            if fitting:
                people[i] = replace(people[i], proxy_index=rng.choice(fitting))
                break


# ---------------------------------------------------------------------------- summary


def summary(population: Sequence[Person], *, today: date | None = None) -> dict[str, Any]:
    """Counts for the demo's progress output: sex, age band, documents, travel, tests, facts.

    Ages are counted on ``today``; by default on the day the population was generated for
    (a generated itinerary begins exactly 21 days before ``now``).
    """
    if today is None:
        starts = [p.stays[0].arrived for p in population if p.stays]
        latest = max(starts, default=None)
        today = (
            (latest + timedelta(days=ITINERARY_DAYS)).astimezone(CHINA_TZ).date()
            if latest is not None
            else None
        )
    sex: Counter[str] = Counter()
    bands: Counter[str] = Counter({label: 0 for label, _, _ in _SUMMARY_BANDS})
    documents: Counter[str] = Counter()
    tests: Counter[str] = Counter({"total": 0, "negative": 0, "positive": 0, "people": 0})
    cases: Counter[str] = Counter({s.value: 0 for s in CaseStatus})
    contacts: Counter[str] = Counter({k.value: 0 for k in ContactKind})
    travel: Counter[str] = Counter({"stayed_home": 0, "local_trips": 0, "out_of_province": 0})
    proxied = 0
    for p in population:
        sex[p.sex.name.lower()] += 1
        documents[p.id_type.name.lower()] += 1
        if today is not None:
            age = p.age_on(today)
            for label, lo, hi in _SUMMARY_BANDS:
                if lo <= age <= hi:
                    bands[label] += 1
                    break
        tests["people"] += bool(p.tests)
        for t in p.tests:
            tests["total"] += 1
            tests[t.outcome.value] += 1
        for c in p.cases:
            cases[c.status.value] += 1
        for k in p.contacts:
            contacts[k.kind.value] += 1
        provinces = {s.area[:2] for s in p.stays}
        if provinces - {p.home[:2]}:
            travel["out_of_province"] += 1
        elif any(s.area != p.home for s in p.stays):
            travel["local_trips"] += 1
        else:
            travel["stayed_home"] += 1
        proxied += p.proxy_index is not None
    return {
        "persons": len(population),
        "sex": dict(sex),
        "age_bands": dict(bands) if today is not None else {},
        "documents": dict(documents),
        "travel": dict(travel),
        "tests": dict(tests),
        "cases": dict(cases),
        "contacts": dict(contacts),
        "proxied": proxied,
    }
