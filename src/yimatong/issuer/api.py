"""The issuer node's HTTP routes (DESIGN §6.1): parse, call the use case, return.

No business logic here. Errors raised by the services become problem details in
``web_common``. The 验码 route reads its body raw with orjson: it is the hot path.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from yimatong.credentials import Caller
from yimatong.domain.errors import Forbidden, InvalidInput, Unauthorized
from yimatong.domain.facts import RiskLevel
from yimatong.domain.token import CodeKind
from yimatong.edge_types import Area, Cursor, Id, Line, Name, Prose, Sid, Time
from yimatong.issuer.overrides import OverrideSubject
from yimatong.issuer.services import IssuerService, TravelLeg
from yimatong.web_common import ORJSONResponse, client_address, json_body, problem_responses

__all__ = ["issuer_router"]

SID = Annotated[Sid, Field(description="subject pseudonym")]
AREA = Annotated[Area, Field(description="GB/T 2260 region or 9-digit township code")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OtpRequest(Strict):
    phone: str = Field(max_length=20)


class SessionRequest(Strict):
    phone: str = Field(max_length=20)
    otp: str = Field(max_length=10)


class Relative(Strict):
    relationship: Line = Field(min_length=1, max_length=32, examples=["父亲", "mother"])


class ApplicationRequest(Strict):
    name: Name = Field(min_length=1, max_length=64)
    id_type: str = Field(max_length=4, examples=["111"])
    id_number: Line = Field(min_length=1, max_length=32)
    phone: str | None = Field(default=None, max_length=20)
    address: Line | None = Field(default=None, max_length=200)
    for_relative: Relative | None = None


class LinkCode(Strict):
    code: str = Field(min_length=1, max_length=10)


class Grants(Strict):
    itinerary: bool = False
    tests: bool = False


class InPersonRequest(Strict):
    id_type: str = Field(max_length=4, examples=["111"])
    id_number: str = Field(min_length=1, max_length=32)
    purpose: str = Field(min_length=1, max_length=200)
    grants: Grants = Field(default_factory=Grants)


class GrantsRequest(Grants):
    purpose: str | None = Field(default=None, max_length=200)


class Leg(Strict):
    area: AREA
    from_: Time = Field(alias="from")
    to: Time | None = None

    def leg(self) -> TravelLeg:
        return TravelLeg(area=self.area, arrived=self.from_, left=self.to)


class DeclarationRequest(Strict):
    subject: SID
    temperature: float | None = Field(default=None, ge=30, le=45)
    symptoms: list[Annotated[Line, Field(max_length=40)]] = Field(
        default_factory=list, max_length=20
    )
    travel: list[Leg] = Field(default_factory=list, max_length=100)
    contact: bool = False
    residence: AREA | None = None


class ItineraryRequest(Strict):
    subject: SID
    region: AREA
    from_: Time = Field(alias="from")
    to: Time | None = None


class CodeRequest(Strict):
    subject: SID
    kind: Literal["dynamic", "printed"] = "dynamic"


class TravelCodeRequest(Strict):
    subject: SID


class VerifyRequest(Strict):
    code: str = Field(max_length=2560)
    temperature: float | None = Field(default=None, ge=30, le=45)
    checkpoint: Line | None = Field(default=None, max_length=100)


class CorrectionRequest(Strict):
    subject: SID
    kind: Literal["itinerary", "override", "other"]
    target_id: Id | None = Field(
        default=None, description="the stay (itinerary) or the manual colour (override) disputed"
    )
    statement: Prose = Field(min_length=1, max_length=2000)


class DecisionRequest(Strict):
    accept: bool
    note: Prose = Field(min_length=1, max_length=2000)


class OverrideFact(Strict):
    kind: Line = Field(min_length=1, max_length=32, examples=["contact"])
    seq: Id = Field(description="the hub feed seq of the recorded fact (a case, contact, ...)")


class OverridePerson(Strict):
    subject: SID
    fact: OverrideFact


class OverrideRequest(Strict):
    colour: Literal["green", "yellow", "red"]
    reason: Line = Field(min_length=1, max_length=32, examples=["case_linked"])
    note: Prose = Field(min_length=1, max_length=500)
    expires_at: Time
    subjects: list[OverridePerson] = Field(min_length=1, max_length=5000)


class RefusalRequest(Strict):
    note: Prose = Field(min_length=1, max_length=500)


class HubApprovalRequest(Strict):
    approval: dict[str, Any] = Field(description="the hub's signed override-approval document")


class RiskAreaRequest(Strict):
    level: Literal["low", "medium", "high"]
    from_: Time = Field(alias="from")
    to: Time | None = None


def caller_of(request: Request) -> Caller:
    caller: Caller | None = request.state.caller
    if caller is None:
        raise Unauthorized("sign in first")
    return caller


def issuer_router(service: IssuerService) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse)

    # 验码 first: routes are matched in order, and this is the one a checkpoint calls.
    @r.post(
        "/v1/codes/verify",
        tags=["checkpoint"],
        summary="验码: verify a code; answers the current colour and a masked identity",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": VerifyRequest.model_json_schema()}},
            }
        },
    )
    async def verify(request: Request) -> Response:
        caller = caller_of(request)
        if caller.role not in ("checkpoint", "staff", "admin", "node"):
            raise Forbidden("this needs one of the roles: checkpoint, staff, admin, node")
        body = await json_body(request)
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, str) or not code or len(code) > 2560:
            raise InvalidInput("code must be a string of at most 2560 characters", field="code")
        if caller.role in ("checkpoint", "node"):
            # The hot path: a checkpoint's read is accounted for by its scan, and the hub's
            # (Mode 2) is audited at the hub, which knows who asked it.
            return ORJSONResponse(await run_in_threadpool(service.verify, code))
        where = body.get("checkpoint")
        purpose = f"验码 at {where}"[:200] if isinstance(where, str) and where.strip() else None
        answer = await run_in_threadpool(
            partial(service.verify, code, reader=caller, purpose=purpose)
        )
        return ORJSONResponse(answer)

    @r.post(
        "/v1/auth/otp",
        status_code=202,
        tags=["sign-in"],
        summary="Send a one-time code",
        responses=problem_responses(429),
    )
    def send_otp(body: OtpRequest, request: Request) -> dict[str, Any]:
        service.request_otp(body.phone, client=client_address(request))
        return {"sent": True, "expires_in": int(service.phonebook.policy.ttl.total_seconds())}

    @r.post(
        "/v1/auth/session",
        tags=["sign-in"],
        summary="Exchange phone + one-time code for a token",
        responses={429: {"description": "Too many sign-in attempts from this address"}},
    )
    def open_session(body: SessionRequest, request: Request) -> dict[str, Any]:
        token, expires = service.open_session(body.phone, body.otp, client=client_address(request))
        return {"token": token, "token_type": "Bearer", "expires_at": expires}

    @r.post(
        "/v1/applications",
        status_code=201,
        tags=["citizen"],
        summary="健康码调用申请: apply for a code, for yourself or a relative (代办)",
        responses={
            **problem_responses(409),
            202: {
                "description": "the person already has a record: a pending link request, "
                "completed with the code sent to their phone on record or by staff in person"
            },
        },
    )
    def apply(body: ApplicationRequest, request: Request, response: Response) -> dict[str, Any]:
        answer = service.apply(
            caller_of(request),
            name=body.name,
            id_type=body.id_type,
            id_number=body.id_number,
            phone=body.phone,
            address=body.address,
            relationship=body.for_relative.relationship if body.for_relative else None,
        )
        if answer["status"] == "pending":
            response.status_code = 202  # someone's record already: linked once they consent
        return answer

    @r.get("/v1/subjects", tags=["citizen"], summary="The people on your account")
    def my_subjects(request: Request) -> list[dict[str, Any]]:
        return service.my_subjects(caller_of(request))

    @r.get("/v1/link-requests", tags=["citizen"], summary="Your pending link requests")
    def my_link_requests(request: Request) -> list[dict[str, Any]]:
        return service.link_requests(caller_of(request))

    @r.post(
        "/v1/link-requests/{request_id}/confirm",
        tags=["citizen"],
        summary="Complete a link with the code the person was sent",
    )
    def confirm_link(request_id: Id, body: LinkCode, request: Request) -> dict[str, Any]:
        return service.confirm_link(caller_of(request), request_id, body.code)

    @r.delete(
        "/v1/link-requests/{request_id}",
        status_code=204,
        tags=["citizen"],
        summary="Withdraw your pending link request",
    )
    def withdraw_link_request(request_id: Id, request: Request) -> Response:
        service.withdraw_link_request(caller_of(request), request_id)
        return Response(status_code=204)

    @r.post(
        "/v1/link-requests/{request_id}/in-person",
        tags=["staff"],
        summary="Staff confirm a link in person, having seen the document (audited)",
    )
    def confirm_in_person(
        request_id: Id, body: InPersonRequest, request: Request
    ) -> dict[str, Any]:
        return service.confirm_in_person(
            caller_of(request),
            request_id,
            id_type=body.id_type,
            id_number=body.id_number,
            purpose=body.purpose,
            itinerary=body.grants.itinerary,
            tests=body.grants.tests,
        )

    @r.get(
        "/v1/subjects/{sid}/proxies",
        tags=["citizen", "staff"],
        summary="Every other account linked to a person: theirs to see, or staff (audited)",
    )
    def proxies(
        sid: SID,
        request: Request,
        purpose: Annotated[Line | None, Query(max_length=200)] = None,
        x_purpose: Annotated[Line | None, Header(max_length=200)] = None,
    ) -> list[dict[str, Any]]:
        return service.proxies(caller_of(request), sid, purpose=purpose or x_purpose)

    @r.delete(
        "/v1/subjects/{sid}/proxies/{account}",
        status_code=204,
        tags=["citizen", "staff"],
        summary="Remove a proxy: the person, the proxy itself, or staff (audited)",
    )
    def remove_proxy(
        sid: SID,
        account: Id,
        request: Request,
        purpose: Annotated[Line | None, Query(max_length=200)] = None,
        x_purpose: Annotated[Line | None, Header(max_length=200)] = None,
    ) -> Response:
        service.remove_proxy(caller_of(request), sid, account, purpose=purpose or x_purpose)
        return Response(status_code=204)

    @r.put(
        "/v1/subjects/{sid}/proxies/{account}/grants",
        tags=["citizen", "staff"],
        summary="Let a proxy see the itinerary and/or test history (the person, or staff)",
    )
    def set_grants(sid: SID, account: Id, body: GrantsRequest, request: Request) -> dict[str, Any]:
        return service.set_grants(
            caller_of(request),
            sid,
            account,
            itinerary=body.itinerary,
            tests=body.tests,
            purpose=body.purpose,
        )

    @r.post(
        "/v1/declarations",
        status_code=201,
        tags=["citizen"],
        summary="用户健康信息申报: declare health and travel; returns the new assessment",
        responses=problem_responses(404),
    )
    def declare(body: DeclarationRequest, request: Request) -> dict[str, Any]:
        return service.declare(
            caller_of(request),
            body.subject,
            temperature=body.temperature,
            symptoms=body.symptoms,
            travel=[leg.leg() for leg in body.travel],
            contact_with_case=body.contact,
            residence=body.residence,
        )

    @r.post(
        "/v1/itineraries",
        status_code=201,
        tags=["citizen"],
        summary="用户行程申报: add a stay",
        responses=problem_responses(404),
    )
    def itinerary(body: ItineraryRequest, request: Request) -> dict[str, Any]:
        return service.add_itinerary(
            caller_of(request), body.subject, TravelLeg(body.region, body.from_, body.to)
        )

    @r.get(
        "/v1/subjects/{sid}/health",
        tags=["citizen", "staff"],
        summary="Health information query: colour, reasons, tests, what turns it green",
    )
    def health(
        sid: SID,
        request: Request,
        purpose: Annotated[Line | None, Query(max_length=200)] = None,
        x_purpose: Annotated[Line | None, Header(max_length=200)] = None,
    ) -> dict[str, Any]:
        return service.health(caller_of(request), sid, purpose=purpose or x_purpose)

    @r.get(
        "/v1/subjects/{sid}/travel",
        tags=["citizen", "staff"],
        summary="行程码: the cities stayed in (≥ 4 h in 14 days), starred where a risk area is now",
        responses=problem_responses(404),
    )
    def travel(
        sid: SID,
        request: Request,
        purpose: Annotated[Line | None, Query(max_length=200)] = None,
        x_purpose: Annotated[Line | None, Header(max_length=200)] = None,
    ) -> dict[str, Any]:
        return service.travel(caller_of(request), sid, purpose=purpose or x_purpose)

    @r.post(
        "/v1/travel-codes",
        status_code=201,
        tags=["citizen"],
        summary="行程码: a signed travel code (YMTT1), to show beside the health code",
        responses=problem_responses(404, 503),
    )
    def travel_code(body: TravelCodeRequest, request: Request) -> dict[str, Any]:
        return service.travel_code(caller_of(request), body.subject)

    @r.get(
        "/v1/subjects/{sid}/activity",
        tags=["citizen"],
        summary="Who checked your code, which staff read your data, other regions' summaries",
        responses=problem_responses(404),
    )
    def activity(sid: SID, request: Request) -> dict[str, Any]:
        return service.activity(caller_of(request), sid)

    @r.get(
        "/v1/subjects/{sid}/corrections",
        tags=["citizen"],
        summary="The corrections you submitted for a person, with their status",
        responses=problem_responses(404),
    )
    def my_corrections(sid: SID, request: Request) -> list[dict[str, Any]]:
        return service.my_corrections(caller_of(request), sid)

    @r.post(
        "/v1/codes",
        status_code=201,
        tags=["citizen"],
        summary="制码: generate a signed code",
        responses=problem_responses(404, 503),
    )
    def generate(body: CodeRequest, request: Request) -> dict[str, Any]:
        return service.generate_code(caller_of(request), body.subject, CodeKind(body.kind))

    @r.post(
        "/v1/corrections",
        status_code=201,
        tags=["citizen"],
        summary="纠错: dispute a record",
        responses=problem_responses(404),
    )
    def correct(body: CorrectionRequest, request: Request) -> dict[str, Any]:
        return service.submit_correction(
            caller_of(request),
            body.subject,
            kind=body.kind,
            target_id=body.target_id,
            statement=body.statement,
        )

    @r.get("/v1/corrections", tags=["staff"], summary="Pending corrections, oldest first")
    def pending(request: Request) -> list[dict[str, Any]]:
        return service.pending_corrections(caller_of(request))

    @r.get("/v1/corrections/{correction_id}", tags=["citizen", "staff"], summary="One correction")
    def get_correction(correction_id: Id, request: Request) -> dict[str, Any]:
        return service.get_correction(caller_of(request), correction_id)

    @r.post(
        "/v1/corrections/{correction_id}/decision",
        tags=["staff"],
        summary="Accept or reject a correction (accepting an itinerary one voids the record)",
        responses=problem_responses(409),
    )
    def decide(correction_id: Id, body: DecisionRequest, request: Request) -> dict[str, Any]:
        return service.decide_correction(
            caller_of(request), correction_id, accept=body.accept, note=body.note
        )

    @r.post(
        "/v1/overrides",
        status_code=201,
        tags=["overrides"],
        summary="人工赋码: ask for a manual colour (authority; another must approve)",
        responses=problem_responses(404),
    )
    def request_override(body: OverrideRequest, request: Request) -> dict[str, Any]:
        return service.request_override(
            caller_of(request),
            colour=body.colour,
            reason=body.reason,
            note=body.note,
            expires_at=body.expires_at,
            people=[OverrideSubject(p.subject, p.fact.kind, p.fact.seq) for p in body.subjects],
        )

    @r.get("/v1/overrides", tags=["overrides"], summary="Manual colours, newest first")
    def list_overrides(
        request: Request,
        status: Annotated[
            Literal["pending", "awaiting_hub", "active", "refused", "withdrawn"] | None, Query()
        ] = None,
    ) -> list[dict[str, Any]]:
        return service.list_overrides(caller_of(request), status=status)

    @r.get("/v1/overrides/{override_id}", tags=["overrides"], summary="One manual colour")
    def get_override(override_id: Id, request: Request) -> dict[str, Any]:
        return service.get_override(caller_of(request), override_id)

    @r.post(
        "/v1/overrides/{override_id}/approval",
        tags=["overrides"],
        summary="Approve a manual colour (a second member of the authority)",
        responses=problem_responses(409),
    )
    def approve_override(override_id: Id, request: Request) -> dict[str, Any]:
        return service.approve_override(caller_of(request), override_id)

    @r.post(
        "/v1/overrides/{override_id}/refusal",
        tags=["overrides"],
        summary="Refuse (or, by the one who asked, withdraw) a manual colour",
        responses=problem_responses(409),
    )
    def refuse_override(override_id: Id, body: RefusalRequest, request: Request) -> dict[str, Any]:
        return service.refuse_override(caller_of(request), override_id, note=body.note)

    @r.post(
        "/v1/overrides/{override_id}/hub-approval",
        tags=["overrides"],
        summary="The hub's signed approval of a manual colour above the hourly limit",
        responses=problem_responses(409, 503),
    )
    def hub_approval(override_id: Id, body: HubApprovalRequest, request: Request) -> dict[str, Any]:
        return service.hub_approval(caller_of(request), override_id, body.approval)

    @r.get("/v1/keys", tags=["codes"], summary="This issuer's public keys with their windows")
    def public_keys() -> dict[str, Any]:
        return service.public_keys()

    @r.get("/v1/risk-areas", tags=["risk areas"], summary="Risk-area periods since a version")
    def risk_areas(since: Annotated[Cursor, Query()] = 0) -> dict[str, Any]:
        return service.risk_areas(since)

    @r.put(
        "/v1/risk-areas/{code}", tags=["risk areas"], summary="Set an area's risk level (authority)"
    )
    def set_risk(code: AREA, body: RiskAreaRequest, request: Request) -> dict[str, Any]:
        return service.set_risk_area(
            caller_of(request), code, level=RiskLevel(body.level), start=body.from_, end=body.to
        )

    return r
