"""Defect types, severity levels and the versioned road rule set — all data (docs/road.md).

``road/data/defects-<version>.json`` is the catalogue: 16 defect types, each with the severity
levels it can have (a subset of light < moderate < severe, 轻/中/重) and the sources that name it.
``road/data/ruleset-<id>-<version>.json`` is a rule set: how findings are confirmed, which colour
each (type, level) gives, and the work-order deadline per level. A rule set names the catalogue
version it was written for and must give a colour to every level of every type in it, so a new
type cannot slip in uncoloured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum
from functools import cache
from importlib import resources
from typing import Any

from yimatong.domain.errors import InvalidInput

__all__ = [
    "Colour",
    "Confirmation",
    "DefectCatalogue",
    "DefectType",
    "InvalidRoadRuleSet",
    "RoadRuleSet",
    "Severity",
    "load_builtin_catalogue",
    "load_builtin_road_ruleset",
    "load_default_road_ruleset",
]

DEFAULT_ROAD_RULESET = ("road-default", "2026.1")
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class InvalidRoadRuleSet(InvalidInput):
    """A defect catalogue or road rule set that fails validation; ``field`` names the place."""

    slug = "invalid-road-ruleset"


class Severity(IntEnum):
    """Ordered: a worse level compares greater."""

    LIGHT = 1
    MODERATE = 2
    SEVERE = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise InvalidInput(
                "severity must be light, moderate or severe", field="severity"
            ) from None


class Colour(IntEnum):
    """A cell's colour; a worse colour compares greater."""

    GREEN = 0
    YELLOW = 1
    RED = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class DefectType:
    code: str
    zh: str
    en: str
    levels: tuple[Severity, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class DefectCatalogue:
    version: str
    types: tuple[DefectType, ...]

    def get(self, code: str) -> DefectType:
        for defect in self.types:
            if defect.code == code:
                return defect
        raise InvalidInput(f"unknown defect type {code!r}", field="defect")

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(d.code for d in self.types)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DefectCatalogue:
        try:
            if data["format"] != "ymt-road-defects/1":
                raise InvalidRoadRuleSet("format must be ymt-road-defects/1", field="format")
            types = []
            for i, raw in enumerate(data["types"]):
                levels = tuple(Severity.parse(str(lv)) for lv in raw["levels"])
                if not levels or list(levels) != sorted(set(levels)):
                    raise InvalidRoadRuleSet(
                        "levels must be distinct and in order", field=f"types[{i}].levels"
                    )
                types.append(
                    DefectType(
                        str(raw["code"]),
                        str(raw["zh"]),
                        str(raw["en"]),
                        levels,
                        tuple(str(s) for s in raw["sources"]),
                    )
                )
            catalogue = cls(str(data["version"]), tuple(types))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRoadRuleSet(
                f"not a defect catalogue: {exc!r}", field="catalogue"
            ) from None
        if len(catalogue.codes) != len(types):
            raise InvalidRoadRuleSet("defect codes must be unique", field="types")
        return catalogue


@dataclass(frozen=True, slots=True)
class Confirmation:
    """When observations confirm a finding (or a clear pass): N distinct devices within a window,
    or one trusted vehicle; observations older than the lookback, or below the confidence
    floor, do not count."""

    min_devices: int
    window: timedelta
    min_confidence: float
    trusted_min_confidence: float
    lookback: timedelta


@dataclass(frozen=True)
class RoadRuleSet:
    id: str
    version: str
    catalogue: DefectCatalogue
    description_zh: str
    description_en: str
    confirmation: Confirmation
    colours: Mapping[tuple[str, Severity], Colour]
    deadlines: Mapping[Severity, timedelta]
    max_escalation: int

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def colour_of(self, defect: str, severity: Severity) -> Colour:
        try:
            return self.colours[(defect, severity)]
        except KeyError:
            raise InvalidInput(
                f"{defect} has no level {severity.label}", field="severity"
            ) from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], catalogue: DefectCatalogue) -> RoadRuleSet:
        try:
            if data["format"] != "ymt-road-ruleset/1":
                raise InvalidRoadRuleSet("format must be ymt-road-ruleset/1", field="format")
            if data["defects"] != catalogue.version:
                raise InvalidRoadRuleSet("written for another defect catalogue", field="defects")
            c = data["confirmation"]
            confirmation = Confirmation(
                min_devices=int(c["min_devices"]),
                window=timedelta(hours=float(c["window_hours"])),
                min_confidence=float(c["min_confidence"]),
                trusted_min_confidence=float(c["trusted_min_confidence"]),
                lookback=timedelta(days=float(c["lookback_days"])),
            )
            if confirmation.min_devices < 2:
                raise InvalidRoadRuleSet(
                    "min_devices must be at least 2 (independent observations)",
                    field="confirmation.min_devices",
                )
            for name in ("min_confidence", "trusted_min_confidence"):
                if not 0.0 <= getattr(confirmation, name) <= 1.0:
                    raise InvalidRoadRuleSet("must be within 0..1", field=f"confirmation.{name}")
            if not timedelta(0) < confirmation.window <= confirmation.lookback:
                raise InvalidRoadRuleSet(
                    "window must be positive and within the lookback",
                    field="confirmation.window_hours",
                )
            colours: dict[tuple[str, Severity], Colour] = {}
            raw_colours = data["colours"]
            for defect in catalogue.types:
                per = raw_colours.get(defect.code)
                if not isinstance(per, Mapping) or {Severity.parse(k) for k in per} != set(
                    defect.levels
                ):
                    raise InvalidRoadRuleSet(
                        "must colour exactly the type's levels", field=f"colours.{defect.code}"
                    )
                for level, colour in per.items():
                    if colour not in ("yellow", "red"):
                        raise InvalidRoadRuleSet(
                            "a finding is yellow or red", field=f"colours.{defect.code}.{level}"
                        )
                    colours[(defect.code, Severity.parse(level))] = Colour[colour.upper()]
            extra = set(raw_colours) - catalogue.codes
            if extra:
                raise InvalidRoadRuleSet(f"unknown defect types {sorted(extra)}", field="colours")
            w = data["work_orders"]
            deadlines = {
                Severity.parse(k): timedelta(hours=float(v)) for k, v in w["deadline_hours"].items()
            }
            if set(deadlines) != set(Severity) or any(
                d <= timedelta(0) for d in deadlines.values()
            ):
                raise InvalidRoadRuleSet(
                    "a positive deadline for every level", field="work_orders.deadline_hours"
                )
            return cls(
                id=str(data["id"]),
                version=str(data["version"]),
                catalogue=catalogue,
                description_zh=str(data["description"]["zh"]),
                description_en=str(data["description"]["en"]),
                confirmation=confirmation,
                colours=colours,
                deadlines=deadlines,
                max_escalation=int(w["max_escalation"]),
            )
        except InvalidRoadRuleSet:
            raise
        except InvalidInput as exc:
            raise InvalidRoadRuleSet(exc.message, field=exc.field) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidRoadRuleSet(f"not a road rule set: {exc!r}", field="ruleset") from None


def _read(name: str) -> Any:
    resource = resources.files("yimatong.road").joinpath("data").joinpath(name)
    try:
        return json.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LookupError(f"no built-in {name}") from None


@cache
def load_builtin_catalogue(version: str) -> DefectCatalogue:
    if not _IDENT.fullmatch(version):
        raise ValueError("not a version")
    return DefectCatalogue.from_mapping(_read(f"defects-{version}.json"))


@cache
def load_builtin_road_ruleset(ruleset_id: str, version: str) -> RoadRuleSet:
    """A rule set shipped as ``yimatong/road/data/ruleset-{id}-{version}.json`` (cached)."""
    if not _IDENT.fullmatch(ruleset_id) or not _IDENT.fullmatch(version):
        raise ValueError("not a rule-set id or version")
    data = _read(f"ruleset-{ruleset_id}-{version}.json")
    ruleset = RoadRuleSet.from_mapping(data, load_builtin_catalogue(str(data.get("defects", ""))))
    if (ruleset.id, ruleset.version) != (ruleset_id, version):
        raise InvalidRoadRuleSet(f"file holds {ruleset.ref}, not {ruleset_id}@{version}")
    return ruleset


def load_default_road_ruleset() -> RoadRuleSet:
    return load_builtin_road_ruleset(*DEFAULT_ROAD_RULESET)
