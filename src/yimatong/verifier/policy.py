"""Entry policies at the gate: the facts a policy sees, which policy applies, and the decision.

Pure: no I/O, no clock (``Facts.now`` is given). The hub's Mode 2 verify and the offline
verifier both decide here, so a code gets the same answer from the web page and from the gate.

The data a CertLogic policy is evaluated over (docs/policies.md is the reference)::

    {
      "code":     {"colour", "signed_colour", "kind", "issuer", "issuer_kind",
                   "issued_at", "colour_since", "reasons": [reason codes]},
      "status":   {"online", "source", "colour", "reasons"},
      "tests":    {"has_negative", "hours_since_negative", "negative_sampled_at"},
      "stays":    [{"level", "days_ago", "area", "source"}],
      "scan":     {"temperature_decidegrees", "place_kind"},
      "certificate": {"kind": ymt1|dcc|shc, "issuer", "issuer_country", "issued_at",
                   "expires_at", "colour", "vaccination", "test", "recovery"},
      "external": {"now", "region", "place_kind", "online", "area_level",
                   "validationClock", "valueSets", "countryCode", "exp", "iat"},
      "payload":  a DCC's hcert without nam and dob (what the EU's business rules read), or null
    }

Which policies a checkpoint has (``PolicySet``) is the hub's signed statement for one region: the
policies of that region and of the regions containing it, and which of those regions have any
(``governed_by``; none: the national default applies). A checkpoint that has no such statement
for the region where it stands does not know its policy: ``decide(None, ...)`` is CHECK, never
the national default, which only the hub's word that no authority set anything makes apply.

Deciding (``decide``): the policy's value must be exactly ``true`` to PASS. Otherwise the
decision is DENY only if the rule would still fail whatever the facts the checkpoint does not
know turn out to be; when filling those unknowns with their most favourable values
(``FAVOURABLE``) would make it pass, the decision is CHECK, naming what is missing ("take the
temperature", "no online status"). An evaluation error is CHECK too: a checkpoint never lets
anyone through because a rule could not be evaluated, and never turns anyone away for it
either. A DENY names the facts that fail the policy (``verifier/explain.py``), not those that
held (a normal temperature is no reason to turn a red code away).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from yimatong.domain import edge
from yimatong.domain.token import CodeKind, HealthClaims
from yimatong.rules.certlogic import (
    CertLogicError,
    CertLogicEvaluationError,
    Compiled,
)
from yimatong.rules.certlogic import (
    compile as compile_rule,
)
from yimatong.verifier.dcc_schema import EU_VALUE_SET_IDS, eu_value_sets
from yimatong.verifier.explain import why_denied
from yimatong.verifier.international import CertificateFacts
from yimatong.verifier.texts import no_policy, place_label

__all__ = [
    "FACT_SCHEMA",
    "NATIONAL",
    "NATIONAL_DEFAULT",
    "PLACE_KINDS",
    "POPUP_TEXTS",
    "UNKNOWN_FACTS",
    "Decision",
    "Facts",
    "Outcome",
    "Policy",
    "PolicySet",
    "StayFact",
    "decide",
    "fact_path_issues",
    "facts_from_answer",
    "facts_from_claims",
    "parse_time",
    "region_chain",
    "stays_from_reasons",
]

NATIONAL = "000000"
PLACE_KINDS = ("any", "transport", "residential", "hospital", "school", "office")

#: Facts a checkpoint may not know, each with the label a CHECK shows for it.
UNKNOWN_FACTS = {
    "colour": ("当前颜色（需联网查询）", "the current colour (needs the network)"),
    "tests": ("核酸检测结果", "the test results"),
    "stays": ("风险地区停留的时间", "when the risk-area stays were"),
    "temperature": ("现场体温", "the temperature at the gate"),
}

#: The most favourable value of each unknown fact, used only to tell DENY from CHECK.
FAVOURABLE_TEMPERATURE = 365  # 36.5 °C in tenths
FAVOURABLE_DAYS_AGO = 100_000

#: The paths a policy may read (``var``); a leaf is None, an array a one-element list.
FACT_SCHEMA: dict[str, Any] = {
    "code": {
        "colour": None,
        "signed_colour": None,
        "kind": None,
        "issuer": None,
        "issuer_kind": None,
        "issued_at": None,
        "colour_since": None,
        "reasons": [None],
    },
    "status": {"online": None, "source": None, "colour": None, "reasons": [None]},
    "tests": {"has_negative": None, "hours_since_negative": None, "negative_sampled_at": None},
    "stays": [{"level": None, "days_ago": None, "area": None, "source": None}],
    "scan": {"temperature_decidegrees": None, "place_kind": None},
    "certificate": {
        "kind": None,
        "issuer": None,
        "issuer_country": None,
        "issued_at": None,
        "expires_at": None,
        "colour": None,
        "vaccination": {
            "doses": None,
            "series": None,
            "complete": None,
            "last_date": None,
            "days_since_last": None,
            "product": None,
            "product_name": None,
            "disease": None,
        },
        "test": {
            "type": None,
            "negative": None,
            "sampled_at": None,
            "hours_since_sample": None,
            "disease": None,
        },
        "recovery": {
            "first_positive": None,
            "valid_from": None,
            "valid_until": None,
            "disease": None,
        },
    },
    "external": {
        "now": None,
        "region": None,
        "place_kind": None,
        "online": None,
        "area_level": None,
        # what the EU's business rules read (CertLogic's external parameters)
        "validationClock": None,
        "valueSets": dict.fromkeys(EU_VALUE_SET_IDS),
        "countryCode": None,
        "exp": None,
        "iat": None,
    },
    # a DCC's hcert as the EU's business rules read it, without nam and dob (null otherwise)
    "payload": {
        "ver": None,
        "v": [dict.fromkeys(("tg", "vp", "mp", "ma", "dn", "sd", "dt", "co", "is", "ci"))],
        "t": [dict.fromkeys(("tg", "tt", "nm", "ma", "sc", "dr", "tr", "tc", "co", "is", "ci"))],
        "r": [dict.fromkeys(("tg", "fr", "co", "is", "df", "du", "ci"))],
    },
}

#: ``external.countryCode`` of the EU's business rules: the country the checkpoint is in.
COUNTRY_CODE = "CN"

_REGION = re.compile(r"[0-9]{6}")
_NOTHING: frozenset[str] = frozenset()


class Outcome(enum.Enum):
    PASS = "PASS"  # noqa: S105 - an outcome, not a password
    DENY = "DENY"
    CHECK = "CHECK"


def parse_time(value: object, what: str = "time") -> datetime:
    """An aware UTC datetime from RFC 3339 text (ValueError otherwise): the shared parser."""
    return edge.parse_time(value, what)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:  # every time on the verify path is already UTC
        value = value.astimezone(UTC)
    return value.isoformat(timespec="seconds")


def region_chain(region: str) -> list[str]:
    """``region`` and the regions that contain it, finest first, ending with the nation.

    ``330106`` → ``330106, 330100, 330000, 000000``: the most local authority with a policy for
    a place decides (a city's policy replaces its province's there).
    """
    if not _REGION.fullmatch(region):
        raise ValueError("a region is a six-digit code")
    chain = [region, region[:4] + "00", region[:2] + "0000", NATIONAL]
    return list(dict.fromkeys(chain))


# --------------------------------------------------------------------------------------------
# Policies


def sections_read(rule: Any) -> frozenset[str] | None:
    """The top-level parts of the data (``code``, ``tests``, ...) that ``rule`` can read; None
    when it reads the whole context (``{"var": ""}``). CertLogic paths are literal strings,
    so this is exact; a ``reduce`` lambda reads only ``current`` and ``accumulator``."""
    found: set[str] = set()
    whole = False

    def walk(expr: Any, top: bool) -> None:
        nonlocal whole
        if isinstance(expr, list):
            for item in expr:
                walk(item, top)
            return
        if not isinstance(expr, dict) or len(expr) != 1:
            return
        ((op, operands),) = expr.items()
        if op == "var":
            if top and isinstance(operands, str):
                if operands == "":
                    whole = True
                found.add(operands.split(".", 1)[0])
            elif top:
                whole = True  # not a valid var; the evaluator decides what it means
            return
        if op == "reduce" and isinstance(operands, list) and len(operands) == 3:
            walk(operands[0], top)
            walk(operands[1], False)
            walk(operands[2], top)
            return
        walk(operands, top)

    walk(rule, True)
    return None if whole else frozenset(found)


@dataclass(frozen=True, slots=True)
class Policy:
    """One entry policy as the hub signs it; its rule is compiled once, when it is made."""

    id: int
    region: str
    place_kind: str
    version: int
    rule: Any
    description: str
    valid_from: datetime
    valid_to: datetime | None = None
    set_by: str | None = None
    compiled: Compiled | None = field(init=False, repr=False, compare=False, default=None)
    error: str | None = field(init=False, repr=False, compare=False, default=None)
    #: the PASS decision under this policy, made at the first PASS (it is the same every time)
    passed: Decision | None = field(init=False, repr=False, compare=False, default=None)
    #: the top-level parts of the facts its rule reads (None: all); see ``sections_read``
    reads: frozenset[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads", sections_read(self.rule))
        try:
            object.__setattr__(self, "compiled", compile_rule(self.rule))
        except CertLogicError as exc:
            # The hub validates every rule, so this is a bug or a hub from the future: the
            # decision is CHECK, with this reason, rather than a crash at the gate.
            object.__setattr__(self, "error", exc.message)

    def in_force(self, now: datetime) -> bool:
        return self.valid_from <= now and (self.valid_to is None or now < self.valid_to)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "region": self.region,
            "place_kind": self.place_kind,
            "version": self.version,
            "rule": self.rule,
            "description": self.description,
            "valid_from": _iso(self.valid_from),
            "valid_to": _iso(self.valid_to),
            "set_by": self.set_by,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Policy:
        try:
            policy = cls(
                id=int(raw["id"]),
                region=str(raw["region"]),
                place_kind=str(raw["place_kind"]),
                version=int(raw["version"]),
                rule=raw["rule"],
                description=str(raw.get("description") or ""),
                valid_from=parse_time(raw["valid_from"], "valid_from"),
                valid_to=(parse_time(raw["valid_to"], "valid_to") if raw.get("valid_to") else None),
                set_by=raw.get("set_by"),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed policy: {exc}") from None
        if not _REGION.fullmatch(policy.region) or policy.place_kind not in PLACE_KINDS:
            raise ValueError("malformed policy: region or place_kind")
        return policy


#: What applies where no authority has set a policy: a green code.
NATIONAL_DEFAULT = Policy(
    id=0,
    region=NATIONAL,
    place_kind="any",
    version=0,
    rule={"===": [{"var": "code.colour"}, "green"]},
    description="绿码 / a green code (national default: no entry policy is set here)",
    valid_from=datetime(2020, 1, 1, tzinfo=UTC),
)


@dataclass(frozen=True)
class PolicySet:
    """The policies of one region and the regions containing it, as one signed document holds.

    Build one per document version and keep it: rules are compiled when it is built.
    """

    region: str
    version: int
    policies: tuple[Policy, ...] = ()
    _index: dict[tuple[str, str], tuple[Policy, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        grouped: dict[tuple[str, str], list[Policy]] = {}
        for p in self.policies:
            grouped.setdefault((p.region, p.place_kind), []).append(p)
        for key, items in grouped.items():
            self._index[key] = tuple(sorted(items, key=lambda p: p.version, reverse=True))

    @property
    def governed_by(self) -> tuple[str, ...]:
        """The regions of the chain with a policy here, finest first (none: national default)."""
        present = {p.region for p in self.policies}
        return tuple(r for r in region_chain(self.region) if r in present)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> PolicySet:
        """From the payload of a verified ``policies`` document (ValueError if malformed).

        The document must say which regions' policies apply (``governed_by``) and whether the
        national default does (``national_default``), and say it consistently with the
        policies it holds: a document that does not is refused, not read as "no policy".
        """
        if payload.get("type") != "policies":
            raise ValueError("not a policies document")
        items = payload.get("policies")
        if not isinstance(items, list):
            raise ValueError("malformed policies document")
        region = str(payload.get("region"))
        if not _REGION.fullmatch(region):
            raise ValueError("malformed policies document: region")
        made = cls(
            region=region,
            version=int(payload.get("version") or 0),
            policies=tuple(Policy.from_dict(p) for p in items),
        )
        governed, default = payload.get("governed_by"), payload.get("national_default")
        if not isinstance(governed, list) or not isinstance(default, bool):
            raise ValueError(
                "the policies document does not say which region's policies apply "
                "(signed by an older hub?)"
            )
        if tuple(governed) != made.governed_by or default != (not governed):
            raise ValueError("the policies document contradicts itself (governed_by)")
        return made

    def select(self, region: str, place_kind: str, now: datetime) -> Policy | None:
        """The policy for a place of ``place_kind`` in ``region`` at ``now``, if any.

        Finest region first; in each, the policy for this kind of place, else the one for any
        place; of those in force at ``now``, the newest version.
        """
        kinds = (place_kind, "any") if place_kind != "any" else ("any",)
        for r in region_chain(region):
            for kind in kinds:
                for p in self._index.get((r, kind), ()):
                    if p.in_force(now):
                        return p
        return None


# --------------------------------------------------------------------------------------------
# Facts


@dataclass(frozen=True, slots=True)
class StayFact:
    """A stay in a medium- or high-risk area, as far as the checkpoint knows of it.

    From a reason code in the code (``stay.high-risk``) the time is unknown; from the online
    answer, whose reasons carry their event time, ``days_ago`` is known.
    """

    level: str
    days_ago: int | None = None
    area: str | None = None
    source: str = "code"


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a policy may look at, for one scan. ``None`` means "not known here"."""

    now: datetime
    region: str
    place_kind: str = "any"
    online: bool = False
    #: where the colour came from: online | summary | claims | lookup
    source: str = "claims"
    colour: str | None = None
    signed_colour: str | None = None
    kind: str | None = None
    issuer: str | None = None
    issuer_kind: str | None = None
    issued_at: datetime | None = None
    colour_since: datetime | None = None
    reasons: tuple[str, ...] = ()
    online_colour: str | None = None
    online_reasons: tuple[str, ...] = ()
    #: False when nothing says whether there is a negative test (then the two below are None)
    tests_known: bool = True
    hours_since_negative: int | None = None
    stays: tuple[StayFact, ...] = ()
    #: °C measured at the gate; None when the gate has no thermometer or it was not taken
    temperature: float | None = None
    area_level: str | None = None
    #: an EU DCC or a SMART Health Card (None: a YMT1 code, whose section is made from the
    #: fields above)
    certificate: CertificateFacts | None = None

    @property
    def foreign(self) -> bool:
        """An international certificate: it has no colour (not an unknown one)."""
        return self.certificate is not None and self.certificate.kind != "ymt1"

    def unknown(self) -> tuple[str, ...]:
        """The facts (``UNKNOWN_FACTS`` keys) this checkpoint does not know."""
        missing = []
        if self.colour is None and not self.foreign:
            missing.append("colour")
        if not self.tests_known:
            missing.append("tests")
        if any(s.days_ago is None for s in self.stays):
            missing.append("stays")
        if self.temperature is None:
            missing.append("temperature")
        return tuple(missing)

    def favourable(self, names: Iterable[str]) -> Facts:
        """These facts about the holder (``explain.HOLDER_FACTS``) at their most favourable
        values, the others as they are: what a DENY's reasons are tried against."""
        chosen = frozenset(names)
        changes: dict[str, Any] = {}
        if "colour" in chosen and not self.foreign:
            changes.update(
                colour="green",
                signed_colour="green",
                online_colour=None if self.online_colour is None else "green",
                reasons=(),
                online_reasons=(),
                stays=(),
            )
        if "temperature" in chosen:
            changes["temperature"] = FAVOURABLE_TEMPERATURE / 10
        if "tests" in chosen:
            changes.update(tests_known=True, hours_since_negative=0)
        return replace(self, **changes)

    def data(
        self, assume: Iterable[str] = (), sections: frozenset[str] | None = None
    ) -> dict[str, Any]:
        """The CertLogic data context; facts named in ``assume`` get their favourable value.

        ``sections``: only these top-level parts (``Policy.reads``, what its rule can reach);
        None for all of them. A rule reads the same values either way.
        """
        assumed = frozenset(assume) if assume else _NOTHING
        data: dict[str, Any] = {}
        if sections is None or "code" in sections:
            colour = self.colour
            if colour is None and "colour" in assumed:
                colour = "green"
            data["code"] = {
                "colour": colour,
                "signed_colour": self.signed_colour,
                "kind": self.kind,
                "issuer": self.issuer,
                "issuer_kind": self.issuer_kind,
                "issued_at": _iso(self.issued_at),
                "colour_since": _iso(self.colour_since),
                "reasons": list(self.reasons),
            }
        if sections is None or "status" in sections:
            data["status"] = {
                "online": self.online,
                "source": self.source,
                "colour": self.online_colour,
                "reasons": list(self.online_reasons),
            }
        if sections is None or "tests" in sections:
            hours = self.hours_since_negative
            has_negative: bool | None = hours is not None
            if not self.tests_known:
                if "tests" in assumed:
                    hours, has_negative = 0, True
                else:
                    has_negative = None
            sampled = None
            if hours is not None:
                sampled = _iso(datetime.fromtimestamp(self.now.timestamp() - hours * 3600, UTC))
            data["tests"] = {
                "has_negative": has_negative,
                "hours_since_negative": hours,
                "negative_sampled_at": sampled,
            }
        if sections is None or "stays" in sections:
            stays = []
            for s in self.stays:
                days = s.days_ago
                if days is None and "stays" in assumed:
                    days = FAVOURABLE_DAYS_AGO
                stays.append(
                    {"level": s.level, "days_ago": days, "area": s.area, "source": s.source}
                )
            data["stays"] = stays
        if sections is None or "scan" in sections:
            temperature = (
                round(self.temperature * 10)
                if self.temperature is not None
                else (FAVOURABLE_TEMPERATURE if "temperature" in assumed else None)
            )
            data["scan"] = {"temperature_decidegrees": temperature, "place_kind": self.place_kind}
        if sections is None or "certificate" in sections:
            if self.certificate is not None:
                data["certificate"] = self.certificate.data(self.now)
            else:
                colour = self.colour
                if colour is None and "colour" in assumed:
                    colour = "green"
                data["certificate"] = CertificateFacts(
                    kind="ymt1", issuer=self.issuer, issued_at=self.issued_at, colour=colour
                ).data(self.now)
        cert = self.certificate
        dcc = cert is not None and cert.kind == "dcc"
        if sections is None or "external" in sections:
            data["external"] = {
                "now": _iso(self.now),
                "region": self.region,
                "place_kind": self.place_kind,
                "online": self.online,
                "area_level": self.area_level,
                "validationClock": _iso(self.now),
                "valueSets": eu_value_sets(),
                "countryCode": COUNTRY_CODE,
                "exp": _iso(cert.expires_at) if dcc and cert and cert.expires_at else None,
                "iat": _iso(cert.issued_at) if dcc and cert and cert.issued_at else None,
            }
        if sections is None or "payload" in sections:
            data["payload"] = dict(cert.payload) if dcc and cert and cert.payload else None
        return data


def stays_from_reasons(reasons: Sequence[Any], now: datetime) -> tuple[StayFact, ...]:
    """Risk-area stays implied by reasons: codes (time unknown) or online reason objects.

    A reason object ``{"code", "since", "detail"}`` carries the event time (the end of the
    stay), so its ``days_ago`` is whole days since then.
    """
    out = []
    for r in reasons:
        code = r.get("code") if isinstance(r, Mapping) else r
        if not isinstance(code, str) or not code.startswith("stay."):
            continue
        level = "high" if "high" in code else "medium" if "medium" in code else None
        if level is None:
            continue
        days = None
        area = None
        source = "code"
        if isinstance(r, Mapping):
            source = "online"
            since = _maybe_time(r.get("since"))
            if since is not None:
                days = max(0, int((now - since).total_seconds() // 86400))
            detail = r.get("detail")
            if isinstance(detail, Mapping) and isinstance(detail.get("area"), str):
                area = detail["area"]
        out.append(StayFact(level=level, days_ago=days, area=area, source=source))
    return tuple(out)


def _reason_codes(reasons: Any) -> tuple[str, ...]:
    if not isinstance(reasons, list):
        return ()
    codes = []
    for r in reasons:
        code = r.get("code") if isinstance(r, Mapping) else r
        if isinstance(code, str):
            codes.append(code)
    return tuple(codes)


def facts_from_answer(
    answer: Mapping[str, Any],
    *,
    now: datetime,
    region: str,
    place_kind: str = "any",
    temperature: float | None = None,
    area_level: str | None = None,
    signed: Mapping[str, Any] | None = None,
) -> Facts:
    """Facts from a verify answer (the hub's Mode 2 or an issuer's 验码, same shape).

    ``status`` says where the colour came from: ``online`` (the issuer's current status),
    ``summary`` (Mode 1 summary at the hub), ``claims`` (only the signed claims: the issuer
    could not be asked). ``signed`` may hold what the checkpoint verified itself (colour,
    issued_at) when the answer leaves it out.
    """
    source = str(answer.get("status") or "online")
    colour = answer.get("colour") if isinstance(answer.get("colour"), str) else None
    kind = answer.get("kind") if isinstance(answer.get("kind"), str) else None
    signed = signed or {}
    signed_colour = answer.get("claimed_colour") or signed.get("colour") or colour
    reasons = answer.get("reasons") or []
    live = source in ("online", "summary", "lookup")
    if source == "claims" and kind == "printed":
        colour = None  # a printed card's signed colour is weeks old: not a current status
    tests_known = "hours_since_negative_test" in answer
    hours = answer.get("hours_since_negative_test") if tests_known else None
    if hours is not None and not isinstance(hours, int):
        hours, tests_known = None, False
    issued_at = _maybe_time(answer.get("issued_at")) or signed.get("issued_at")
    if hours is not None and not live and issued_at is not None:
        hours += max(0, int((now - issued_at).total_seconds() // 3600))
    return Facts(
        now=now,
        region=region,
        place_kind=place_kind,
        online=True,
        source=source,
        colour=colour,
        signed_colour=signed_colour if isinstance(signed_colour, str) else None,
        kind=kind,
        issuer=answer.get("issuer") if isinstance(answer.get("issuer"), str) else None,
        issuer_kind=answer.get("issuer_kind") or signed.get("issuer_kind"),
        issued_at=issued_at,
        colour_since=_maybe_time(answer.get("colour_since")),
        reasons=_reason_codes(reasons),
        online_colour=colour if live else None,
        online_reasons=_reason_codes(reasons) if live else (),
        tests_known=tests_known,
        hours_since_negative=hours,
        stays=stays_from_reasons(reasons if isinstance(reasons, list) else [], now),
        temperature=temperature,
        area_level=area_level,
    )


def facts_from_claims(
    claims: HealthClaims,
    *,
    now: datetime,
    region: str,
    place_kind: str = "any",
    temperature: float | None = None,
    area_level: str | None = None,
    issuer_kind: str | None = None,
) -> Facts:
    """Facts from a code verified offline: the signed claims are all there is.

    A dynamic code is at most a minute or two old, so its colour and test hours stand for
    now (the hours grow by the whole hours since it was issued). A printed card's colour may
    be weeks old: it is not a current colour, so ``colour`` is unknown.
    """
    printed = claims.kind is CodeKind.PRINTED
    hours = claims.hours_since_negative_test
    if hours is not None:
        hours += max(0, int((now - claims.issued_at).total_seconds() // 3600))
    reasons = tuple(claims.reasons)
    return Facts(
        now=now,
        region=region,
        place_kind=place_kind,
        online=False,
        source="claims",
        colour=None if printed else claims.colour.value,
        signed_colour=claims.colour.value,
        kind=claims.kind.value,
        issuer=claims.issuer,
        issuer_kind=issuer_kind,
        issued_at=claims.issued_at,
        colour_since=claims.colour_since,
        reasons=reasons,
        tests_known=not printed,
        hours_since_negative=None if printed else hours,
        stays=stays_from_reasons(reasons, now),
        temperature=temperature,
        area_level=area_level,
    )


def _maybe_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    try:
        return parse_time(value)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Deciding


@dataclass(frozen=True, slots=True)
class Decision:
    """PASS, DENY or CHECK, why (in Chinese and English), and under which policy."""

    outcome: Outcome
    reasons_zh: tuple[str, ...]
    reasons_en: tuple[str, ...]
    policy: Policy | None = None
    #: unknown facts that could have changed a failing rule (CHECK)
    missing: tuple[str, ...] = ()

    @classmethod
    def of(cls, outcome: Outcome, zh: str, en: str) -> Decision:
        """A decision made before any policy (an invalid code, an offline printed card...)."""
        return cls(outcome, (zh,), (en,))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Decision:
        """The hub's decision in a verify answer (``to_dict``'s shape; the rule itself is not
        in it, so ``policy`` is None). ValueError if it is not one."""
        try:
            outcome = Outcome(raw["outcome"])
            zh, en = raw["reasons_zh"], raw["reasons_en"]
            missing = raw.get("missing") or []
        except (KeyError, TypeError, ValueError):
            raise ValueError("not a decision") from None
        texts = (zh, en, missing)
        if not all(isinstance(t, list) and all(isinstance(x, str) for x in t) for t in texts):
            raise ValueError("not a decision")
        return cls(outcome, tuple(zh), tuple(en), None, tuple(missing))

    def to_dict(self) -> dict[str, Any]:
        p = self.policy
        return {
            "outcome": self.outcome.value,
            "reasons_zh": list(self.reasons_zh),
            "reasons_en": list(self.reasons_en),
            "policy": None
            if p is None
            else {
                "id": p.id,
                "region": p.region,
                "place_kind": p.place_kind,
                "version": p.version,
                "description": p.description,
            },
            "missing": list(self.missing),
        }


#: What a pop-up (弹窗) reason says at the gate: the person's status cannot be established.
POPUP_TEXTS = {
    "popup.identity-mismatch": (
        "公安核验姓名与证件不一致",
        "the police found the name does not match the document",
    ),
    "popup.no-data": (
        "14 天内到过无数据地区，健康状态无法确定",
        "in a region with no data within 14 days: the status cannot be established",
    ),
}
_POPUP_OTHER = ("健康状态无法确定", "the status cannot be established")


def _popup(facts: Facts) -> Decision | None:
    """CHECK, sending the person to a member of staff, when the colour carries a pop-up."""
    found = [r for r in (*facts.reasons, *facts.online_reasons) if r.startswith("popup.")]
    if not found:
        return None
    said = [POPUP_TEXTS.get(code, _POPUP_OTHER) for code in dict.fromkeys(found)]
    return Decision(
        Outcome.CHECK,
        tuple(f"弹窗：{zh}，请引导至人工核验" for zh, _ in said),
        tuple(f"pop-up: {en}; send the person to a member of staff" for _, en in said),
    )


def decide(policies: PolicySet | None, facts: Facts) -> Decision:
    """Apply the policy for ``facts.region`` and ``facts.place_kind`` at ``facts.now``.

    A colour that carries a pop-up reason (``popup.*``: a police identity mismatch, a stay in a
    region with no data; docs/travel.md) is CHECK whatever the policy: the person's status
    cannot be established, so a member of staff sees them (never a silent PASS).

    ``policies`` None: the policies of this region are not known here (never fetched). That
    is CHECK, saying so; the national default applies only under a ``PolicySet`` (the hub's
    statement) in which no policy covers this place.
    """
    popup = _popup(facts)
    if popup is not None:
        return popup
    if policies is None:
        zh, en = no_policy(facts.region)
        return Decision(Outcome.CHECK, (zh,), (en,))
    policy = policies.select(facts.region, facts.place_kind, facts.now)
    if policy is None:
        policy = NATIONAL_DEFAULT
    compiled, reads = policy.compiled, policy.reads
    if compiled is None:
        where_zh, where_en = _policy_label(policy)
        return Decision(
            Outcome.CHECK,
            (f"{where_zh}无法执行：{policy.error}",),
            (f"{where_en} cannot be applied: {policy.error}",),
            policy,
        )

    def passes(assume: Iterable[str]) -> bool:
        try:
            return compiled(facts.data(assume, reads)) is True
        except CertLogicEvaluationError:
            return False

    failure: CertLogicEvaluationError | None = None
    try:
        value = compiled(facts.data((), reads))
    except CertLogicEvaluationError as exc:
        failure, value = exc, None
    if value is True:
        # Most scans pass, and a PASS under a policy reads the same every time: made once.
        passed = policy.passed
        if passed is None:
            where_zh, where_en = _policy_label(policy)
            passed = Decision(
                Outcome.PASS,
                (f"符合{where_zh}：{policy.description}",),
                (f"meets {where_en}: {policy.description}",),
                policy,
            )
            object.__setattr__(policy, "passed", passed)
        return passed
    where_zh, where_en = _policy_label(policy)
    unknown = facts.unknown()
    if unknown and passes(unknown):
        needed = tuple(u for u in unknown if passes((u,))) or unknown
        zh = "、".join(UNKNOWN_FACTS[u][0] for u in needed)
        en = ", ".join(UNKNOWN_FACTS[u][1] for u in needed)
        return Decision(
            Outcome.CHECK,
            (f"需人工核验：缺少{zh}", f"{where_zh}：{policy.description}"),
            (f"check by hand: {en} not known here", f"{where_en}: {policy.description}"),
            policy,
            needed,
        )
    if failure is not None:
        return Decision(
            Outcome.CHECK,
            (f"{where_zh}无法判定（{failure.path or '/'}）：{policy.description}",),
            (f"{where_en} could not be evaluated at {failure.path or '/'}: {policy.description}",),
            policy,
        )

    def holds(candidate: Facts) -> bool:
        try:
            return compiled(candidate.data(candidate.unknown(), reads)) is True
        except CertLogicEvaluationError:
            return False

    zh_reasons, en_reasons = why_denied(holds, facts)
    return Decision(
        Outcome.DENY,
        (*zh_reasons, f"不符合{where_zh}：{policy.description}"),
        (*en_reasons, f"does not meet {where_en}: {policy.description}"),
        policy,
    )


def _policy_label(policy: Policy) -> tuple[str, str]:
    if policy is NATIONAL_DEFAULT:
        return "全国默认通行规则", "the national default entry policy"
    zh, en = place_label(policy.place_kind)
    return (
        f"{policy.region}通行规则（{zh}，第{policy.version}版）",
        f"the entry policy of {policy.region} ({en}, version {policy.version})",
    )


# --------------------------------------------------------------------------------------------
# Checking what a rule reads


def fact_path_issues(rule: Any) -> list[tuple[str, str]]:
    """(JSON pointer, message) for every ``var`` that reads no fact of ``FACT_SCHEMA``.

    CertLogic gives ``null`` for a path that does not exist, so a typo (``code.color``) would
    quietly make a policy refuse everyone; the hub refuses such rules instead. Inside a
    ``reduce`` the lambda reads ``current`` (an element of the array reduced over) and
    ``accumulator``.
    """
    issues: list[tuple[str, str]] = []
    _walk(rule, "", {"": FACT_SCHEMA}, issues)
    return issues


def _pointer(path: str, token: str | int) -> str:
    return f"{path}/{str(token).replace('~', '~0').replace('/', '~1')}"


_ANY = object()  # a schema node that accepts every path below it


def _walk(expr: Any, path: str, scope: dict[str, Any], issues: list[tuple[str, str]]) -> None:
    if isinstance(expr, list):
        for i, item in enumerate(expr):
            _walk(item, _pointer(path, i), scope, issues)
        return
    if not isinstance(expr, dict) or len(expr) != 1:
        return
    ((op, operands),) = expr.items()
    at = _pointer(path, op)
    if op == "var":
        if isinstance(operands, str) and not _resolves(operands, scope):
            issues.append((at, f"no fact {operands!r} (see docs/policies.md)"))
        return
    if not isinstance(operands, list):
        return
    if op == "reduce" and len(operands) == 3:
        _walk(operands[0], _pointer(at, 0), scope, issues)
        _walk(operands[2], _pointer(at, 2), scope, issues)
        element: Any = _ANY
        source = operands[0]
        if isinstance(source, dict) and isinstance(source.get("var"), str):
            node = _node(source["var"], scope)
            if isinstance(node, list):
                element = node[0]
        inner = {"current": element, "accumulator": _ANY}
        _walk(operands[1], _pointer(at, 1), inner, issues)
        return
    for i, item in enumerate(operands):
        _walk(item, _pointer(at, i), scope, issues)


def _node(path: str, scope: dict[str, Any]) -> Any:
    """The schema node at ``path`` (``_ANY`` below an open node), or KeyError."""
    if "" in scope and path == "":
        return scope[""]
    root = scope.get("")
    parts = path.split(".")
    if root is None:  # a reduce lambda: the first fragment names current or accumulator
        node = scope[parts[0]]
        parts = parts[1:]
    else:
        node = root
    for part in parts:
        if node is _ANY:
            return _ANY
        if isinstance(node, dict):
            node = node[part]
        elif isinstance(node, list) and part.isascii() and part.isdigit():
            node = node[0]
        else:
            raise KeyError(part)
    return node


def _resolves(path: str, scope: dict[str, Any]) -> bool:
    try:
        _node(path, scope)
    except KeyError:
        return False
    return True
