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


# ------------------------------------------------------------------ a road node in-process
ROAD_ROLES = {
    "admin": ("admin", None),
    "north": ("team", "team-north"),
    "south": ("team", "team-south"),
    "police": ("department", "traffic_police"),
    "municipal": ("department", "municipal"),
    "transport": ("department", "transport"),
}


def road_settings(db_url: str, state_dir: Any) -> Any:
    from tests.integration.conftest import DATA_KEY, SECRET
    from yimatong.config import Settings

    return Settings.from_environ(
        {
            "YMT_ROLE": "road",
            "YMT_REGION": "330100",
            "YMT_DISTRICT": DISTRICT,
            "YMT_STATE_DIR": str(state_dir),
            "YMT_DB_URL": db_url,
            "YMT_FEDERATION_SECRET": SECRET,
            "YMT_DATA_KEYS": DATA_KEY,
        }
    )


def road_tokens(node: Any, now: datetime) -> dict[str, str]:
    """One credential per entry of ROAD_ROLES, made at the road node."""
    import random

    from yimatong.credentials import add_credential

    tokens = {}
    with node.db.uow() as uow:
        for name, (role, scope) in ROAD_ROLES.items():
            tokens[name] = add_credential(
                uow.conn,
                name=f"road-{name}",
                role=role,
                now=now,
                rng=random.Random(name),
                scope=scope,
            )
        uow.commit()
    return tokens


def register(http: Any, admin_token: str, car: Vehicle, trusted: bool = True) -> None:
    answer = http.post(
        "/v1/road/devices",
        headers={"Authorization": f"Bearer {admin_token}"},
        json={
            "device_id": car.device_id,
            "owner": "杭州市政养护集团",
            "public_key": base64.b64encode(car.key.public.spki_der()).decode(),
            "trusted": trusted,
        },
    )
    assert answer.status_code == 200, answer.text
