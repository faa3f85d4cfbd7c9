"""The hub's adapter for the pre-standard Hubei health code (湖北健康码, HBJKM, 420000).

A legacy code (``HBJKM:`` + 32 lower-case hex) carries nothing but a random handle, so it can
only be verified by asking the system that issued it: ``POST /hbjkm/userHealth/validateInfo``
with the partner headers ``appKey``/``timestamp``/``sign``. This module speaks that API and
maps its answer to the shared vocabulary (the table is in ``docs/legacy.md``):

* ``healthyStaus`` (sic) ``00`` → green, ``01`` → yellow, anything else → red; the reason code
  is ``legacy.status-<status>`` and the raw status is kept beside it;
* ``hsjc.hsjcjg`` ``阴性``/``阳性`` → :class:`~yimatong.domain.facts.TestOutcome`, other text
  → no outcome; Beijing local times without an offset become aware datetimes (+08:00);
* with the ``fullIdentity`` scope the answer carries ``cardType`` and the full ``cardId``: the
  number is used once, to compute the federation pseudonym ``sid``, and is never kept or logged.

Errors, in yimatong's tree:

* the code is malformed, unknown or expired (``40001``/``40002``/``40003``) →
  :class:`~yimatong.domain.errors.InvalidCode`, opaque; the operator detail names the errcode;
* no answer, a timeout, HTTP 5xx, "system busy" (``-1``, ``45009``) or an answer we cannot read
  → :class:`~yimatong.domain.errors.Unavailable` ``"legacy issuer 420000 did not answer"``;
* the legacy system refuses *our* credentials (``40100``/``40101``/``40102``/``40300``) →
  ``Unavailable`` whose message tells the operator what to fix: it is the hub's
  misconfiguration, never the holder's fault.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Final

import httpx
import orjson

from yimatong.domain.errors import InvalidCode, InvalidDocument, Unavailable
from yimatong.domain.facts import Colour, TestOutcome
from yimatong.domain.identity import (
    SECRET_MIN_BYTES,
    DocumentType,
    mask_id,
    mask_name,
    subject_id,
    validate_document,
)

__all__ = [
    "BEIJING",
    "CARD_TYPES",
    "CODE_PREFIX",
    "STATUS_COLOURS",
    "TEST_OUTCOMES",
    "VALIDATE_PATH",
    "HbjkmAdapter",
    "LegacyVerdict",
    "colour_of",
    "reason_of",
]

log = logging.getLogger("yimatong.legacy")

CODE_PREFIX: Final = "HBJKM:"
VALIDATE_PATH: Final = "/hbjkm/userHealth/validateInfo"
#: The legacy system's times are Beijing local time with no offset.
BEIJING: Final = timezone(timedelta(hours=8))

STATUS_COLOURS: Final[Mapping[str, Colour]] = {"00": Colour.GREEN, "01": Colour.YELLOW}
TEST_OUTCOMES: Final[Mapping[str, TestOutcome]] = {
    "阴性": TestOutcome.NEGATIVE,
    "阳性": TestOutcome.POSITIVE,
}
#: The legacy ``cardType`` codes and the documents they are (its codes, not GA/T 517).
CARD_TYPES: Final[Mapping[str, DocumentType]] = {
    "1": DocumentType.RESIDENT_ID,
    "2": DocumentType.PASSPORT,
    "3": DocumentType.HK_MACAO_PERMIT,
    "4": DocumentType.TAIWAN_PERMIT,
    "5": DocumentType.FOREIGN_PERMANENT_RESIDENT,
}

_SHAPE = re.compile(r"HBJKM:[0-9a-f]{32}")
_CODE_LENGTH = len(CODE_PREFIX) + 32
_STATUS_SLUG = re.compile(r"[0-9a-z]{1,8}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_REGION = re.compile(r"[0-9]{6}")
_ERRCODE = re.compile(r"-?[0-9]{1,9}")
_MAX_ANSWER_BYTES = 64 * 1024
_MAX_MASKED = 64

_NOT_A_CODE: Final = {40001: "unknown code", 40002: "malformed code", 40003: "expired code"}
_BUSY: Final = frozenset({-1, 45009})
_OUR_CREDENTIALS: Final = {
    40100: "the appKey is unknown to it",
    40101: "it rejected the sign (is the appSecret right?)",
    40102: "it rejected the timestamp (is the hub's clock right?)",
    40300: "the partner app lacks the validateInfo scope",
}


def colour_of(status: str) -> Colour:
    """``00`` → green, ``01`` → yellow, any other legacy status → red."""
    return STATUS_COLOURS.get(status, Colour.RED)


def reason_of(status: str) -> str:
    """The shared-vocabulary reason code for a legacy status: ``legacy.status-01``."""
    slug = status.strip().lower()
    return f"legacy.status-{slug}" if _STATUS_SLUG.fullmatch(slug) else "legacy.status-other"


@dataclass(frozen=True, slots=True)
class LegacyVerdict:
    """What the legacy issuer said about one code, in the shared vocabulary.

    ``sid`` is None unless the partner app has ``fullIdentity`` and the card type maps to a
    :class:`~yimatong.domain.identity.DocumentType`. ``masked_name``/``masked_id`` are masked
    again here whatever the legacy system sent. Times are aware.
    """

    issuer: str
    colour: Colour
    reasons: tuple[str, ...]
    legacy_status: str
    status_since: datetime | None
    masked_name: str
    masked_id: str
    sid: str | None
    test_outcome: TestOutcome | None
    test_sampled_at: datetime | None
    test_reported_at: datetime | None
    checked_at: datetime


class _Unreadable(Exception):
    """The answer does not have the shape the legacy API defines."""


class HbjkmAdapter:
    """Verifies ``HBJKM:`` codes by calling the legacy system's ``validateInfo``.

    Give it either an ``httpx.Client`` (``client=``; e.g. a ``starlette.testclient.TestClient``
    in tests — its base URL should then match ``base_url``), or a ``transport``, or neither (a
    real connection pool with ``timeout`` seconds for connecting and for reading). An adapter
    that made its own client closes it in :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        app_key: str,
        app_secret: str,
        region: str = "420000",
        federation_secret: bytes,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 2.0,
    ) -> None:
        if not isinstance(federation_secret, bytes) or len(federation_secret) < SECRET_MIN_BYTES:
            raise ValueError(f"federation_secret must be at least {SECRET_MIN_BYTES} bytes")
        if not _REGION.fullmatch(region):
            raise ValueError(f"region must be a six-digit code, got {region!r}")
        if not app_key or not app_secret:
            raise ValueError("app_key and app_secret are required")
        if client is not None and transport is not None:
            raise ValueError("give a client or a transport, not both")
        self.region = region
        self._url = base_url.rstrip("/") + VALIDATE_PATH
        self._app_key = app_key
        self._app_secret = app_secret
        self._secret = federation_secret
        self._owns_client = client is None
        self._client = client or httpx.Client(
            transport=transport, timeout=timeout, follow_redirects=False
        )
        self._no_answer = f"legacy issuer {region} did not answer"

    # ------------------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HbjkmAdapter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<HbjkmAdapter {self.region} {self._url}>"

    # ------------------------------------------------------------------------------- public

    @staticmethod
    def recognises(code: object) -> bool:
        """Whether ``code`` is shaped like an HBJKM code (prefix and 32 lower-case hex)."""
        return isinstance(code, str) and len(code) == _CODE_LENGTH and bool(_SHAPE.fullmatch(code))

    def verify(self, code: str, *, now: datetime) -> LegacyVerdict:
        """Ask the legacy issuer about ``code`` at ``now``; InvalidCode or Unavailable if not."""
        if not isinstance(code, str):
            raise TypeError(f"a code is a str, not {type(code).__name__}")
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        if not self.recognises(code):
            raise InvalidCode("not an HBJKM code")
        answer = self._call(code, now)
        try:
            return self._verdict(answer, now)
        except _Unreadable as exc:
            log.warning("legacy issuer %s: unreadable answer (%s)", self.region, exc)
            raise Unavailable(self._no_answer) from None

    # ------------------------------------------------------------------------------ private

    def _call(self, code: str, now: datetime) -> dict[str, Any]:
        timestamp = str(int(now.timestamp() * 1000))
        sign = hashlib.sha256(
            (self._app_key + timestamp + self._app_secret).encode("utf-8")
        ).hexdigest()
        headers = {
            "appKey": self._app_key,
            "timestamp": timestamp,
            "sign": sign,
            "Content-Type": "application/json;charset=UTF-8",
        }
        try:
            # Streamed, so that an answer over the cap is dropped after the cap, not read whole
            # into memory first (an endless body would otherwise grow the hub without bound).
            with self._client.stream(
                "POST", self._url, content=orjson.dumps({"bizExtData": code}), headers=headers
            ) as response:
                status = response.status_code
                content = _read_capped(response) if status == 200 else None
        except httpx.HTTPError as exc:
            log.warning("legacy issuer %s: %s", self.region, type(exc).__name__)
            raise Unavailable(self._no_answer) from None
        if status >= 500:
            log.warning("legacy issuer %s: HTTP %d", self.region, status)
            raise Unavailable(self._no_answer)
        if status != 200:
            raise Unavailable(
                f"legacy issuer {self.region} answered HTTP {status}: "
                "check the adapter's base URL for it"
            )
        if content is None:
            log.warning("legacy issuer %s: an answer over %d bytes", self.region, _MAX_ANSWER_BYTES)
            raise Unavailable(self._no_answer)
        try:
            answer = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise Unavailable(self._no_answer) from None
        if not isinstance(answer, dict):
            raise Unavailable(self._no_answer)
        errcode = answer.get("errcode")
        if isinstance(errcode, str) and _ERRCODE.fullmatch(errcode):
            errcode = int(errcode)  # some such systems send "0"
        if not isinstance(errcode, int) or isinstance(errcode, bool):
            raise Unavailable(self._no_answer)
        if errcode == 0:
            return answer
        if errcode in _NOT_A_CODE:
            raise InvalidCode(f"legacy errcode {errcode} ({_NOT_A_CODE[errcode]})")
        if errcode in _OUR_CREDENTIALS:
            message = (
                f"legacy issuer {self.region} refused the hub's partner credentials "
                f"(errcode {errcode}: {_OUR_CREDENTIALS[errcode]}); "
                "fix the appKey/appSecret configured for it"
            )
            log.error(message)
            raise Unavailable(message)
        if errcode not in _BUSY:
            log.warning("legacy issuer %s: unexpected errcode %r", self.region, errcode)
        raise Unavailable(self._no_answer)

    def _verdict(self, answer: Mapping[str, Any], now: datetime) -> LegacyVerdict:
        person = answer.get("person")
        if not isinstance(person, dict):
            raise _Unreadable("no person")
        name = person.get("desensitizeName")
        card = person.get("desensitizeCardId")
        if not isinstance(name, str) or not isinstance(card, str):
            raise _Unreadable("no masked identity")
        if len(name) > _MAX_MASKED or len(card) > _MAX_MASKED:
            raise _Unreadable("masked identity too long")

        status, since = _current_status(answer.get("healthyReport"))
        outcome, sampled, reported = _last_test(answer.get("hsjc"))
        return LegacyVerdict(
            issuer=self.region,
            colour=colour_of(status),
            reasons=(reason_of(status),),
            legacy_status=status,
            status_since=since,
            masked_name=mask_name(name),
            masked_id=mask_id(card),
            sid=self._sid(person, now),
            test_outcome=outcome,
            test_sampled_at=sampled,
            test_reported_at=reported,
            checked_at=now,
        )

    def _sid(self, person: Mapping[str, Any], now: datetime) -> str | None:
        """The pseudonym from ``cardType``/``cardId`` when present; the number is not kept."""
        card_type = person.get("cardType")
        card_id = person.get("cardId")
        doc_type = CARD_TYPES.get(card_type) if isinstance(card_type, str) else None
        if doc_type is None or not isinstance(card_id, str) or len(card_id) > 64:
            return None
        try:
            number = validate_document(doc_type, card_id, today=now.astimezone(BEIJING).date())
        except InvalidDocument:
            log.warning("legacy issuer %s sent a card number that fails its checks", self.region)
            return None
        return subject_id(self._secret, doc_type, number)


def _read_capped(response: httpx.Response) -> bytes | None:
    """The body of ``response``, or None as soon as it is longer than ``_MAX_ANSWER_BYTES``."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > _MAX_ANSWER_BYTES:
            return None
    return bytes(body)


def _local_time(text: object) -> datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` Beijing time → aware datetime; None if absent or malformed."""
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None


def _current_status(reports: object) -> tuple[str, datetime | None]:
    """The latest report's status and time (by ``reportTime``; the first one on a tie)."""
    if not isinstance(reports, list) or not reports:
        raise _Unreadable("no healthyReport")
    best: tuple[str, datetime | None] | None = None
    for report in reports[:32]:
        if not isinstance(report, dict):
            continue
        status = report.get("healthyStaus")
        if not isinstance(status, str) or len(status) > 16:
            continue
        when = _local_time(report.get("reportTime"))
        if best is None or (when is not None and (best[1] is None or when > best[1])):
            best = (status, when)
    if best is None:
        raise _Unreadable("no healthyStaus")
    return best


def _last_test(
    hsjc: object,
) -> tuple[TestOutcome | None, datetime | None, datetime | None]:
    """Outcome, sampled and reported time of the last test; Nones when there is none."""
    if not isinstance(hsjc, dict):
        return None, None, None
    result = hsjc.get("hsjcjg")
    outcome = TEST_OUTCOMES.get(result) if isinstance(result, str) else None
    if outcome is None:
        return None, None, None
    return outcome, _local_time(hsjc.get("cysj")), _local_time(hsjc.get("hsjcsj"))
