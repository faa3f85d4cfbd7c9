"""Routes of the hub's national data: risk areas, facts, labs and results, the feed, scans.

Parse, call the use case (``hub.data``, ``hub.data_risk``, ``hub.labs``), return. The lab
upload reads its body raw with orjson: the signature is over the rows exactly as sent, and
20,000 rows are parsed faster without a model per row.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from yimatong.domain.facts import RiskLevel
from yimatong.edge_types import Area, Cursor, Line, Region, Sid, Time
from yimatong.hub.context import HubContext
from yimatong.hub.data import (
    MAX_FACTS,
    MAX_FEED_PAGE,
    MAX_SCANS,
    MAX_SIDS,
    Fact,
    NationalData,
    Scan,
    Summary,
)
from yimatong.hub.data_risk import MAX_BATCH, RiskAreas, RiskChange
from yimatong.hub.departments import DEPARTMENT_KINDS, MAX_RECORDS, Departments
from yimatong.hub.labs import MAX_RESULTS, Labs
from yimatong.hub.lookup import SubjectLookup
from yimatong.hub.tracing import ContactTracing
from yimatong.issuer.api import caller_of
from yimatong.web_common import ORJSONResponse, json_body, problem_responses, signed_list_response

__all__ = ["router"]

SID = Annotated[Sid, Field(description="subject pseudonym")]
AREA = Annotated[Area, Field(description="GB/T 2260 region or 9-digit township code")]
LEVEL = Literal["low", "medium", "high"]
CLIENT_ID = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RiskAreaRequest(Strict):
    level: LEVEL
    from_: Time = Field(alias="from")
    to: Time | None = None


class RiskBatchItem(RiskAreaRequest):
    area: AREA


class RiskBatchRequest(Strict):
    changes: list[RiskBatchItem] = Field(min_length=1, max_length=MAX_BATCH)
    note: Line | None = Field(default=None, max_length=200)


class FactItem(Strict):
    subject: SID | None = None
    id_type: str | None = Field(default=None, max_length=4, examples=["111"])
    id_number: Line | None = Field(default=None, min_length=1, max_length=32)
    kind: Literal["case", "contact", "quarantine"]
    status: Literal["confirmed", "suspected", "asymptomatic", "recovered"] | None = None
    since: Time | None = None
    contact_kind: Literal["close", "secondary"] | None = None
    last_exposure: Time | None = None
    start: Time | None = None
    end: Time | None = None
    quarantine_kind: Literal["central", "home"] | None = None
    id: CLIENT_ID | None = Field(
        default=None, description="optional client id: the same fact sent again lands once"
    )


class FactsRequest(Strict):
    facts: list[FactItem] = Field(min_length=1, max_length=MAX_FACTS)


class LabRequest(Strict):
    lab_id: str = Field(min_length=1, max_length=32, examples=["zj-kingmed-01"])
    name: Line = Field(min_length=1, max_length=100)
    region: Region
    public_key: str = Field(max_length=2000, description="base64 DER SubjectPublicKeyInfo")


class DepartmentRequest(Strict):
    department_id: str = Field(min_length=1, max_length=32, examples=["zj-rail-01"])
    kind: Literal[DEPARTMENT_KINDS]  # type: ignore[valid-type]
    name: Line = Field(min_length=1, max_length=100)
    region: Region
    public_key: str = Field(max_length=2000, description="base64 DER SubjectPublicKeyInfo")


class DepartmentRecordsRequest(BaseModel):
    """Documentation only: the route reads the body raw (the signature covers it as sent)."""

    department_id: str
    batch_id: str = Field(max_length=64)
    kind: Literal["identity", "rail", "aviation", "telecom"]
    records: list[dict[str, Any]] = Field(max_length=MAX_RECORDS)
    signature: str = Field(
        description="base64url signature by the department key over canonical "
        '{"department_id", "batch_id", "kind", "records"} (RFC 8785 JCS)'
    )


class ResultItem(Strict):
    subject: SID | None = None
    id_type: str | None = None
    id_number: str | None = None
    sampled_at: Time
    reported_at: Time
    result: Literal["negative", "positive"]


class ResultsRequest(Strict):
    """Documentation only: the route reads the body raw (the signature covers it as sent)."""

    lab_id: str
    batch_id: str = Field(max_length=64)
    results: list[ResultItem] = Field(max_length=MAX_RESULTS)
    signature: str = Field(
        description='base64url signature by the lab key over canonical {"lab_id", "batch_id", '
        '"results"} (RFC 8785 JCS: keys sorted, no whitespace)'
    )


class RegisterRequest(Strict):
    sids: list[SID] = Field(max_length=MAX_SIDS)


class SummaryItem(Strict):
    sid: SID
    colour: Literal["green", "yellow", "red"]
    reasons: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)
    colour_since: Time | None = None
    assessed_at: Time


class SummariesRequest(Strict):
    summaries: list[SummaryItem] = Field(min_length=1, max_length=MAX_SIDS)


class ScanItem(Strict):
    id: CLIENT_ID
    sid: SID
    at: Time
    area: AREA
    decision: Literal["PASS", "DENY", "CHECK"]
    temperature: float | None = Field(default=None, ge=30, le=45)
    checkpoint: Line = Field(min_length=1, max_length=100)


class TracingRequest(Strict):
    subject: SID | None = Field(default=None, description="the case's pseudonym")
    id_type: str | None = Field(default=None, max_length=4, examples=["111"])
    id_number: Line | None = Field(default=None, min_length=1, max_length=32)
    purpose: Line = Field(min_length=1, max_length=200, examples=["流调 2026-12-03 杭州 病例 7"])
    from_: Time | None = Field(default=None, alias="from")
    to: Time | None = None
    window_minutes: int | None = Field(default=None, ge=1, le=240)
    seat_rows: int | None = Field(
        default=None, ge=0, le=30, description="seat rows either side that make a co-traveller"
    )
    identify: bool = Field(default=True, description="masked identities of the best 50")


class ScansRequest(Strict):
    scans: list[ScanItem] = Field(min_length=1, max_length=MAX_SCANS)


def router(ctx: HubContext) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse)
    risk = RiskAreas(ctx)
    data = NationalData(ctx)
    lab_registry = Labs(ctx)
    department_registry = Departments(ctx)

    # ------------------------------------------------------------------ risk areas
    @r.get(
        "/v1/risk-areas",
        tags=["risk areas"],
        summary="The national risk-area list, signed by the hub (deltas since a version, ETag)",
    )
    def risk_areas(
        since: Annotated[Cursor, Query()] = 0,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        return signed_list_response(
            if_none_match=if_none_match,
            version=risk.version(),
            etag=lambda v: _risk_etag(v, since),
            build=lambda: risk.signed_list(since),
        )

    @r.put(
        "/v1/risk-areas/{code}",
        tags=["risk areas"],
        summary="Set an area's risk level from a time (health authority, within its scope)",
    )
    def set_risk(code: AREA, body: RiskAreaRequest, request: Request) -> dict[str, Any]:
        return risk.set_area(
            caller_of(request), code, level=RiskLevel(body.level), start=body.from_, end=body.to
        )

    @r.post(
        "/v1/risk-areas/batch",
        tags=["risk areas"],
        summary="Change many areas in one action and one version (health authority)",
    )
    def set_risk_batch(body: RiskBatchRequest, request: Request) -> dict[str, Any]:
        changes = [RiskChange(c.area, RiskLevel(c.level), c.from_, c.to) for c in body.changes]
        return risk.set_many(caller_of(request), changes, body.note)

    # ------------------------------------------------------------- cases, contacts
    @r.post(
        "/v1/facts",
        tags=["national data"],
        summary="Cases, contacts and quarantine orders (health authority), by sid or document",
    )
    def post_facts(body: FactsRequest, request: Request) -> dict[str, Any]:
        facts = [Fact(**item.model_dump()) for item in body.facts]
        return data.add_facts(caller_of(request), facts)

    @r.get(
        "/v1/facts/{seq}/provenance",
        tags=["national data"],
        summary="Who recorded a fact of the feed, and its batch's entry in the hub's log",
        responses=problem_responses(404),
    )
    def fact_provenance(seq: Cursor, request: Request) -> dict[str, Any]:
        return data.fact_provenance(caller_of(request), seq)

    # ------------------------------------------------------------- labs, results
    @r.post(
        "/v1/labs",
        status_code=201,
        tags=["labs"],
        summary="Register a lab (hub admin)",
        responses=problem_responses(409),
    )
    def post_lab(body: LabRequest, request: Request) -> dict[str, Any]:
        return lab_registry.register(
            caller_of(request),
            lab_id=body.lab_id,
            name=body.name,
            region=body.region,
            public_key=body.public_key,
        )

    @r.get("/v1/labs", tags=["labs"], summary="The registered labs and their keys (hub admin)")
    def get_labs(request: Request) -> dict[str, Any]:
        return {"labs": lab_registry.registered(caller_of(request))}

    @r.post(
        "/v1/test-results",
        tags=["labs"],
        summary="Upload a signed batch of nucleic-acid results (lab); a repeated batch_id is "
        "acknowledged as a duplicate",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ResultsRequest.model_json_schema()}},
            }
        },
        responses=problem_responses(409),
    )
    async def post_results(request: Request) -> Response:
        caller = caller_of(request)
        body = await json_body(request)
        result = await run_in_threadpool(lab_registry.upload, caller, body)
        return ORJSONResponse(result)

    # ------------------------------------------------------------- departments
    @r.post(
        "/v1/departments",
        status_code=201,
        tags=["departments"],
        summary="Register a department: police, rail, aviation or telecom (hub admin)",
        responses=problem_responses(409),
    )
    def post_department(body: DepartmentRequest, request: Request) -> dict[str, Any]:
        return department_registry.register(
            caller_of(request),
            department_id=body.department_id,
            kind=body.kind,
            name=body.name,
            region=body.region,
            public_key=body.public_key,
        )

    @r.get(
        "/v1/departments",
        tags=["departments"],
        summary="The registered departments and their keys (hub admin)",
    )
    def get_departments(request: Request) -> dict[str, Any]:
        return {"departments": department_registry.registered(caller_of(request))}

    @r.post(
        "/v1/department-records",
        tags=["departments"],
        summary="Upload a signed batch of a department's records (identity checks, manifests, "
        "telecom stays); bad rows are reported, the rest stored; a batch is taken once",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": DepartmentRecordsRequest.model_json_schema()}
                },
            }
        },
        responses=problem_responses(409),
    )
    async def post_department_records(request: Request) -> Response:
        caller = caller_of(request)
        body = await json_body(request)
        result = await run_in_threadpool(department_registry.upload, caller, body)
        return ORJSONResponse(result)

    # ----------------------------------------------------------- issuers: Mode 1
    @r.post(
        "/v1/subjects/register",
        tags=["federation"],
        summary="An issuer node holds these subjects: the feed sends it their rows",
    )
    def register(body: RegisterRequest, request: Request) -> dict[str, Any]:
        return data.register_subjects(caller_of(request), body.sids)

    @r.post(
        "/v1/summaries",
        tags=["federation"],
        summary="Mode 1: share the colour summaries of this node's subjects",
    )
    def post_summaries(body: SummariesRequest, request: Request) -> dict[str, Any]:
        summaries = [
            Summary(s.sid, s.colour, tuple(s.reasons), s.colour_since, s.assessed_at)
            for s in body.summaries
        ]
        return data.add_summaries(caller_of(request), summaries)

    @r.get(
        "/v1/feed",
        tags=["federation"],
        summary="Rows about this node's subjects after a seq (facts, tests, summaries, scans)",
    )
    def feed(
        request: Request,
        since: Annotated[Cursor, Query()] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_FEED_PAGE)] = 1000,
    ) -> dict[str, Any]:
        return data.feed(caller_of(request), since, limit)

    @r.get(
        "/v1/subjects/{sid}/facts",
        tags=["federation"],
        summary="A registered subject's cases, contacts and quarantine orders",
    )
    def subject_facts(sid: SID, request: Request) -> dict[str, Any]:
        return data.subject_rows(caller_of(request), sid, "facts")

    @r.get(
        "/v1/subjects/{sid}/test-results",
        tags=["federation"],
        summary="A registered subject's test results from every lab",
    )
    def subject_results(sid: SID, request: Request) -> dict[str, Any]:
        return data.subject_rows(caller_of(request), sid, "test-results")

    @r.get(
        "/v1/subjects/{sid}/summary",
        tags=["federation"],
        summary="Mode 1: the latest colour summary of a registered subject from each other region",
    )
    def subject_summary(sid: SID, request: Request) -> dict[str, Any]:
        return data.subject_rows(caller_of(request), sid, "summary")

    # --------------------------------------------------------------- checkpoints
    @r.post(
        "/v1/scans",
        tags=["checkpoints"],
        summary="A checkpoint's scans (each lands once, however often it is sent)",
    )
    def post_scans(body: ScansRequest, request: Request) -> dict[str, Any]:
        scans = [
            Scan(s.id, s.sid, s.at, s.area, s.decision, s.checkpoint, s.temperature)
            for s in body.scans
        ]
        return data.add_scans(caller_of(request), scans)

    # ------------------------------------------------------------ contact tracing
    tracing = ContactTracing(ctx, SubjectLookup(ctx))

    @r.post(
        "/v1/tracing/queries",
        tags=["tracing"],
        summary="流调: who scanned where a case did, around when, and who sat near it on a "
        "train or flight (authority; audited)",
    )
    def trace(body: TracingRequest, request: Request) -> dict[str, Any]:
        return tracing.query(
            caller_of(request),
            purpose=body.purpose,
            subject=body.subject,
            id_type=body.id_type,
            id_number=body.id_number,
            start=body.from_,
            end=body.to,
            window_minutes=body.window_minutes,
            seat_rows=body.seat_rows,
            identify=body.identify,
        )

    return r


def _risk_etag(version: int, since: int) -> str:
    return f'"risk-{version}-{since}"'
