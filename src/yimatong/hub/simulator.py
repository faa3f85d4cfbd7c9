"""The policy simulator: "would this code pass at 520000, transport, now — and why?"

An administrator or a health authority pastes a code (or types an ID number) and chooses a
region, a kind of place, a temperature and a moment; the hub answers with its own decider —
the one Mode 2 verify uses (``ctx.decider``, ``hub.policies.PolicyDecider``) — over the status
it finds for the code now: the same checks, the same reasons, the same policy that decides.

Nothing is recorded as a scan and no Mode 2 call is counted. A status read from the holder's
issuer (or from a Mode 1 summary) is a read of that person's data by someone else, so it is
audited as Mode 2 audits it (``policy.simulate``, with the caller's credential); a look-up by ID
number is audited as a checkpoint's (``lookup.id_number``, here and at the issuer) and counts
against the same per-credential limit. The answer shows the masked identity, never the sid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from yimatong.adapters.db.audit import audit
from yimatong.credentials import Caller, require_role
from yimatong.domain.edge import is_digits
from yimatong.domain.errors import InvalidInput
from yimatong.domain.regions import default_divisions
from yimatong.hub.codes import CodeService
from yimatong.hub.context import HubContext
from yimatong.hub.lookup import SubjectLookup
from yimatong.hub.policies import PolicyDecider
from yimatong.verifier.policy import NATIONAL, PLACE_KINDS

__all__ = ["PolicySimulator"]


class PolicySimulator:
    def __init__(
        self,
        ctx: HubContext,
        *,
        codes: CodeService | None = None,
        lookups: SubjectLookup | None = None,
        decider: PolicyDecider | None = None,
    ) -> None:
        self.ctx = ctx
        self.decider = decider or (
            ctx.decider if isinstance(ctx.decider, PolicyDecider) else PolicyDecider(ctx)
        )
        self.codes = codes or CodeService(ctx)
        self.lookups = lookups or SubjectLookup(ctx, self.decider)

    def close(self) -> None:
        self.codes.close()
        self.lookups.close()

    def simulate(
        self,
        caller: Caller,
        *,
        region: str,
        place_kind: str = "any",
        code: str | None = None,
        id_type: str = "111",
        id_number: str | None = None,
        temperature: float | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """``{"verification": masked status, "decision": Decision.to_dict(), "region",
        "place_kind", "temperature", "at"}``; the status is the one found now, the policy the
        one in force at ``at`` (default now)."""
        require_role(caller, "admin", "authority")
        if region != NATIONAL:
            if not is_digits(region, 6):
                raise InvalidInput("region must be a six-digit code", field="region")
            default_divisions().validate_area(region)
        if place_kind not in PLACE_KINDS:
            raise InvalidInput(
                f"place_kind must be one of {', '.join(PLACE_KINDS)}", field="place_kind"
            )
        if temperature is not None and not 30 <= temperature <= 45:
            raise InvalidInput("temperature must be from 30 to 45", field="temperature")
        code = (code or "").strip() or None
        number = (id_number or "").strip() or None
        if (code is None) == (number is None):
            raise InvalidInput("give either a code or an ID number", field="code")
        now = self.ctx.clock()
        if code is not None:
            checked = self.codes.check(code, now)
            if checked.sid is not None and checked.status in ("online", "summary"):
                with self.ctx.db.uow() as uow:
                    why = f"policy simulator at {region} ({checked.status})"
                    audit(uow.conn, caller, "policy.simulate", [checked.sid], why, now)
                    uow.commit()
            verification = checked.view()
        else:
            assert number is not None
            self.ctx.limits.hit("lookup.credential", caller.name, what="look-ups by ID number")
            verification = self.lookups.status(
                caller,
                id_type=id_type,
                id_number=number,
                who=f"{caller.name} (policy simulator)",
                purpose="policy simulator",
            )
        verification.pop("sid", None)
        when = at or now
        decision = self.decider(
            verification,
            at_region=region,
            place_kind=place_kind,
            temperature=temperature,
            now=when,
        )
        return {
            "verification": verification,
            "decision": decision,
            "region": region,
            "place_kind": place_kind,
            "temperature": temperature,
            "at": when,
        }
