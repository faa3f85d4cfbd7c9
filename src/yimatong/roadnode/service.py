"""The road node's use cases: ingest, assessment, work orders, points, and the reads.

**Ingest** (``RoadService.ingest``) takes one request's batch — many rows — from a sensing
vehicle (signed: the device's key signs ``b"ymt-road-batch/1\\n"`` + the body as sent, one
signature a batch) or from a citizen's phone (unsigned; bumps or classified observations,
never trusted). Each row is checked on its own: a row that does not parse, names an unknown
defect, lies off the district's roads, or reuses a sequence number with other bytes is
reported with its index and the rest are stored through the driver's bulk path (``COPY`` on
PostgreSQL, ``executemany`` on SQLite; ``split_batch``'s rule: the same bytes again are a
duplicate, held keys are found before the insert, under the lock below).

Then, in the same transaction, the **touched cells are assessed** with ``road/assess.py`` and
the node's rule set: a cell the batch reports a defect in, and every touched cell that is not
green now. A cell that is not green is stored in ``road_cells`` (only those: green cells are
not stored); each newly confirmed defect type is a **finding** with the digest of its evidence.
New non-green cells without a work order are **clustered** (8-adjacent cells) into one work
order per cluster for the team responsible for the road of its worst cell
(``RoadNetwork.road_at``). A repaired order whose cells a confirmed clear pass turns green is
verified; one whose cell a trusted vehicle still sees the defect in after the repair is
reopened. The first citizen device whose report (a bump, or an observation) lies within
``POINTS_RADIUS_M`` of a new finding, before its confirmation, earns ``POINTS_PER_FINDING``
points — once per finding however many reported it, and never twice for one device and cell.

Every confirmed finding, cleared cell and work-order event is appended to the node's
**transparency log** (``adapters/translog.py``, the health side's code; the road node has a
database, and so a log, of its own), last in the transaction, as the log code asks.

Assessments are serialised by the ``road-assess`` counter's row lock (taken before the log's,
always in that order, and before the duplicate check), so two batches about one cell cannot
both open a finding for it, nor two batches store one (device, seq). The assessment's writes
are queued and made once per kind for all the batch's cells (executemany).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from yimatong.adapters import translog
from yimatong.adapters.crypto import load_verifying_key
from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.tables import (
    road_cells,
    road_devices,
    road_findings,
    road_observations,
    road_points,
    road_work_order_events,
    road_work_orders,
)
from yimatong.adapters.db.upsert import insert_ignore
from yimatong.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from yimatong.road import workorders as wo
from yimatong.road.assess import CellColour, assess_cell
from yimatong.road.grid import CellId
from yimatong.road.network import RoadNetwork
from yimatong.road.observations import (
    AcceptedObservation,
    Bump,
    Observation,
    OwnerKind,
    RegisteredDevice,
    accept,
    batch_signing_bytes,
    check_device_id,
    partition_batch,
)
from yimatong.road.rules import Colour, RoadRuleSet, Severity

__all__ = [
    "MAX_BATCH_ROWS",
    "POINTS_PER_FINDING",
    "POINTS_RADIUS_M",
    "IngestReport",
    "RoadService",
    "RowError",
]

MAX_BATCH_ROWS = 5000
#: Points a citizen's device earns for the first report of a finding.
POINTS_PER_FINDING = 10
#: A phone's GNSS fix is metres off: a report this close (in metres, each axis) to a finding's
#: cell counts as a report of it.
POINTS_RADIUS_M = 5
_CHUNK = 400  # keys per IN (…) list: far below SQLite's and PostgreSQL's parameter limits
_AWARD_CHUNK = 50  # findings per query of their points' candidates (15 parameters each)


@dataclass(frozen=True, slots=True)
class RowError:
    index: int
    status: int  # 422 invalid, 401 not the signer's / unsigned vehicle, 409 seq reused
    field: str | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status,
            "field": self.field,
            "detail": self.detail,
        }


@dataclass
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    findings: list[int] = field(default_factory=list)  # ids of findings confirmed now
    cleared: list[str] = field(default_factory=list)  # cells turned green now
    work_orders: list[str] = field(default_factory=list)  # orders dispatched now
    points: int = 0  # points awarded now

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": len(self.errors),
            "errors": [e.as_dict() for e in self.errors],
            "findings": self.findings,
            "cleared": self.cleared,
            "work_orders": self.work_orders,
            "points": self.points,
        }


@dataclass(slots=True)
class _Row:
    index: int
    item: Observation | Bump
    e: int
    n: int
    digest: bytes
    owner_kind: OwnerKind
    signed: bool
    trusted: bool


class _Log:
    """Entries to append at the end of the transaction, and the row each one's index goes to:
    ``("finding", id)`` or ``("event", (order id, n))``."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, Any], tuple[str, Any] | None]] = []

    def add(self, kind: str, body: dict[str, Any], target: tuple[str, Any] | None = None) -> None:
        self.entries.append((kind, body, target))

    def flush(self, conn: Connection, now: datetime) -> list[int]:
        """One append for all (``translog.append_many``), one update per kind of target."""
        indexes = translog.append_many(conn, [(k, b) for k, b, _ in self.entries], now)
        findings, events = [], []
        for (_k, body, target), index in zip(self.entries, indexes, strict=True):
            if target is None:
                continue
            if target[0] == "finding":
                # _PENDING: a finding inserted after its entry was added (its id in the body)
                key = body["finding"] if target is _PENDING else target[1]
                findings.append({"key": key, "index": index})
            else:
                events.append({"order": target[1][0], "num": target[1][1], "index": index})
        if findings:
            conn.execute(
                update(road_findings)
                .where(road_findings.c.id == bindparam("key"))
                .values(log_index=bindparam("index")),
                findings,
            )
        if events:
            conn.execute(
                update(road_work_order_events)
                .where(
                    road_work_order_events.c.order_id == bindparam("order"),
                    road_work_order_events.c.n == bindparam("num"),
                )
                .values(log_index=bindparam("index")),
                events,
            )
        return indexes


#: the target of a new finding's entry: its id is in the body once the finding is inserted
_PENDING = ("finding", None)


@dataclass
class _Writes:
    """The writes of one assessment's colouring, queued so that each kind is one statement."""

    new_cells: list[dict[str, Any]] = field(default_factory=list)
    changed_cells: list[dict[str, Any]] = field(default_factory=list)  # key_e, key_n: the cell
    new_findings: list[dict[str, Any]] = field(default_factory=list)
    new_bodies: list[dict[str, Any]] = field(default_factory=list)  # their log bodies, in order
    changed_findings: list[dict[str, Any]] = field(default_factory=list)  # key_id: the finding


@dataclass
class _OrderWrites:
    """The rows of the orders one assessment dispatches, written in one statement each."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def evidence_digest(digests: Iterable[bytes]) -> bytes:
    """SHA-256 over the sorted digests of the observations that counted for a finding: what
    its log entry holds, so that a department can check the observations it is shown."""
    return hashlib.sha256(b"".join(sorted(digests))).digest()


class RoadService:
    def __init__(
        self,
        *,
        db: Database,
        network: RoadNetwork,
        ruleset: RoadRuleSet,
        clock: Callable[[], datetime],
        log: translog.TransparencyLog,
        departments: Mapping[str, frozenset[str] | None],
    ) -> None:
        self.db = db
        self.network = network
        self.ruleset = ruleset
        self.catalogue = ruleset.catalogue
        self.clock = clock
        self.translog = log
        #: department scope → the defect types it may read (None: all)
        self.departments = departments
        self.zone = network.zone
        self._devices: dict[str, RegisteredDevice] = {}
        self._devices_lock = threading.Lock()
        self._network_json: dict[str, Any] | None = None

    # ------------------------------------------------------------------ devices
    def register_vehicle(
        self, device_id: str, *, owner: str, public_key_der: bytes, trusted: bool
    ) -> dict[str, Any]:
        """Register a sensing vehicle and its public key (the node administrator)."""
        try:
            key = load_verifying_key(public_key_der)
        except Exception:
            raise InvalidInput("not a public key (DER or PEM)", field="public_key") from None
        check_device_id(device_id)
        if not owner or len(owner) > 100:
            raise InvalidInput("owner must be 1 to 100 characters", field="owner")
        now = self.clock()
        with self.db.uow() as uow:
            held = uow.conn.execute(
                select(road_devices.c.owner_kind).where(road_devices.c.device_id == device_id)
            ).first()
            if held is not None:
                raise Conflict(f"device {device_id} is registered already", field="device_id")
            uow.conn.execute(
                insert(road_devices).values(
                    device_id=device_id,
                    owner_kind=OwnerKind.VEHICLE.value,
                    owner=owner,
                    public_key=key.spki_der(),
                    trusted=trusted,
                    registered_at=now,
                )
            )
            translog.append(
                uow.conn,
                "road.device.registered",
                now,
                device=device_id,
                owner=owner,
                trusted=trusted,
                kid=key.kid.hex(),
            )
            uow.commit()
        return {"device_id": device_id, "owner": owner, "trusted": trusted, "kid": key.kid.hex()}

    def _device(self, conn: Connection, device_id: str) -> RegisteredDevice | None:
        """A registered vehicle (cached: a key is never changed, only revoked with a restart)."""
        hit = self._devices.get(device_id)
        if hit is not None:
            return hit
        row = conn.execute(
            select(road_devices).where(
                road_devices.c.device_id == device_id,
                road_devices.c.owner_kind == OwnerKind.VEHICLE.value,
                road_devices.c.revoked_at.is_(None),
            )
        ).first()
        if row is None or row.public_key is None:
            return None
        device = RegisteredDevice(
            device_id,
            OwnerKind.VEHICLE,
            row.owner,
            load_verifying_key(row.public_key),
            bool(row.trusted),
        )
        with self._devices_lock:
            self._devices[device_id] = device
        return device

    def _vehicles_among(self, conn: Connection, ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(ids))
        found: set[str] = set()
        for i in range(0, len(wanted), _CHUNK):
            found.update(
                conn.execute(
                    select(road_devices.c.device_id).where(
                        road_devices.c.device_id.in_(wanted[i : i + _CHUNK]),
                        road_devices.c.owner_kind == OwnerKind.VEHICLE.value,
                    )
                ).scalars()
            )
        return found

    # ------------------------------------------------------------------- ingest
    def ingest(
        self, body: bytes, *, device: str | None = None, signature: str | None = None
    ) -> IngestReport:
        """Take one batch (see the module docstring); ``device`` and ``signature`` are the
        signing vehicle's id and its base64url signature, or both None for a phone's batch."""
        now = self.clock()
        try:
            data = orjson.loads(body)
            rows = data["observations"]
            if not isinstance(rows, list):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise InvalidInput(
                'the body must be {"observations": [...]}', field="observations"
            ) from None
        if not rows or len(rows) > MAX_BATCH_ROWS:
            raise InvalidInput(
                f"a batch holds 1 to {MAX_BATCH_ROWS} observations", field="observations"
            )
        report = IngestReport()
        with self.db.uow() as uow:
            conn = uow.conn
            signer = self._check_signer(conn, body, device, signature)
            parsed = self._parse(rows, signer, report)
            if signer is None and parsed:
                # An unsigned row may not speak for a registered vehicle.
                vehicles = self._vehicles_among(conn, (r.item.device_id for r in parsed))
                if vehicles:
                    for r in parsed:
                        if r.item.device_id in vehicles:
                            report.errors.append(
                                RowError(
                                    r.index,
                                    401,
                                    "device_id",
                                    "a registered vehicle must sign its observations",
                                )
                            )
                    parsed = [r for r in parsed if r.item.device_id not in vehicles]
            if parsed:
                # The lock that serialises assessments (module docstring), taken before the
                # duplicate check: no other request stores one of these keys until commit.
                next_value(conn, "road-assess")
            fresh = self._new_rows(conn, parsed, report)
            if fresh:
                self._store(conn, fresh, now)
                if signer is None:
                    self._note_phones(conn, {r.item.device_id for r in fresh}, now)
                self._assess_after(conn, fresh, now, report)
            uow.commit()
        report.errors.sort(key=lambda e: e.index)
        return report

    def _check_signer(
        self, conn: Connection, body: bytes, device: str | None, signature: str | None
    ) -> RegisteredDevice | None:
        if device is None and signature is None:
            return None
        if device is None or signature is None:
            raise Unauthorized("a signed batch names its device and carries its signature")
        registered = self._device(conn, device)
        try:
            raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
            if registered is None:
                raise ValueError
            registered.key.verify(raw, batch_signing_bytes(body))
        except Exception:  # a bad encoding, an unknown device, a bad signature: one answer
            raise Unauthorized("the batch's signature does not verify") from None
        return registered

    def _parse(
        self, rows: Sequence[Any], signer: RegisteredDevice | None, report: IngestReport
    ) -> list[_Row]:
        checked: list[tuple[int, Observation | Bump, AcceptedObservation | None]] = []
        for i, raw in enumerate(rows):
            try:
                if not isinstance(raw, dict):
                    raise InvalidInput("a row is a JSON object", field="observation")
                item: Observation | Bump
                if raw.get("kind") == "bump":
                    item = Bump.from_payload(raw)
                    if signer is not None:
                        raise InvalidInput("a vehicle reports detections, not bumps", field="kind")
                    accepted = None
                else:
                    item = Observation.from_payload(raw)
                    accepted = accept_row(item, signer, self.catalogue)
                if signer is not None and item.device_id != signer.device_id:
                    report.errors.append(
                        RowError(i, 401, "device_id", "the row is not the signing device's")
                    )
                    continue
            except InvalidInput as exc:
                report.errors.append(RowError(i, 422, exc.field, exc.message))
                continue
            checked.append((i, item, accepted))
        # The positions projected at once, per datum (one PROJ call on arrays each).
        cells: dict[int, CellId | None] = {}
        for datum in {item.datum for _, item, _ in checked}:
            some = [(i, item) for i, item, _ in checked if item.datum == datum]
            found = self.zone.cells_many(
                [item.lon for _, item in some], [item.lat for _, item in some], datum
            )
            cells.update(zip((i for i, _ in some), found, strict=True))
        out = []
        for i, item, accepted in checked:
            cell = cells[i]
            if cell is None:
                report.errors.append(RowError(i, 422, "position", "position cannot be projected"))
                continue
            if self.network.road_at(cell) is None:
                report.errors.append(
                    RowError(i, 422, "lon", "the position is on no road of the district")
                )
                continue
            owner = OwnerKind.CITIZEN if accepted is None else accepted.owner_kind
            out.append(
                _Row(
                    i,
                    item,
                    cell.easting,
                    cell.northing,
                    item.digest(),
                    owner,
                    signed=accepted is not None and accepted.signed,
                    trusted=accepted is not None and accepted.trusted,
                )
            )
        return out

    def _new_rows(self, conn: Connection, parsed: list[_Row], report: IngestReport) -> list[_Row]:
        by_device: dict[str, list[int]] = {}
        for r in parsed:
            by_device.setdefault(r.item.device_id, []).append(r.item.seq)
        known: dict[tuple[str, int], bytes] = {}
        t = road_observations.c
        for device_id, seqs in by_device.items():
            # A device numbers its observations in order: one range per device, filtered here.
            wanted = set(seqs)
            for row in conn.execute(
                select(t.seq, t.digest).where(
                    t.device_id == device_id, t.seq.between(min(seqs), max(seqs))
                )
            ):
                if row.seq in wanted:
                    known[(device_id, row.seq)] = bytes(row.digest)
        verdicts = partition_batch(((r.item.key, r.digest) for r in parsed), known)
        fresh = []
        for r, verdict in zip(parsed, verdicts, strict=True):
            if verdict == "new":
                fresh.append(r)
            elif verdict == "duplicate":
                report.duplicates += 1
            else:
                report.errors.append(
                    RowError(r.index, 409, "seq", f"the device reused sequence number {r.item.seq}")
                )
        report.accepted = len(fresh)
        return fresh

    def _store(self, conn: Connection, fresh: list[_Row], now: datetime) -> None:
        """Store ``fresh`` through the driver's bulk path on the connection's own transaction
        (``COPY`` on PostgreSQL, the sqlite3 cursor's ``executemany`` on SQLite), each value
        converted by its column's own bind processing (``received_at`` once). The caller holds
        the ``road-assess`` lock from the duplicate check on, so no other request can have
        stored one of these keys meanwhile."""
        dialect = conn.dialect
        process = _bind_processors(dialect)
        when = process["observed_at"]
        assert when is not None
        received = when(now)
        signed_true, signed_false = process["signed"](True), process["signed"](False)
        vehicle, citizen = OwnerKind.VEHICLE.value, OwnerKind.CITIZEN.value
        rows = []
        for r in fresh:
            item = r.item
            if isinstance(item, Bump):
                kind, defect, severity, confidence, magnitude = (
                    "bump",
                    None,
                    None,
                    0.0,
                    item.magnitude_g,
                )
                heading = speed = None
            else:
                defect = item.defect
                kind = "clear" if defect is None else "detection"
                severity = None if item.severity is None else int(item.severity)
                confidence, magnitude = item.confidence, None
                heading, speed = item.heading_deg, item.speed_mps
            rows.append(
                (
                    item.device_id,
                    item.seq,
                    r.e,
                    r.n,
                    when(item.observed_at),
                    kind,
                    defect,
                    severity,
                    confidence,
                    magnitude,
                    item.lon,
                    item.lat,
                    item.datum,
                    heading,
                    speed,
                    item.image_sha256,
                    vehicle if r.owner_kind is OwnerKind.VEHICLE else citizen,
                    signed_true if r.signed else signed_false,
                    signed_true if r.trusted else signed_false,
                    r.digest,
                    received,
                )
            )
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        columns = ", ".join(_OBSERVATION_COLUMNS)
        try:
            if dialect.name == "postgresql":
                with cursor.copy(f"COPY {road_observations.name} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(  # our own table and column names, nothing from the input
                    f"INSERT INTO {road_observations.name} ({columns}) "  # noqa: S608
                    f"VALUES ({', '.join('?' * len(_OBSERVATION_COLUMNS))})",
                    rows,
                )
        finally:
            cursor.close()

    def _note_phones(self, conn: Connection, ids: set[str], now: datetime) -> None:
        """A citizen's phone is known from its first report (no key, never trusted)."""
        for device_id in sorted(ids):
            insert_ignore(
                conn,
                road_devices,
                {
                    "device_id": device_id,
                    "owner_kind": OwnerKind.CITIZEN.value,
                    "owner": "",
                    "trusted": False,
                    "registered_at": now,
                },
            )

    # --------------------------------------------------------------- assessment
    def _assess_after(
        self, conn: Connection, fresh: list[_Row], now: datetime, report: IngestReport
    ) -> None:
        touched = {(r.e, r.n) for r in fresh if not isinstance(r.item, Bump)}
        detected = {
            (r.e, r.n)
            for r in fresh
            if isinstance(r.item, Observation) and r.item.defect is not None
        }
        if not touched:
            return
        stored = self._cells(conn, touched)  # under the road-assess lock (ingest took it)
        to_assess = sorted(detected | set(stored))
        if not to_assess:
            return
        log = _Log()
        observations = self._observations_of(conn, to_assess, now)
        orders = self._orders_of(conn, {c.work_order for c in stored.values() if c.work_order})
        post_repair = _post_repair_detections(fresh, orders, self.ruleset)
        colours = {
            c: assess_cell([a for a, _ in observations.get(c, [])], self.ruleset, now)
            for c in to_assess
        }
        held = self._open_findings(
            conn, [c for c in to_assess if colours[c].colour is not Colour.GREEN]
        )
        writes = _Writes()
        newly_coloured: list[tuple[int, int]] = []
        for e, n in to_assess:
            colour = colours[(e, n)]
            before = stored.get((e, n))
            if colour.colour is Colour.GREEN:
                if before is not None:
                    self._clear(conn, e, n, colour, now, log, report)
                continue
            seen = observations.get((e, n), [])
            self._colour(e, n, colour, seen, before, held.get((e, n), {}), now, log, writes)
            if before is None or before.work_order is None:
                newly_coloured.append((e, n))
            elif (e, n) in post_repair.get(before.work_order, set()):
                self._reopen(conn, orders[before.work_order], now, log)
        self._write(conn, writes, now, report)
        self._verify_repaired(conn, orders, now, log)
        self._dispatch(conn, newly_coloured, now, log, report)
        log.flush(conn, now)

    def _open_findings(
        self, conn: Connection, cells: list[tuple[int, int]]
    ) -> dict[tuple[int, int], dict[str, Any]]:
        """The open findings of ``cells``, by cell and defect (one query per chunk)."""
        out: dict[tuple[int, int], dict[str, Any]] = {}
        t = road_findings.c
        for i in range(0, len(cells), _CHUNK):
            for row in conn.execute(
                select(road_findings).where(
                    tuple_(t.e, t.n).in_(cells[i : i + _CHUNK]), t.cleared_at.is_(None)
                )
            ):
                out.setdefault((row.e, row.n), {})[row.defect] = row
        return out

    def _write(
        self, conn: Connection, writes: _Writes, now: datetime, report: IngestReport
    ) -> None:
        """The queued writes of the colouring, each kind in one statement (executemany); the
        new findings' ids go into their log bodies and the report in the order queued."""
        if writes.new_cells:
            conn.execute(insert(road_cells), writes.new_cells)
        if writes.changed_cells:
            conn.execute(
                update(road_cells).where(
                    road_cells.c.e == bindparam("key_e"), road_cells.c.n == bindparam("key_n")
                ),
                writes.changed_cells,  # the SET clause: the other keys of the rows
            )
        if writes.new_findings:
            ids = [
                int(row.id)
                for row in conn.execute(
                    insert(road_findings).returning(
                        road_findings.c.id, sort_by_parameter_order=True
                    ),
                    writes.new_findings,
                )
            ]
            for finding_id, body in zip(ids, writes.new_bodies, strict=True):
                body["finding"] = finding_id
                report.findings.append(finding_id)
            report.points += self._award(
                conn,
                [
                    (finding_id, v["e"], v["n"], v["confirmed_at"])
                    for finding_id, v in zip(ids, writes.new_findings, strict=True)
                ],
                now,
            )
        if writes.changed_findings:
            conn.execute(
                update(road_findings).where(road_findings.c.id == bindparam("key_id")),
                writes.changed_findings,
            )

    def _cells(self, conn: Connection, cells: set[tuple[int, int]]) -> dict[tuple[int, int], Any]:
        """The stored (non-green) rows of ``cells``: for many, one range query over their
        bounding box (the table holds few rows), filtered here."""
        found = {}
        keys = sorted(cells)
        if len(keys) > _CHUNK:
            t = road_cells.c
            e0, e1 = keys[0][0], keys[-1][0]
            n0, n1 = min(n for _, n in keys), max(n for _, n in keys)
            for row in conn.execute(
                select(road_cells).where(t.e.between(e0, e1), t.n.between(n0, n1))
            ):
                if (row.e, row.n) in cells:
                    found[(row.e, row.n)] = row
            return found
        for i in range(0, len(keys), _CHUNK):
            for row in conn.execute(
                select(road_cells).where(
                    tuple_(road_cells.c.e, road_cells.c.n).in_(keys[i : i + _CHUNK])
                )
            ):
                found[(row.e, row.n)] = row
        return found

    def _observations_of(
        self, conn: Connection, cells: list[tuple[int, int]], now: datetime
    ) -> dict[tuple[int, int], list[tuple[AcceptedObservation, bytes]]]:
        since = now - self.ruleset.confirmation.lookback
        out: dict[tuple[int, int], list[tuple[AcceptedObservation, bytes]]] = {}
        t = road_observations.c
        for i in range(0, len(cells), _CHUNK):
            rows = conn.execute(
                select(road_observations).where(
                    tuple_(t.e, t.n).in_(cells[i : i + _CHUNK]),
                    t.observed_at >= since,
                    t.observed_at <= now,
                    t.kind != "bump",
                )
            )
            for row in rows:
                out.setdefault((row.e, row.n), []).append((_accepted(row), bytes(row.digest)))
        return out

    def _colour(
        self,
        e: int,
        n: int,
        colour: CellColour,
        seen: list[tuple[AcceptedObservation, bytes]],
        before: Any,
        open_findings: Mapping[str, Any],
        now: datetime,
        log: _Log,
        writes: _Writes,
    ) -> None:
        """Queue the writes of a cell that is not green (``_write`` makes them) and add its
        log entries (a new finding's id is filled in when it is inserted)."""
        cell = str(CellId(self.zone.number, e, n))
        worst = max(r.severity for r in colour.reasons)
        values = {
            "colour": int(colour.colour),
            "severity": int(worst),
            "defects": "," + ",".join(sorted({r.defect for r in colour.reasons})) + ",",
            "reasons": [
                {
                    "code": r.code,
                    "colour": r.colour.label,
                    "confirmed_at": r.confirmed_at.isoformat(),
                    "devices": r.devices,
                    "trusted": r.trusted,
                }
                for r in colour.reasons
            ],
            "confirmed_at": colour.confirmed_at,
            "first_seen_at": min(r.first_seen_at for r in colour.reasons),
            "ruleset": colour.ruleset,
            "updated_at": now,
        }
        if before is None:
            writes.new_cells.append({"e": e, "n": n, "work_order": None, **values})
        else:
            writes.changed_cells.append({"key_e": e, "key_n": n, **values})
        since_clear = colour.cleared_at
        for reason in colour.reasons:
            held = open_findings.get(reason.defect)
            if held is not None and held.severity >= int(reason.severity):
                continue
            evidence_rows = sorted(
                (
                    (a.observation.key, d)
                    for a, d in seen
                    if a.observation.defect == reason.defect
                    and a.observation.confidence >= self.ruleset.confirmation.min_confidence
                    and (since_clear is None or a.observation.observed_at > since_clear)
                ),
                key=lambda kd: kd[1],
            )
            counted = [d for _, d in evidence_rows]
            keys = [[k[0], k[1]] for k, _ in evidence_rows]
            evidence = evidence_digest(counted)
            body = {
                "district": self.network.district,
                "cell": cell,
                "defect": reason.defect,
                "severity": reason.severity.label,
                "colour": reason.colour.label,
                "first_seen_at": reason.first_seen_at.isoformat(),
                "confirmed_at": reason.confirmed_at.isoformat(),
                "trusted": reason.trusted,
                "devices": reason.devices,
                "observations": len(counted),
                "evidence": evidence.hex(),
                "ruleset": colour.ruleset,
            }
            if held is None:
                writes.new_findings.append(
                    {
                        "e": e,
                        "n": n,
                        "defect": reason.defect,
                        "severity": int(reason.severity),
                        "colour": int(reason.colour),
                        "first_seen_at": reason.first_seen_at,
                        "confirmed_at": reason.confirmed_at,
                        "cleared_at": None,
                        "trusted": reason.trusted,
                        "devices": reason.devices,
                        "observations": len(counted),
                        "evidence": evidence,
                        "evidence_keys": keys,
                        "ruleset": colour.ruleset,
                        "work_order": None if before is None else before.work_order,
                    }
                )
                entry: dict[str, Any] = {"finding": None, **body}
                writes.new_bodies.append(entry)
                log.add("road.finding.confirmed", entry, _PENDING)
            else:
                writes.changed_findings.append(
                    {
                        "key_id": held.id,
                        "severity": int(reason.severity),
                        "colour": int(reason.colour),
                        "devices": reason.devices,
                        "observations": len(counted),
                        "evidence": evidence,
                        "evidence_keys": keys,
                    }
                )
                # The finding now points to the entry of its current evidence.
                log.add("road.finding.worsened", {"finding": held.id, **body}, ("finding", held.id))

    def _clear(
        self,
        conn: Connection,
        e: int,
        n: int,
        colour: CellColour,
        now: datetime,
        log: _Log,
        report: IngestReport,
    ) -> None:
        cell = str(CellId(self.zone.number, e, n))
        cleared_at = colour.cleared_at or now
        conn.execute(delete(road_cells).where(road_cells.c.e == e, road_cells.c.n == n))
        ids = list(
            conn.execute(
                update(road_findings)
                .where(
                    road_findings.c.e == e,
                    road_findings.c.n == n,
                    road_findings.c.cleared_at.is_(None),
                )
                .values(cleared_at=cleared_at)
                .returning(road_findings.c.id, road_findings.c.defect)
            ).all()
        )
        report.cleared.append(cell)
        log.add(
            "road.cell.cleared",
            {
                "district": self.network.district,
                "cell": cell,
                "findings": sorted(r.id for r in ids),
                "defects": sorted({r.defect for r in ids}),
                "cleared_at": cleared_at.isoformat(),
                "ruleset": colour.ruleset,
            },
        )

    # -------------------------------------------------------------- work orders
    def _orders_of(self, conn: Connection, ids: set[str]) -> dict[str, wo.WorkOrder]:
        if not ids:
            return {}
        orders = {}
        for row in conn.execute(
            select(road_work_orders).where(road_work_orders.c.id.in_(sorted(ids)))
        ):
            orders[row.id] = self._order_from(conn, row)
        return orders

    def _order_from(self, conn: Connection, row: Any) -> wo.WorkOrder:
        events = tuple(
            wo.Event(ev.at, ev.kind, ev.detail)
            for ev in conn.execute(
                select(road_work_order_events)
                .where(road_work_order_events.c.order_id == row.id)
                .order_by(road_work_order_events.c.n)
            )
        )
        return wo.WorkOrder(
            id=row.id,
            team=row.team,
            road_id=row.road_id,
            defect=row.defect,
            severity=Severity(row.severity),
            cells=tuple(CellId.parse(c) for c in row.cells),
            status=wo.Status(row.status),
            dispatched_at=row.dispatched_at,
            deadline=row.deadline,
            escalation=row.escalation,
            repair_photo_sha256=row.repair_photo_sha256,
            events=events,
        )

    def _save_order(
        self,
        conn: Connection,
        old: wo.WorkOrder | None,
        new: wo.WorkOrder,
        now: datetime,
        log: _Log,
        extra: Mapping[str, Any] | None = None,
        queue: _OrderWrites | None = None,
    ) -> None:
        """Write ``new`` (its events past ``old``'s) and log each new event; a new order's rows
        go into ``queue`` instead when one is given (the caller writes them)."""
        values = {
            "status": new.status.value,
            "deadline": new.deadline,
            "escalation": new.escalation,
            "repair_photo_sha256": new.repair_photo_sha256,
            "updated_at": now,
        }
        if new.status is wo.Status.REPAIRED and (
            old is None or old.status is not wo.Status.REPAIRED
        ):
            values["repaired_at"] = new.events[-1].at
        if old is None:
            assert extra is not None
            row = {
                "id": new.id,
                "team": new.team,
                "road_id": new.road_id,
                "defect": new.defect,
                "severity": int(new.severity),
                "cells": [str(c) for c in new.cells],
                "dispatched_at": new.dispatched_at,
                "repaired_at": None,
                **values,
                **extra,
            }
            if queue is None:
                conn.execute(insert(road_work_orders).values(**row))
            else:
                queue.orders.append(row)
        else:
            conn.execute(
                update(road_work_orders).where(road_work_orders.c.id == new.id).values(**values)
            )
        start = 0 if old is None else len(old.events)
        for i, event in enumerate(new.events[start:], start=start):
            event_row = {
                "order_id": new.id,
                "n": i,
                "at": event.at,
                "kind": event.kind,
                "detail": event.detail[:200],
            }
            if queue is None or old is not None:
                conn.execute(insert(road_work_order_events).values(**event_row))
            else:
                queue.events.append(event_row)
            body: dict[str, Any] = {
                "district": self.network.district,
                "order": new.id,
                "event": i,
                "step": event.kind,
                "team": new.team,
                "status": new.status.value,
                "detail": event.detail[:200],
                "step_at": event.at.isoformat(),
            }
            body["defect"] = new.defect
            if event.kind == "dispatched":
                body.update(
                    road=new.road_id,
                    severity=new.severity.label,
                    cells=[str(c) for c in new.cells],
                    deadline=new.deadline.isoformat(),
                )
            log.add(f"road.order.{event.kind}", body, ("event", (new.id, i)))

    def _dispatch(
        self,
        conn: Connection,
        cells: list[tuple[int, int]],
        now: datetime,
        log: _Log,
        report: IngestReport,
    ) -> None:
        """One work order per 8-connected cluster of new non-green cells without one."""
        if not cells:
            return
        state = self._cells(conn, set(cells))
        pending = {c for c in cells if c in state and state[c].work_order is None}
        clusters = _clusters(pending)
        if not clusters:
            return
        # The clusters' numbers at once (as one call each would give them, in order).
        first = next_value(conn, "road-orders", by=len(clusters)) - len(clusters) + 1
        queue = _OrderWrites()
        cells_of: list[dict[str, Any]] = []
        for number, cluster in enumerate(clusters, start=first):
            rows = [state[c] for c in cluster]
            worst = max(rows, key=lambda r: (r.colour, r.severity, -r.e, -r.n))
            cell_ids = tuple(CellId(self.zone.number, r.e, r.n) for r in rows)
            road = self.network.road_at(CellId(self.zone.number, worst.e, worst.n))
            assert road is not None  # every stored row was on a road when it came in
            defect = str(worst.reasons[0]["code"]).split(".")[1]
            order = wo.dispatch(
                f"wo-{number:06d}",
                team=road.team,
                road_id=road.id,
                defect=defect,
                severity=Severity(worst.severity),
                cells=cell_ids,
                ruleset=self.ruleset,
                now=now,
            )
            self._save_order(
                conn,
                None,
                order,
                now,
                log,
                extra={
                    "first_observed_at": min(r.first_seen_at for r in rows),
                    "confirmed_at": min(r.confirmed_at for r in rows),
                },
                queue=queue,
            )
            cells_of.extend({"key_e": r.e, "key_n": r.n, "key_order": order.id} for r in rows)
            report.work_orders.append(order.id)
        conn.execute(insert(road_work_orders), queue.orders)
        conn.execute(insert(road_work_order_events), queue.events)
        conn.execute(
            update(road_cells)
            .where(road_cells.c.e == bindparam("key_e"), road_cells.c.n == bindparam("key_n"))
            .values(work_order=bindparam("key_order")),
            cells_of,
        )
        conn.execute(
            update(road_findings)
            .where(
                road_findings.c.e == bindparam("key_e"),
                road_findings.c.n == bindparam("key_n"),
                road_findings.c.cleared_at.is_(None),
                road_findings.c.work_order.is_(None),
            )
            .values(work_order=bindparam("key_order")),
            cells_of,
        )

    def _reopen(self, conn: Connection, order: wo.WorkOrder, now: datetime, log: _Log) -> None:
        if order.status is not wo.Status.REPAIRED:
            return
        reopened = wo.reopen(order, self.ruleset, now, "re-inspection still sees the defect")
        self._save_order(conn, order, reopened, now, log)

    def _verify_repaired(
        self, conn: Connection, orders: dict[str, wo.WorkOrder], now: datetime, log: _Log
    ) -> None:
        """A repaired order none of whose cells is stored (all green again) is verified."""
        for order in orders.values():
            current = self._order_from(
                conn,
                conn.execute(
                    select(road_work_orders).where(road_work_orders.c.id == order.id)
                ).one(),
            )
            if current.status is not wo.Status.REPAIRED:
                continue
            keys = [(c.easting, c.northing) for c in current.cells]
            left = conn.execute(
                select(func.count())
                .select_from(road_cells)
                .where(tuple_(road_cells.c.e, road_cells.c.n).in_(keys))
            ).scalar()
            if left == 0:
                self._save_order(conn, current, wo.verify(current, now), now, log)

    def advance(
        self, order_id: str, step: str, *, team: str | None, photo_sha256: str | None = None
    ) -> dict[str, Any]:
        """A team's step on its order: ``on_site`` or ``repaired`` (with the photo's hash).
        ``team`` None is the node administrator (any order). Verification is the
        re-inspection's, never a team's."""
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            next_value(conn, "road-assess")
            row = conn.execute(
                select(road_work_orders).where(road_work_orders.c.id == order_id)
            ).first()
            if row is None or (team is not None and row.team != team):
                raise NotFound(f"no work order {order_id}")
            order = self._order_from(conn, row)
            if step == "on_site":
                new = wo.arrive(order, now)
            elif step == "repaired":
                if photo_sha256 is None:
                    raise InvalidInput("a repair needs the photo's SHA-256", field="photo_sha256")
                new = wo.repair(order, photo_sha256, now)
            else:
                raise InvalidInput("step must be on_site or repaired", field="step")
            log = _Log()
            self._save_order(conn, order, new, now, log)
            log.flush(conn, now)
            uow.commit()
        return self.work_order(order_id)

    def escalate_overdue(self) -> list[str]:
        """The periodic job: raise the escalation of overdue orders (``workorders.escalate``)."""
        now = self.clock()
        done = []
        with self.db.uow() as uow:
            conn = uow.conn
            next_value(conn, "road-assess")
            log = _Log()
            for row in conn.execute(
                select(road_work_orders).where(
                    road_work_orders.c.status.in_(("dispatched", "on_site")),
                    road_work_orders.c.deadline < now,
                )
            ).all():
                order = self._order_from(conn, row)
                raised = wo.escalate(order, self.ruleset, now)
                if raised is not order:
                    self._save_order(conn, order, raised, now, log)
                    done.append(order.id)
            log.flush(conn, now)
            uow.commit()
        return done

    # ------------------------------------------------------------------- points
    def _award(
        self, conn: Connection, findings: list[tuple[int, int, int, datetime]], now: datetime
    ) -> int:
        """Points for new ``findings`` (id, e, n, confirmed at), each to the first citizen
        device that reported near it before it was confirmed (once per finding; never twice to
        one device for one cell). The candidates of many findings come from one query (the
        union of their windows, in the order the award takes them), each finding's own are
        picked from those here."""
        r = POINTS_RADIUS_M
        lookback = self.ruleset.confirmation.lookback
        total = 0
        for first in range(0, len(findings), _AWARD_CHUNK):
            chunk = findings[first : first + _AWARD_CHUNK]
            params: dict[str, Any] = {}
            for k, (_, e, n, confirmed_at) in enumerate(chunk):
                params.update({f"e{k}_{j}": e - r + j for j in range(2 * r + 1)})
                params.update(
                    {
                        f"n{k}_lo": n - r,
                        f"n{k}_hi": n + r,
                        f"t{k}_lo": confirmed_at - lookback,
                        f"t{k}_hi": confirmed_at,
                    }
                )
            candidates = conn.execute(_award_candidates(len(chunk)), params).all()
            if not candidates:
                continue
            for finding_id, e, n, confirmed_at in chunk:
                since = confirmed_at - lookback
                tried = set()
                for c in candidates:
                    if (
                        c.device_id in tried
                        or not (abs(c.e - e) <= r and abs(c.n - n) <= r)
                        or not since <= c.observed_at <= confirmed_at
                    ):
                        continue
                    tried.add(c.device_id)
                    if insert_ignore(
                        conn,
                        road_points,
                        {
                            "finding_id": finding_id,
                            "device_id": c.device_id,
                            "e": e,
                            "n": n,
                            "points": POINTS_PER_FINDING,
                            "awarded_at": now,
                        },
                    ):
                        total += POINTS_PER_FINDING
                        break
        return total

    def points_of(self, device_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(road_points)
                .where(road_points.c.device_id == device_id)
                .order_by(road_points.c.awarded_at, road_points.c.finding_id)
            ).all()
        return {
            "device_id": device_id,
            "points": sum(r.points for r in rows),
            "awards": [
                {
                    "finding": r.finding_id,
                    "cell": str(CellId(self.zone.number, r.e, r.n)),
                    "points": r.points,
                    "awarded_at": r.awarded_at.isoformat(),
                }
                for r in rows
            ],
        }

    # -------------------------------------------------------------------- reads
    def cells(
        self,
        bbox: tuple[float, float, float, float] | None = None,
        *,
        defect: str | None = None,
        min_severity: Severity | None = None,
        colour: Colour | None = None,
        limit: int = 20000,
    ) -> dict[str, Any]:
        """The non-green cells in ``bbox`` (min lon, min lat, max lon, max lat), as a GeoJSON
        FeatureCollection of 1 m squares in the zone's metres (``crs`` names the EPSG code),
        each with its colour, worst severity, defect types and work order."""
        t = road_cells.c
        query = select(t.e, t.n, t.colour, t.severity, t.defects, t.work_order)
        if bbox is not None:
            e0, n0, e1, n1 = self._metres(bbox)
            query = query.where(t.e.between(e0, e1), t.n.between(n0, n1))
        if defect is not None:
            self.catalogue.get(defect)
            query = query.where(t.defects.like(f"%,{defect},%"))
        if min_severity is not None:
            query = query.where(t.severity >= int(min_severity))
        if colour is not None:
            query = query.where(t.colour == int(colour))
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(t.n, t.e).limit(limit + 1)).all()
        zone = self.zone.number
        colours = {int(c): c.label for c in Colour}
        levels = {int(v): v.label for v in Severity}
        features = []
        for e, n, colour_, severity, defects, order in rows[:limit]:
            e1, n1 = e + 1, n + 1
            features.append(
                {
                    "type": "Feature",
                    "id": f"{zone}:{e}:{n}",
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[e, n], [e1, n], [e1, n1], [e, n1], [e, n]]],
                    },
                    "properties": {
                        "colour": colours[colour_],
                        "severity": levels[severity],
                        "defects": defects.strip(",").split(","),
                        "work_order": order,
                    },
                }
            )
        return {
            "type": "FeatureCollection",
            "crs": f"EPSG:{self.zone.epsg}",
            "truncated": len(rows) > limit,
            "features": features,
        }

    def _metres(self, bbox: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        lon0, lat0, lon1, lat1 = bbox
        if not (lon0 < lon1 and lat0 < lat1):
            raise InvalidInput("bbox must be min lon, min lat, max lon, max lat", field="bbox")
        corners = [self.zone.project(lon, lat) for lon in (lon0, lon1) for lat in (lat0, lat1)]
        return (
            int(min(x for x, _ in corners)) - 1,
            int(min(y for _, y in corners)) - 1,
            int(max(x for x, _ in corners)) + 1,
            int(max(y for _, y in corners)) + 1,
        )

    def cell_history(self, cell_text: str) -> dict[str, Any]:
        """One cell: its state now, its findings, observations (newest 200) and orders."""
        cell = CellId.parse(cell_text)
        if cell.zone != self.zone.number or self.network.road_at(cell) is None:
            raise NotFound(f"no cell {cell_text} in district {self.network.district}")
        e, n = cell.easting, cell.northing
        with self.db.read() as conn:
            state = conn.execute(
                select(road_cells).where(road_cells.c.e == e, road_cells.c.n == n)
            ).first()
            findings = conn.execute(
                select(road_findings)
                .where(road_findings.c.e == e, road_findings.c.n == n)
                .order_by(road_findings.c.id)
            ).all()
            obs = conn.execute(
                select(road_observations)
                .where(road_observations.c.e == e, road_observations.c.n == n)
                .order_by(road_observations.c.observed_at.desc())
                .limit(200)
            ).all()
            order_ids = {f.work_order for f in findings if f.work_order}
            orders = (
                [
                    self._order_json(conn, r)
                    for r in conn.execute(
                        select(road_work_orders).where(road_work_orders.c.id.in_(sorted(order_ids)))
                    )
                ]
                if order_ids
                else []
            )
        road = self.network.road_at(cell)
        assert road is not None
        return {
            "cell": str(cell),
            "road": {"id": road.id, "name": road.name, "team": road.team},
            "colour": "green" if state is None else Colour(state.colour).label,
            "reasons": [] if state is None else state.reasons,
            "findings": [_finding_json(f, self.zone.number) for f in findings],
            "observations": [_observation_json(o) for o in obs],
            "work_orders": orders,
        }

    def _order_json(self, conn: Connection, row: Any) -> dict[str, Any]:
        events = conn.execute(
            select(road_work_order_events)
            .where(road_work_order_events.c.order_id == row.id)
            .order_by(road_work_order_events.c.n)
        ).all()
        return {
            "id": row.id,
            "team": row.team,
            "road": row.road_id,
            "defect": row.defect,
            "severity": Severity(row.severity).label,
            "status": row.status,
            "cells": row.cells,
            "dispatched_at": row.dispatched_at.isoformat(),
            "deadline": row.deadline.isoformat(),
            "escalation": row.escalation,
            "repair_photo_sha256": row.repair_photo_sha256,
            "first_observed_at": row.first_observed_at.isoformat(),
            "confirmed_at": row.confirmed_at.isoformat(),
            "repaired_at": None if row.repaired_at is None else row.repaired_at.isoformat(),
            "events": [
                {
                    "n": ev.n,
                    "at": ev.at.isoformat(),
                    "kind": ev.kind,
                    "detail": ev.detail,
                    "log_index": ev.log_index,
                }
                for ev in events
            ],
        }

    def work_orders(
        self,
        *,
        status: str | None = None,
        team: str | None = None,
        defects: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        t = road_work_orders.c
        query = select(road_work_orders).order_by(t.dispatched_at.desc(), t.id.desc()).limit(1000)
        if status is not None:
            if status not in {s.value for s in wo.Status}:
                raise InvalidInput(
                    "status must be dispatched, on_site, repaired or verified", field="status"
                )
            query = query.where(t.status == status)
        if team is not None:
            query = query.where(t.team == team)
        if defects is not None:
            query = query.where(t.defect.in_(sorted(defects)))
        with self.db.read() as conn:
            return {"work_orders": [self._order_json(conn, r) for r in conn.execute(query).all()]}

    def work_order(
        self, order_id: str, *, team: str | None = None, defects: frozenset[str] | None = None
    ) -> dict[str, Any]:
        """One order; NotFound also when it is not ``team``'s or not of ``defects``."""
        with self.db.read() as conn:
            row = conn.execute(
                select(road_work_orders).where(road_work_orders.c.id == order_id)
            ).first()
            if (
                row is None
                or (team is not None and row.team != team)
                or (defects is not None and row.defect not in defects)
            ):
                raise NotFound(f"no work order {order_id}")
            return self._order_json(conn, row)

    def findings(self, scope: str | None, *, after: int = 0, limit: int = 500) -> dict[str, Any]:
        """Findings with id > ``after`` a department of ``scope`` may read (None: all), each
        with its log index and the digests of the observations its evidence covers."""
        allowed = self._scope(scope)
        t = road_findings.c
        query = select(road_findings).where(t.id > after).order_by(t.id).limit(limit)
        if allowed is not None:
            query = query.where(t.defect.in_(sorted(allowed)))
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            out = []
            for f in rows:
                item = _finding_json(f, self.zone.number)
                item["evidence_observations"] = self._evidence_of(conn, f)
                out.append(item)
        return {"findings": out, "next": rows[-1].id if rows else after}

    def _evidence_of(self, conn: Connection, f: Any) -> list[dict[str, Any]]:
        """The observations a finding's evidence digest covers, each with its payload (the
        JSON it was signed as) and digest: SHA-256 of the context and the payload's RFC 8785
        bytes (``Observation.signing_bytes``), so a reader can recompute both digests."""
        t = road_observations.c
        keys = [(str(d), int(q)) for d, q in f.evidence_keys]
        rows: list[Any] = []
        for i in range(0, len(keys), _CHUNK):
            rows.extend(
                conn.execute(
                    select(road_observations).where(
                        tuple_(t.device_id, t.seq).in_(keys[i : i + _CHUNK])
                    )
                ).all()
            )
        rows.sort(key=lambda o: bytes(o.digest))
        return [
            {**_observation_json(o, masked=False), "payload": _accepted(o).observation.payload()}
            for o in rows
        ]

    def feed(self, scope: str | None, *, after: int = -1, limit: int = 500) -> dict[str, Any]:
        """The node's log entries after index ``after`` that a department of ``scope`` may read:
        findings of its types, cleared cells and work-order events of its types."""
        allowed = self._scope(scope)
        start = after + 1
        try:
            page = self.translog.entries(start, start + limit)
        except NotFound:
            return {"entries": [], "next": after}
        entries = []
        for item in page["entries"]:
            entry = item["entry"]
            if not str(entry.get("kind", "")).startswith("road."):
                continue
            defects = {entry["defect"]} if "defect" in entry else set(entry.get("defects", ()))
            if allowed is not None and defects and not defects & allowed:
                continue
            entries.append(item)
        last = page["entries"][-1]["index"] if page["entries"] else after
        return {"entries": entries, "next": last}

    def scope_defects(self, scope: str) -> frozenset[str] | None:
        """The defect types a department of ``scope`` may read (None: all); Forbidden when the
        scope is no department."""
        return self._scope(scope)

    def network_json(self) -> dict[str, Any]:
        """The district's roads, centre lines in the zone's metres, for the map."""
        if self._network_json is None:
            self._network_json = {
                "district": self.network.district,
                "name": self.network.name,
                "synthetic": self.network.synthetic,
                "crs": f"EPSG:{self.zone.epsg}",
                "zone": self.zone.number,
                "roads": [
                    {
                        "id": road.id,
                        "name": road.name,
                        "team": road.team,
                        "width_m": road.width_m,
                        "points": [
                            [round(x, 2), round(y, 2)]
                            for x, y in (self.zone.project(lon, lat) for lon, lat in road.points)
                        ],
                    }
                    for road in self.network.roads
                ],
            }
        return self._network_json

    def ruleset_json(self) -> dict[str, Any]:
        """The rule set in force, as data: what confirms, each type's colours, deadlines."""
        rs = self.ruleset
        c = rs.confirmation
        colours: dict[str, dict[str, str]] = {}
        for (defect, severity), colour in sorted(rs.colours.items()):
            colours.setdefault(defect, {})[severity.label] = colour.label
        return {
            "id": rs.id,
            "version": rs.version,
            "ref": rs.ref,
            "defects": rs.catalogue.version,
            "description_zh": rs.description_zh,
            "description_en": rs.description_en,
            "confirmation": {
                "min_devices": c.min_devices,
                "window_hours": c.window.total_seconds() / 3600,
                "min_confidence": c.min_confidence,
                "trusted_min_confidence": c.trusted_min_confidence,
                "lookback_days": c.lookback.days,
            },
            "colours": colours,
            "deadline_hours": {s.label: d.total_seconds() / 3600 for s, d in rs.deadlines.items()},
            "max_escalation": rs.max_escalation,
        }

    def _scope(self, scope: str | None) -> frozenset[str] | None:
        if scope is None:
            return None
        if scope not in self.departments:
            raise Forbidden("this credential's scope is not a department")
        return self.departments[scope]

    def dashboard(self) -> dict[str, Any]:
        """The district's figures: cells by colour, orders by status, and the times from the
        first observation to the confirmed finding and to the repair (median and mean, hours)."""
        with self.db.read() as conn:
            colours: dict[int, int] = dict(
                conn.execute(
                    select(road_cells.c.colour, func.count()).group_by(road_cells.c.colour)
                ).all()
            )
            statuses: dict[str, int] = dict(
                conn.execute(
                    select(road_work_orders.c.status, func.count()).group_by(
                        road_work_orders.c.status
                    )
                ).all()
            )
            found = conn.execute(
                select(road_findings.c.first_seen_at, road_findings.c.confirmed_at)
            ).all()
            repaired = conn.execute(
                select(road_work_orders.c.first_observed_at, road_work_orders.c.repaired_at).where(
                    road_work_orders.c.repaired_at.is_not(None)
                )
            ).all()
        return {
            "district": self.network.district,
            "ruleset": self.ruleset.ref,
            "cells": {"red": colours.get(2, 0), "yellow": colours.get(1, 0)},
            "work_orders": {s.value: statuses.get(s.value, 0) for s in wo.Status},
            "findings": len(found),
            "to_confirmation_hours": _hours([b - a for a, b in found]),
            "to_repair_hours": _hours([b - a for a, b in repaired]),
        }


def accept_row(
    item: Observation, signer: RegisteredDevice | None, catalogue: Any
) -> AcceptedObservation:
    """``observations.accept`` for a row of a batch whose signature was checked once for the
    whole batch: the signer's rows are signed (and trusted if it is), a phone's are neither."""
    if signer is None:
        return accept(item, None, None, catalogue)
    item.check_against(catalogue)
    return AcceptedObservation(item, signer.owner_kind, signed=True, trusted=signer.trusted)


def _accepted(row: Any) -> AcceptedObservation:
    obs = Observation(
        device_id=row.device_id,
        seq=row.seq,
        observed_at=row.observed_at,
        lon=row.lon,
        lat=row.lat,
        heading_deg=row.heading_deg,
        speed_mps=row.speed_mps,
        defect=row.defect,
        severity=None if row.severity is None else Severity(row.severity),
        confidence=row.confidence,
        image_sha256=row.image_sha256,
        datum=row.datum,
    )
    return AcceptedObservation(
        obs, OwnerKind(row.owner_kind), signed=row.signed, trusted=row.trusted
    )


def _post_repair_detections(
    fresh: list[_Row], orders: Mapping[str, wo.WorkOrder], ruleset: RoadRuleSet
) -> dict[str, set[tuple[int, int]]]:
    """Cells of repaired orders in which a trusted vehicle of this batch still saw the defect
    after the repair: those orders reopen."""
    out: dict[str, set[tuple[int, int]]] = {}
    for order in orders.values():
        if order.status is not wo.Status.REPAIRED:
            continue
        repaired_at = order.events[-1].at
        cells = {(c.easting, c.northing) for c in order.cells}
        for r in fresh:
            item = r.item
            if (
                isinstance(item, Observation)
                and item.defect is not None
                and r.trusted
                and item.confidence >= ruleset.confirmation.trusted_min_confidence
                and item.observed_at > repaired_at
                and (r.e, r.n) in cells
            ):
                out.setdefault(order.id, set()).add((r.e, r.n))
    return out


def _clusters(cells: set[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """8-connected clusters, each sorted, in order of their first cell."""
    left = set(cells)
    out = []
    for start in sorted(cells):
        if start not in left:
            continue
        left.discard(start)
        stack, cluster = [start], []
        while stack:
            e, n = stack.pop()
            cluster.append((e, n))
            for de in (-1, 0, 1):
                for dn in (-1, 0, 1):
                    nb = (e + de, n + dn)
                    if nb in left:
                        left.discard(nb)
                        stack.append(nb)
        out.append(sorted(cluster))
    return out


_OBSERVATION_COLUMNS = (
    "device_id", "seq", "e", "n", "observed_at", "kind", "defect", "severity", "confidence",
    "magnitude_g", "lon", "lat", "datum", "heading_deg", "speed_mps", "image_sha256",
    "owner_kind", "signed", "trusted", "digest", "received_at",
)  # fmt: skip
assert set(_OBSERVATION_COLUMNS) == {c.name for c in road_observations.columns}


def _identity(value: Any) -> Any:
    return value


@functools.cache
def _bind_processors(dialect: Any) -> dict[str, Callable[[Any], Any]]:
    """Each column's bind conversion on ``dialect`` (the identity where it has none)."""
    out: dict[str, Callable[[Any], Any]] = {}
    for name in _OBSERVATION_COLUMNS:
        convert = road_observations.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        out[name] = _identity if convert is None else convert
    return out


@functools.cache
def _award_candidates(count: int) -> Any:
    """The query of the points' candidates of ``count`` findings (``RoadService._award``),
    built once per count: parameters e{k}_{j}, n{k}_lo/hi, t{k}_lo/hi of the k-th finding."""
    t = road_observations.c
    r = POINTS_RADIUS_M
    windows = [
        and_(
            # e by equality (one index range per column of cells), n by range
            t.e.in_([bindparam(f"e{k}_{j}") for j in range(2 * r + 1)]),
            t.n.between(bindparam(f"n{k}_lo"), bindparam(f"n{k}_hi")),
            t.observed_at <= bindparam(f"t{k}_hi"),
            t.observed_at >= bindparam(f"t{k}_lo"),
        )
        for k in range(count)
    ]
    return (
        select(t.device_id, t.e, t.n, t.observed_at)
        .where(
            t.owner_kind == OwnerKind.CITIZEN.value,
            or_(*windows),
            or_(t.kind == "bump", t.kind == "detection"),
        )
        .order_by(t.observed_at, t.device_id, t.seq)
    )


def _inserted(result: Any) -> int:
    return int(result.scalar_one())


def _finding_json(f: Any, zone: int) -> dict[str, Any]:
    return {
        "id": f.id,
        "cell": str(CellId(zone, f.e, f.n)),
        "defect": f.defect,
        "severity": Severity(f.severity).label,
        "colour": Colour(f.colour).label,
        "first_seen_at": f.first_seen_at.isoformat(),
        "confirmed_at": f.confirmed_at.isoformat(),
        "cleared_at": None if f.cleared_at is None else f.cleared_at.isoformat(),
        "trusted": f.trusted,
        "devices": f.devices,
        "observations": f.observations,
        "evidence": bytes(f.evidence).hex(),
        "ruleset": f.ruleset,
        "work_order": f.work_order,
        "log_index": f.log_index,
    }


def _observation_json(o: Any, *, masked: bool = True) -> dict[str, Any]:
    """An observation as served; ``masked``: a phone is "citizen", never its id."""
    citizen = o.owner_kind == OwnerKind.CITIZEN.value
    return {
        "device_id": "citizen" if masked and citizen else o.device_id,
        "seq": o.seq,
        "observed_at": o.observed_at.isoformat(),
        "kind": o.kind,
        "defect": o.defect,
        "severity": None if o.severity is None else Severity(o.severity).label,
        "confidence": o.confidence,
        "owner_kind": o.owner_kind,
        "trusted": o.trusted,
        "image_sha256": o.image_sha256,
        "digest": bytes(o.digest).hex(),
    }


def _hours(spans: list[Any]) -> dict[str, float | int | None]:
    if not spans:
        return {"n": 0, "median": None, "mean": None}
    hours = sorted(s.total_seconds() / 3600 for s in spans)
    mid = len(hours) // 2
    median = hours[mid] if len(hours) % 2 else (hours[mid - 1] + hours[mid]) / 2
    return {"n": len(hours), "median": round(median, 2), "mean": round(sum(hours) / len(hours), 2)}


def load_departments(data: Mapping[str, Any]) -> dict[str, frozenset[str] | None]:
    """The departments' read scopes (``road/data/departments-*.json``)."""
    if data.get("format") != "ymt-road-departments/1":
        raise InvalidInput("format must be ymt-road-departments/1", field="format")
    out: dict[str, frozenset[str] | None] = {}
    for name, spec in data["departments"].items():
        defects = spec["defects"]
        out[name] = None if defects == "*" else frozenset(str(d) for d in defects)
    return out


def load_builtin_departments(version: str = "2026.1") -> dict[str, frozenset[str] | None]:
    text = (
        resources.files("yimatong.road")
        .joinpath("data")
        .joinpath(f"departments-{version}.json")
        .read_text(encoding="utf-8")
    )
    return load_departments(orjson.loads(text))
