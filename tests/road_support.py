"""Test helpers for the road node: places on the synthetic district's roads, a sensing vehicle
that numbers, signs and batches its observations, and a citizen's phone."""

from __future__ import annotations

import base64
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from yimatong.adapters.crypto import Algorithm, SigningKey, signing_key_from_seed
from yimatong.road.network import RoadNetwork, load_builtin_network
from yimatong.road.observations import batch_signing_bytes

__all__ = ["DISTRICT", "Phone", "Vehicle", "network", "spot"]

DISTRICT = "xiacheng-synthetic"


def network() -> RoadNetwork:
    return load_builtin_network(DISTRICT)


def spot(
    road_id: str, segment: int = 0, along: float = 0.5, across: float = 0.0
) -> tuple[float, float]:
    """The lon/lat of a point ``along`` (0..1) segment ``segment`` of a road's centre line,
    ``across`` metres to its left, at the centre of its cell."""
    net = network()
    road = net.road(road_id)
    (x0, y0), (x1, y1) = (net.zone.project(*p) for p in road.points[segment : segment + 2])
    length = math.hypot(x1 - x0, y1 - y0)
    x = x0 + (x1 - x0) * along - (y1 - y0) / length * across
    y = y0 + (y1 - y0) * along + (x1 - x0) / length * across
    return net.zone.unproject(math.floor(x) + 0.5, math.floor(y) + 0.5)


def cell_of(lon: float, lat: float) -> str:
    return str(network().zone.cell_of(lon, lat))


@dataclass
class Vehicle:
    device_id: str
    key: SigningKey = field(
        default_factory=lambda: signing_key_from_seed(
            Algorithm.EDDSA, b"vehicle-seed-0123456789abcdef!!!"
        )
    )
    seqs: Iterator[int] = field(default_factory=itertools.count)

    def observe(
        self,
        where: tuple[float, float],
        at: datetime,
        defect: str | None = None,
        severity: str | None = None,
        confidence: float = 0.95,
    ) -> dict[str, Any]:
        lon, lat = where
        return {
            "device_id": self.device_id,
            "seq": next(self.seqs),
            "observed_at": at.isoformat(),
            "lon": lon,
            "lat": lat,
            "datum": "CGCS2000",
            "heading_deg": 0.0,
            "speed_mps": 8.0,
            "defect": defect,
            "severity": severity,
            "confidence": confidence,
            "image_sha256": "ab" * 32 if defect else None,
        }

    def batch(self, rows: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
        """The body and the headers of a signed batch."""
        body = orjson.dumps({"observations": rows})
        signature = self.key.sign(batch_signing_bytes(body))
        return body, {
            "Ymt-Device": self.device_id,
            "Ymt-Signature": base64.urlsafe_b64encode(signature).rstrip(b"=").decode(),
        }


@dataclass
class Phone:
    device_id: str
    seqs: Iterator[int] = field(default_factory=itertools.count)

    def bump(
        self, where: tuple[float, float], at: datetime, magnitude_g: float = 1.8
    ) -> dict[str, Any]:
        lon, lat = where
        return {
            "kind": "bump",
            "device_id": self.device_id,
            "seq": next(self.seqs),
            "observed_at": at.isoformat(),
            "lon": lon,
            "lat": lat,
            "magnitude_g": magnitude_g,
        }

    def batch(self, rows: list[dict[str, Any]]) -> bytes:
        return orjson.dumps({"observations": rows})
