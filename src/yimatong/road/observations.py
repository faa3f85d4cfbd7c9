"""Observations from sensing vehicles and citizens' phones, their provenance and idempotency.

An ``Observation`` is what a device says: when and where (lon/lat on WGS-84 or CGCS2000), its
heading and speed, and either a classified detection (defect type, severity, confidence 0..1) or
a *clear pass* (``defect=None``: the device went over the spot and saw nothing — what a
re-inspection reports), with the SHA-256 of the image it judged from. Each device numbers its
observations; ``(device_id, seq)`` names one, so a batch sent twice is taken once
(``split_batch``).

``accept`` turns an observation into an ``AcceptedObservation`` — our judgement of it: whether
it comes from a registered device whose signature verifies, and whether that device is a
*trusted* vehicle (one observation from it confirms a finding). A citizen's phone is never
trusted; an unsigned observation is accepted only from an unregistered device (a citizen's app)
and then counts as an independent observation, nothing more.

The signed bytes are ``b"ymt-road-obs/1\\n"`` followed by the RFC 8785 (JCS) form of
``Observation.payload()`` (docs/road.md).
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import rfc8785

from yimatong.domain.errors import Conflict, InvalidInput, Unauthorized
from yimatong.road.grid import Datum
from yimatong.road.rules import DefectCatalogue, Severity

__all__ = [
    "BATCH_CONTEXT",
    "AcceptedObservation",
    "BatchSplit",
    "Bump",
    "Observation",
    "OwnerKind",
    "RegisteredDevice",
    "accept",
    "batch_signing_bytes",
    "check_device_id",
    "jcs_flat",
    "partition_batch",
    "split_batch",
]

SIGNING_CONTEXT = b"ymt-road-obs/1\n"
#: What a device signs for a batch: this, then the request body exactly as sent.
BATCH_CONTEXT = b"ymt-road-batch/1\n"
BUMP_CONTEXT = b"ymt-road-bump/1\n"
MAX_BUMP_G = 16.0  # a phone's accelerometer saturates about there
MAX_SPEED_MPS = 70.0  # 252 km/h: anything faster is a broken fix, not a vehicle
_DEVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_MAX_SEQ = 2**53 - 1  # JCS numbers are doubles


def check_device_id(device_id: str) -> None:
    if not _DEVICE.fullmatch(device_id):
        raise InvalidInput("device id must be 1-64 letters, digits or ._:-", field="device_id")


class OwnerKind(enum.StrEnum):
    VEHICLE = "vehicle"
    CITIZEN = "citizen"


@dataclass(frozen=True, slots=True)
class Observation:
    """One device's report about one spot at one moment (validated on construction)."""

    device_id: str
    seq: int
    observed_at: datetime
    lon: float
    lat: float
    heading_deg: float | None
    speed_mps: float | None
    defect: str | None
    severity: Severity | None
    confidence: float
    image_sha256: str | None
    datum: Datum = "CGCS2000"

    def __post_init__(self) -> None:
        check_device_id(self.device_id)
        if (
            isinstance(self.seq, bool)
            or not isinstance(self.seq, int)
            or not 0 <= self.seq <= _MAX_SEQ
        ):
            raise InvalidInput("seq must be an integer 0..2^53-1", field="seq")
        if self.observed_at.tzinfo is None or self.observed_at.utcoffset() is None:
            raise InvalidInput("observed_at must carry a time zone", field="observed_at")
        if not (_finite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise InvalidInput("longitude must be within -180..180", field="lon")
        if not (_finite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise InvalidInput("latitude must be within -90..90", field="lat")
        if self.heading_deg is not None and not (
            _finite(self.heading_deg) and 0.0 <= self.heading_deg < 360.0
        ):
            raise InvalidInput("heading must be within 0..360 degrees", field="heading_deg")
        if self.speed_mps is not None and not (
            _finite(self.speed_mps) and 0.0 <= self.speed_mps <= MAX_SPEED_MPS
        ):
            raise InvalidInput(f"speed must be within 0..{MAX_SPEED_MPS} m/s", field="speed_mps")
        if not (_finite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise InvalidInput("confidence must be within 0..1", field="confidence")
        if (self.defect is None) != (self.severity is None):
            raise InvalidInput(
                "a detection has a severity; a clear pass has none", field="severity"
            )
        if self.image_sha256 is not None and not _SHA256_HEX.fullmatch(self.image_sha256):
            raise InvalidInput("image hash must be 64 lower-case hex digits", field="image_sha256")
        if self.datum not in ("WGS84", "CGCS2000"):
            raise InvalidInput("datum must be WGS84 or CGCS2000", field="datum")

    @property
    def key(self) -> tuple[str, int]:
        return self.device_id, self.seq

    def check_against(self, catalogue: DefectCatalogue) -> None:
        """The detection names a known type, at a level that type has."""
        if self.defect is not None:
            defect = catalogue.get(self.defect)
            if self.severity not in defect.levels:
                raise InvalidInput(f"{self.defect} has no such level", field="severity")

    def payload(self) -> dict[str, Any]:
        """The JSON form (what a device sends and signs, less the signature)."""
        return {
            "device_id": self.device_id,
            "seq": self.seq,
            "observed_at": _utc(self.observed_at),
            "lon": self.lon,
            "lat": self.lat,
            "datum": self.datum,
            "heading_deg": self.heading_deg,
            "speed_mps": self.speed_mps,
            "defect": self.defect,
            "severity": None if self.severity is None else self.severity.label,
            "confidence": self.confidence,
            "image_sha256": self.image_sha256,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Observation:
        try:
            severity = data.get("severity")
            return cls(
                device_id=str(data["device_id"]),
                seq=data["seq"],
                observed_at=datetime.fromisoformat(str(data["observed_at"])),
                lon=float(data["lon"]),
                lat=float(data["lat"]),
                datum=data.get("datum", "CGCS2000"),
                heading_deg=_opt_float(data.get("heading_deg")),
                speed_mps=_opt_float(data.get("speed_mps")),
                defect=None if data.get("defect") is None else str(data["defect"]),
                severity=None if severity is None else Severity.parse(str(severity)),
                confidence=float(data["confidence"]),
                image_sha256=None
                if data.get("image_sha256") is None
                else str(data["image_sha256"]),
            )
        except KeyError as exc:
            raise InvalidInput(f"missing {exc.args[0]}", field=str(exc.args[0])) from None
        except (TypeError, ValueError):
            raise InvalidInput("not an observation", field="observation") from None

    def signing_bytes(self) -> bytes:
        return SIGNING_CONTEXT + (_jcs_observation(self) or jcs_flat(self.payload()))

    def digest(self) -> bytes:
        """SHA-256 of the signed bytes: what idempotency compares."""
        return hashlib.sha256(self.signing_bytes()).digest()


@dataclass(frozen=True, slots=True)
class Bump:
    """A citizen's phone felt a jolt (accelerometer, no classification) at a place and time.

    ``magnitude_g`` is the peak vertical acceleration above gravity; a photo may come with it
    (its SHA-256). A bump never confirms a defect: it is evidence that a citizen was there
    first, which earns points once a vehicle or other devices confirm a finding nearby.
    """

    device_id: str
    seq: int
    observed_at: datetime
    lon: float
    lat: float
    magnitude_g: float
    image_sha256: str | None = None
    datum: Datum = "CGCS2000"

    def __post_init__(self) -> None:
        # The fields a bump shares with an observation are checked by the same rules.
        Observation(
            self.device_id, self.seq, self.observed_at, self.lon, self.lat, None, None, None,
            None, 1.0, self.image_sha256, self.datum,
        )  # fmt: skip
        if not (_finite(self.magnitude_g) and 0.0 < self.magnitude_g <= MAX_BUMP_G):
            raise InvalidInput(f"magnitude must be within 0..{MAX_BUMP_G} g", field="magnitude_g")

    @property
    def key(self) -> tuple[str, int]:
        return self.device_id, self.seq

    def payload(self) -> dict[str, Any]:
        return {
            "kind": "bump",
            "device_id": self.device_id,
            "seq": self.seq,
            "observed_at": _utc(self.observed_at),
            "lon": self.lon,
            "lat": self.lat,
            "datum": self.datum,
            "magnitude_g": self.magnitude_g,
            "image_sha256": self.image_sha256,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Bump:
        try:
            return cls(
                device_id=str(data["device_id"]),
                seq=data["seq"],
                observed_at=datetime.fromisoformat(str(data["observed_at"])),
                lon=float(data["lon"]),
                lat=float(data["lat"]),
                datum=data.get("datum", "CGCS2000"),
                magnitude_g=float(data["magnitude_g"]),
                image_sha256=None
                if data.get("image_sha256") is None
                else str(data["image_sha256"]),
            )
        except KeyError as exc:
            raise InvalidInput(f"missing {exc.args[0]}", field=str(exc.args[0])) from None
        except (TypeError, ValueError):
            raise InvalidInput("not a bump event", field="observation") from None

    def signing_bytes(self) -> bytes:
        return BUMP_CONTEXT + jcs_flat(self.payload())

    def digest(self) -> bytes:
        return hashlib.sha256(self.signing_bytes()).digest()


def batch_signing_bytes(body: bytes) -> bytes:
    """What a registered device signs for a batch: the context, then the body as sent."""
    return BATCH_CONTEXT + body


class Verifier(Protocol):
    """A public key (``adapters.crypto.VerifyingKey``): ``verify`` raises on a bad signature."""

    def verify(self, signature: bytes, data: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    device_id: str
    owner_kind: OwnerKind
    owner: str  # the organisation or account that registered it (never a person's name)
    key: Verifier
    trusted: bool = False  # only an inspection vehicle can be; one observation confirms

    def __post_init__(self) -> None:
        if self.trusted and self.owner_kind is not OwnerKind.VEHICLE:
            raise ValueError("only a vehicle can be a trusted device")


@dataclass(frozen=True, slots=True)
class AcceptedObservation:
    observation: Observation
    owner_kind: OwnerKind
    signed: bool  # a registered device's signature verified
    trusted: bool


def accept(
    observation: Observation,
    signature: bytes | None,
    device: RegisteredDevice | None,
    catalogue: DefectCatalogue,
) -> AcceptedObservation:
    """Check a device's observation and say how far it can be trusted.

    A registered device must sign (``Unauthorized`` otherwise, or when the signature fails —
    whatever the cause, as one error); an unregistered one is a citizen's phone, taken unsigned
    and untrusted.
    """
    observation.check_against(catalogue)
    if device is None:
        return AcceptedObservation(observation, OwnerKind.CITIZEN, signed=False, trusted=False)
    if device.device_id != observation.device_id:
        raise ValueError("device record is for another device")
    if signature is None:
        raise Unauthorized("a registered device must sign its observations")
    try:
        device.key.verify(signature, observation.signing_bytes())
    except Exception:  # any failure of the key is one opaque answer
        raise Unauthorized("observation signature does not verify") from None
    return AcceptedObservation(observation, device.owner_kind, signed=True, trusted=device.trusted)


@dataclass(frozen=True, slots=True)
class BatchSplit:
    new: tuple[Observation, ...]
    duplicates: tuple[Observation, ...]


def partition_batch(
    keyed: Iterable[tuple[tuple[str, int], bytes]], known: Mapping[tuple[str, int], bytes]
) -> list[str]:
    """Per item of ``keyed`` ((device, seq), digest), in order: ``new``, ``duplicate`` (the same
    bytes again) or ``conflict`` (the key with other bytes) — ``split_batch``'s rule, row by
    row, so that ingest can store the good rows of a batch and report the bad ones."""
    seen: dict[tuple[str, int], bytes] = {}
    verdicts = []
    for key, digest in keyed:
        held = known.get(key)
        if held is None:
            held = seen.get(key)
        if held is None:
            seen[key] = digest
            verdicts.append("new")
        elif held == digest:
            verdicts.append("duplicate")
        else:
            verdicts.append("conflict")
    return verdicts


def split_batch(batch: Iterable[Observation], known: Mapping[tuple[str, int], bytes]) -> BatchSplit:
    """Ingest is idempotent per (device, seq): drop what is already held, refuse a changed copy.

    ``known`` maps the keys already stored to their digests. The same key with the same bytes
    (a retry) is a duplicate; the same key with other bytes is a ``Conflict`` — a device must
    never reuse a sequence number — and so is a key twice in one batch with different bytes.
    """
    new: dict[tuple[str, int], Observation] = {}
    duplicates = []
    for obs in batch:
        held = known.get(obs.key)
        if held is None and obs.key in new:
            held = new[obs.key].digest()
        if held is None:
            new[obs.key] = obs
        elif held == obs.digest():
            duplicates.append(obs)
        else:
            raise Conflict(f"a device reused sequence number {obs.seq}", field="seq")
    return BatchSplit(tuple(new.values()), tuple(duplicates))


#: Strings that JSON writes as they are (no escape): every string of a payload in practice.
_PLAIN = re.compile(r"[A-Za-z0-9 ._:+\-]*")


def jcs_flat(payload: Mapping[str, Any]) -> bytes:
    """The RFC 8785 (JCS) bytes of a flat JSON object — what ``rfc8785.dumps`` gives, faster
    for the payloads of observations (ingest computes one per row). Keys are ASCII (so
    Python's order is JCS's UTF-16 order); a string needing no escape is written as it is, a
    number in 10^-4 ≤ |x| < 10^16 as Python's shortest repr (the digits ECMAScript prints,
    without a trailing ``.0``); anything else goes to ``rfc8785``."""
    keys = tuple(payload)
    order = _KEY_ORDERS.get(keys)
    if order is None:
        plain = all(k.isascii() and _PLAIN.fullmatch(k) for k in keys)
        order = tuple(sorted(keys)) if plain else ()
        if len(_KEY_ORDERS) < 64:
            _KEY_ORDERS[keys] = order
    if len(order) != len(keys):
        return rfc8785.dumps(payload)
    parts = []
    for key in order:
        value = payload[key]
        kind = type(value)
        if value is None:
            text = "null"
        elif kind is str and _PLAIN.fullmatch(value):
            text = f'"{value}"'
        elif kind is float and (value == 0 or 1e-4 <= abs(value) < 1e16):
            text = "0" if value == 0 else repr(value).removesuffix(".0")
        elif kind is int and abs(value) < 2**53:
            text = str(value)
        elif kind is bool:
            text = "true" if value else "false"
        else:
            return rfc8785.dumps(payload)
        parts.append(f'"{key}":{text}')
    return ("{" + ",".join(parts) + "}").encode("ascii")


def _jcs_observation(obs: Observation) -> bytes | None:
    """``jcs_flat(obs.payload())`` written directly (ingest computes one per row), or None
    where a value needs the general path. The keys in JCS order; the device id, datum, image
    hash, time and seq are plain by the checks of construction (``_DEVICE``, ``_SHA256_HEX``,
    an ISO time, an integer below 2^53)."""
    numbers = []
    for value in (obs.confidence, obs.heading_deg, obs.lat, obs.lon, obs.speed_mps):
        if value is None:
            numbers.append("null")
        elif type(value) is float and (value == 0 or 1e-4 <= abs(value) < 1e16):
            numbers.append("0" if value == 0 else repr(value).removesuffix(".0"))
        else:  # as jcs_flat: another path
            return None
    confidence, heading, lat, lon, speed = numbers
    if obs.defect is None:
        defect = "null"
    elif _PLAIN.fullmatch(obs.defect):
        defect = f'"{obs.defect}"'
    else:
        return None
    if obs.severity is None:
        severity = "null"
    else:
        label = obs.severity.label
        if not _PLAIN.fullmatch(label):
            return None
        severity = f'"{label}"'
    image = "null" if obs.image_sha256 is None else f'"{obs.image_sha256}"'
    return (
        f'{{"confidence":{confidence},"datum":"{obs.datum}","defect":{defect},'
        f'"device_id":"{obs.device_id}","heading_deg":{heading},"image_sha256":{image},'
        f'"lat":{lat},"lon":{lon},"observed_at":"{_utc(obs.observed_at)}","seq":{obs.seq},'
        f'"severity":{severity},"speed_mps":{speed}}}'
    ).encode("ascii")


#: key tuples of the payloads seen → their JCS order (() when a key needs the slow path)
_KEY_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _utc(at: datetime) -> str:
    """A time as signed: in UTC, so that a stored observation gives back the same bytes."""
    return at.astimezone(UTC).isoformat()


def _finite(x: float) -> bool:
    if type(x) is float:  # the common case first (a row checks five)
        return math.isfinite(x)
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
