"""代办 with consent: an ID number alone links nobody; the person sees and controls their proxies.

On SQLite and PostgreSQL, through the issuer's HTTP routes (the same code serves Mode 3 regions
at the hub; ``test_hub_hosting`` checks the takeover fails there too).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.integration.conftest import Issuer, make_id
from yimatong.adapters.db.retention import purge_expired
from yimatong.adapters.db.tables import audit_log, link_requests, links, subjects
from yimatong.issuer.proxies import MAX_RELATIVES

GRANDPA_ID = make_id(birth="19400101", seq="111")
HOLDER = "13800138000"  # the person themselves
GRANDSON = "13900139000"
STRANGER = "13700137000"
AUNT = "13600136000"


def _post(issuer: Issuer, headers: dict[str, str], **body: Any) -> Any:
    body.setdefault("name", "王建国")
    body.setdefault("id_type", "111")
    body.setdefault("id_number", GRANDPA_ID)
    return issuer.client.post("/v1/applications", json=body, headers=headers)


def _pending(issuer: Issuer, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = _post(issuer, headers, **body)
    assert r.status_code == 202, r.text
    answer: dict[str, Any] = r.json()
    assert answer["status"] == "pending"
    return answer


def _relative(relationship: str = "父亲") -> dict[str, Any]:
    return {"for_relative": {"relationship": relationship}}


def _holder_with_record(issuer: Issuer) -> tuple[dict[str, str], str]:
    """The person applies for themselves: their phone is the phone on record."""
    me = issuer.sign_in(HOLDER)
    r = _post(issuer, me)
    assert r.status_code == 201, r.text
    return me, r.json()["sid"]


def _grandpa_without_phone(issuer: Issuer) -> tuple[dict[str, str], str]:
    """The grandson registers his grandfather, who has no phone (a brand-new record)."""
    grandson = issuer.sign_in(GRANDSON)
    r = _post(issuer, grandson, **_relative("祖父"))
    assert r.status_code == 201, r.text
    assert r.json()["consent"] == "registered"
    return grandson, r.json()["sid"]


def _audit(issuer: Issuer) -> list[tuple[str, str, str | None, str]]:
    with issuer.node.db.read() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
    return [(a.actor, a.action, a.sid, a.purpose) for a in rows]


def _staff(issuer: Issuer) -> dict[str, str]:
    return issuer.as_role("staff")


def _in_person(issuer: Issuer, request_id: int, number: str = GRANDPA_ID, **extra: Any) -> Any:
    body = {"id_type": "111", "id_number": number, "purpose": "窗口核验 身份证原件", **extra}
    return issuer.client.post(
        f"/v1/link-requests/{request_id}/in-person", json=body, headers=_staff(issuer)
    )


def _cannot_touch(issuer: Issuer, headers: dict[str, str], sid: str) -> None:
    c = issuer.client
    assert c.get(f"/v1/subjects/{sid}/health", headers=headers).status_code == 404
    assert c.post("/v1/codes", json={"subject": sid}, headers=headers).status_code == 404
    fever = {"subject": sid, "temperature": 38.5}
    assert c.post("/v1/declarations", json=fever, headers=headers).status_code == 404
    assert sid not in c.get("/v1/subjects", headers=headers).text


# --------------------------------------------------------------- the takeover
def test_knowing_an_id_number_does_not_link_someone_elses_record(issuer: Issuer) -> None:
    _, sid = _holder_with_record(issuer)
    attacker = issuer.sign_in(STRANGER)
    answer = _pending(issuer, attacker, **_relative())
    # The answer says nothing of the record: no pseudonym, no masked name or number.
    assert set(answer) == {
        "status",
        "request",
        "relationship",
        "expires_at",
        "code_expires_at",
        "next",
    }
    assert sid not in str(answer) and "王" not in str(answer)
    _cannot_touch(issuer, attacker, sid)


def test_a_self_application_for_an_existing_record_needs_the_same_proof(
    issuer: Issuer,
) -> None:
    _, sid = _grandpa_without_phone(issuer)
    attacker = issuer.sign_in(STRANGER)
    _pending(issuer, attacker)  # "I am him": knowing the number proves nothing
    _cannot_touch(issuer, attacker, sid)
    # Nor does a second try, or one with a different name typed in.
    _pending(issuer, attacker, name="王二")
    _cannot_touch(issuer, attacker, sid)


def test_a_brand_new_person_is_registered_and_linked_at_once(issuer: Issuer) -> None:
    me = issuer.sign_in(HOLDER)
    r = _post(issuer, me)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["consent"]) == ("linked", "registered")
    assert (
        issuer.client.get(f"/v1/subjects/{r.json()['sid']}/health", headers=me).status_code == 200
    )


# ------------------------------------------------------------- consent by code
def test_the_person_consents_with_the_code_sent_to_their_phone_on_record(
    issuer: Issuer,
) -> None:
    _, sid = _holder_with_record(issuer)
    daughter = issuer.sign_in(AUNT)
    request_id = _pending(issuer, daughter, **_relative())["request"]
    phone, text = issuer.inbox.messages[-1]
    assert phone == HOLDER  # the code goes to the phone on record, not to the requester
    assert "尾号 6000" in text and "代办" in text  # who asks (masked), and for what
    code = issuer.inbox.last_code(HOLDER)
    with issuer.node.db.read() as conn:
        stored = conn.execute(select(link_requests.c.code_hash)).scalar_one()
    assert code.encode() not in stored  # only an HMAC is kept
    assert issuer.client.get(f"/v1/subjects/{sid}/health", headers=daughter).status_code == 404

    r = issuer.client.post(
        f"/v1/link-requests/{request_id}/confirm", json={"code": code}, headers=daughter
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["sid"], r.json()["consent"]) == ("linked", sid, "sms")
    mine = issuer.client.get("/v1/subjects", headers=daughter).json()
    assert [(s["sid"], s["relationship"], s["consent"]) for s in mine] == [(sid, "父亲", "sms")]
    assert (
        issuer.client.post("/v1/codes", json={"subject": sid}, headers=daughter).status_code == 201
    )
    # The request is used up.
    again = issuer.client.post(
        f"/v1/link-requests/{request_id}/confirm", json={"code": code}, headers=daughter
    )
    assert again.status_code == 404


def test_a_wrong_code_counts_and_five_attempts_end_the_code(issuer: Issuer) -> None:
    _holder_with_record(issuer)
    attacker = issuer.sign_in(STRANGER)
    request_id = _pending(issuer, attacker, **_relative())["request"]
    code = issuer.inbox.last_code(HOLDER)
    wrong = "000000" if code != "000000" else "111111"
    url = f"/v1/link-requests/{request_id}/confirm"
    for _ in range(5):
        r = issuer.client.post(url, json={"code": wrong}, headers=attacker)
        assert r.status_code == 422 and r.json()["field"] == "code", r.text
    r = issuer.client.post(url, json={"code": code}, headers=attacker)
    assert r.status_code == 422  # even the right code, now
    # The code is the requester's alone: another account cannot use it.
    other = issuer.sign_in(AUNT)
    assert issuer.client.post(url, json={"code": code}, headers=other).status_code == 404


def test_a_code_lapses_after_five_minutes_and_asking_again_sends_a_new_one(
    issuer: Issuer, clock: Any
) -> None:
    _holder_with_record(issuer)
    daughter = issuer.sign_in(AUNT)
    first = _pending(issuer, daughter, **_relative())["request"]
    old = issuer.inbox.last_code(HOLDER)
    clock.advance(minutes=6)
    url = f"/v1/link-requests/{first}/confirm"
    assert issuer.client.post(url, json={"code": old}, headers=daughter).status_code == 422
    assert _pending(issuer, daughter, **_relative())["request"] == first  # same request
    fresh = issuer.inbox.last_code(HOLDER)
    r = issuer.client.post(url, json={"code": fresh}, headers=daughter)
    assert r.status_code == 200, r.text


def test_a_person_gets_at_most_five_link_codes_an_hour(issuer: Issuer, clock: Any) -> None:
    _holder_with_record(issuer)
    sent = len(issuer.inbox.messages)
    for phone in ("13600136001", "13600136002", "13600136003", "13600136004", "13600136005"):
        _pending(issuer, issuer.sign_in(phone), **_relative())
    r = _post(issuer, issuer.sign_in(STRANGER), **_relative())
    assert r.status_code == 429, r.text
    assert "王" not in r.text and GRANDPA_ID not in r.text
    to_holder = [p for p, _ in issuer.inbox.messages[sent:] if p == HOLDER]
    assert len(to_holder) == 5
    clock.advance(minutes=61)
    _pending(issuer, issuer.sign_in(STRANGER), **_relative())


def test_the_holder_of_the_phone_on_record_links_at_once(issuer: Issuer) -> None:
    """The grandson gave his own phone for his grandmother; signing in proved he holds it."""
    grandson = issuer.sign_in(GRANDSON)
    grandma = make_id(birth="19420202", seq="222")
    r = _post(issuer, grandson, id_number=grandma, phone=GRANDSON, **_relative("祖母"))
    assert r.status_code == 201, r.text
    sid = r.json()["sid"]
    listed = issuer.client.get(
        f"/v1/subjects/{sid}/proxies", params={"purpose": "test"}, headers=_staff(issuer)
    ).json()
    r = issuer.client.delete(f"/v1/subjects/{sid}/proxies/{listed[0]['account']}", headers=grandson)
    assert r.status_code == 204, r.text  # a proxy may leave
    r = _post(issuer, grandson, id_number=grandma, **_relative("祖母"))
    assert r.status_code == 201, r.text
    assert (r.json()["consent"], r.json()["sid"]) == ("phone", sid)


# -------------------------------------------------------- consent in person
def test_a_person_without_a_phone_is_linked_only_in_person_and_it_is_audited(
    issuer: Issuer,
) -> None:
    _, sid = _grandpa_without_phone(issuer)
    aunt = issuer.sign_in(AUNT)
    sent = len(issuer.inbox.messages)
    answer = _pending(issuer, aunt, **_relative("父亲"))
    assert len(issuer.inbox.messages) == sent  # no phone, no message; the answer is the same
    url = f"/v1/link-requests/{answer['request']}/confirm"
    assert issuer.client.post(url, json={"code": "123456"}, headers=aunt).status_code == 422

    # Staff must see the right document, state a purpose, and hold a staff role.
    wrong = _in_person(issuer, answer["request"], number=make_id(birth="19400101", seq="112"))
    assert wrong.status_code == 422 and wrong.json()["field"] == "id_number"
    assert GRANDPA_ID not in wrong.text
    r = issuer.client.post(
        f"/v1/link-requests/{answer['request']}/in-person",
        json={"id_type": "111", "id_number": GRANDPA_ID, "purpose": " "},
        headers=_staff(issuer),
    )
    assert r.status_code == 422
    r = issuer.client.post(
        f"/v1/link-requests/{answer['request']}/in-person",
        json={"id_type": "111", "id_number": GRANDPA_ID, "purpose": "窗口"},
        headers=aunt,
    )
    assert r.status_code == 403
    r = _in_person(issuer, answer["request"], grants={"itinerary": True})
    assert r.status_code == 200, r.text
    assert (r.json()["sid"], r.json()["consent"]) == (sid, "staff")
    assert ("test-staff", "link.confirm", sid, "窗口核验 身份证原件") in _audit(issuer)
    health = issuer.client.get(f"/v1/subjects/{sid}/health", headers=aunt).json()
    assert health["grants"] == {"itinerary": True, "tests": False}
    assert "itinerary" in health and "tests" not in health


def test_staff_linking_the_holder_in_person_makes_their_phone_the_phone_on_record(
    issuer: Issuer, cipher: Any
) -> None:
    """Someone registered the person first, with their own phone: the person wins it back."""
    squatter = issuer.sign_in(STRANGER)
    r = _post(issuer, squatter, phone="13700137999", **_relative("父亲"))
    assert r.status_code == 201
    sid = r.json()["sid"]
    holder = issuer.sign_in(HOLDER)
    request_id = _pending(issuer, holder)["request"]
    assert issuer.inbox.messages[-1][0] == "13700137999"  # not the holder's: they go in person
    r = _in_person(issuer, request_id)
    assert r.status_code == 200, r.text
    with issuer.node.db.read() as conn:
        enc = conn.execute(select(subjects.c.enc_phone).where(subjects.c.sid == sid)).scalar_one()
    assert cipher.decrypt(enc, aad=sid.encode()) == HOLDER
    # The holder sees the one who registered them, and removes them: access ends at once.
    proxies = issuer.client.get(f"/v1/subjects/{sid}/proxies", headers=holder).json()
    assert [(p["relationship"], p["consent"], p["phone"]) for p in proxies] == [
        ("父亲", "registered", "137****7000")
    ]
    r = issuer.client.delete(f"/v1/subjects/{sid}/proxies/{proxies[0]['account']}", headers=holder)
    assert r.status_code == 204, r.text
    _cannot_touch(issuer, squatter, sid)


# ------------------------------------------------- the person and their proxies
def test_a_proxy_sees_the_code_and_colour_not_the_itinerary_or_tests_unless_granted(
    issuer: Issuer, clock: Any
) -> None:
    me, sid = _holder_with_record(issuer)
    stay = {"subject": sid, "region": "330106", "from": (clock() - timedelta(days=2)).isoformat()}
    assert issuer.client.post("/v1/itineraries", json=stay, headers=me).status_code == 201
    daughter = issuer.sign_in(AUNT)
    request_id = _pending(issuer, daughter, **_relative())["request"]
    code = issuer.inbox.last_code(HOLDER)
    url = f"/v1/link-requests/{request_id}/confirm"
    assert issuer.client.post(url, json={"code": code}, headers=daughter).status_code == 200

    own = issuer.client.get(f"/v1/subjects/{sid}/health", headers=me).json()
    assert own["itinerary"] and "tests" in own and "withheld" not in own
    seen = issuer.client.get(f"/v1/subjects/{sid}/health", headers=daughter).json()
    assert seen["colour"] == own["colour"] and "turns_green" in seen
    assert {"itinerary", "tests", "shared"}.isdisjoint(seen)
    assert seen["grants"] == {"itinerary": False, "tests": False}
    # The proxy may act (代办): declare, make a code; and every use is audited.
    fever = {"subject": sid, "temperature": 38.4}
    r = issuer.client.post("/v1/declarations", json=fever, headers=daughter)
    assert r.status_code == 201 and r.json()["colour"] == "yellow", r.text
    assert all(set(reason) == {"code", "rule_id", "colour"} for reason in r.json()["reasons"])
    assert (
        issuer.client.post("/v1/codes", json={"subject": sid}, headers=daughter).status_code == 201
    )
    actions = [a for actor, a, s, _ in _audit(issuer) if actor.startswith("account:") and s == sid]
    assert actions == ["health.read", "declaration.add", "code.make"]
    # An itinerary correction needs the itinerary grant.
    dispute = {"subject": sid, "kind": "itinerary", "target_id": 1, "statement": "没去过"}
    assert issuer.client.post("/v1/corrections", json=dispute, headers=daughter).status_code == 403

    # The person lists their proxies, and grants the itinerary and the tests.
    proxies = issuer.client.get(f"/v1/subjects/{sid}/proxies", headers=me).json()
    assert [(p["relationship"], p["consent"], p["grants"]) for p in proxies] == [
        ("父亲", "sms", {"itinerary": False, "tests": False})
    ]
    account = proxies[0]["account"]
    grants_url = f"/v1/subjects/{sid}/proxies/{account}/grants"
    both = {"itinerary": True, "tests": True}
    assert issuer.client.put(grants_url, json=both, headers=daughter).status_code == 403
    r = issuer.client.put(grants_url, json=both, headers=me)
    assert r.status_code == 200 and r.json()["grants"] == both, r.text
    seen = issuer.client.get(f"/v1/subjects/{sid}/health", headers=daughter).json()
    assert seen["itinerary"] and "tests" in seen and seen["withheld"] == []
    # The proxy cannot see or change the person's proxies.
    assert issuer.client.get(f"/v1/subjects/{sid}/proxies", headers=daughter).status_code == 403

    # Removed, the proxy loses access with its very next request.
    r = issuer.client.delete(f"/v1/subjects/{sid}/proxies/{account}", headers=me)
    assert r.status_code == 204
    _cannot_touch(issuer, daughter, sid)
    assert issuer.client.get(f"/v1/subjects/{sid}/proxies", headers=me).json() == []


def test_a_proxy_who_registered_a_new_person_sees_code_and_colour_and_staff_grant_more(
    issuer: Issuer,
) -> None:
    grandson, sid = _grandpa_without_phone(issuer)
    seen = issuer.client.get(f"/v1/subjects/{sid}/health", headers=grandson).json()
    assert seen["grants"] == {"itinerary": False, "tests": False}
    assert "itinerary" not in seen and "tests" not in seen
    # Grandpa has no account; at the counter, staff grant for him (audited).
    staff = _staff(issuer)
    listing = issuer.client.get(f"/v1/subjects/{sid}/proxies", headers=staff)
    assert listing.status_code == 422  # a purpose first
    listing = issuer.client.get(
        f"/v1/subjects/{sid}/proxies", params={"purpose": "本人到场授权"}, headers=staff
    )
    assert [p["consent"] for p in listing.json()] == ["registered"]
    account = listing.json()[0]["account"]
    r = issuer.client.put(
        f"/v1/subjects/{sid}/proxies/{account}/grants",
        json={"itinerary": True, "tests": True, "purpose": "本人到场授权"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert [a for _, a, s, p in _audit(issuer) if p == "本人到场授权"] == [
        "proxies.read",
        "proxy.grants",
    ]
    seen = issuer.client.get(f"/v1/subjects/{sid}/health", headers=grandson).json()
    assert "itinerary" in seen and "tests" in seen


def test_staff_remove_a_proxy_at_the_counter_and_it_is_audited(issuer: Issuer) -> None:
    grandson, sid = _grandpa_without_phone(issuer)
    staff = _staff(issuer)
    account = issuer.client.get(
        f"/v1/subjects/{sid}/proxies", params={"purpose": "本人到场"}, headers=staff
    ).json()[0]["account"]
    r = issuer.client.delete(f"/v1/subjects/{sid}/proxies/{account}", headers=staff)
    assert r.status_code == 422, r.text  # a purpose first
    r = issuer.client.delete(
        f"/v1/subjects/{sid}/proxies/{account}",
        params={"purpose": "本人到场撤销代办"},
        headers=staff,
    )
    assert r.status_code == 204, r.text
    assert [a for _, a, s, p in _audit(issuer) if p == "本人到场撤销代办"] == ["proxy.remove"]
    assert issuer.client.get(f"/v1/subjects/{sid}/health", headers=grandson).status_code == 404


def test_one_account_acts_for_at_most_four_relatives_pending_requests_included(
    issuer: Issuer,
) -> None:
    _holder_with_record(issuer)
    helper = issuer.sign_in(AUNT)
    for i in range(MAX_RELATIVES - 1):
        r = _post(
            issuer, helper, id_number=make_id(birth="19500101", seq=f"{i + 1:03d}"), **_relative()
        )
        assert r.status_code == 201, r.text
    _pending(issuer, helper, **_relative())  # the fourth, awaiting consent
    r = _post(issuer, helper, id_number=make_id(birth="19500101", seq="099"), **_relative())
    assert r.status_code == 409, r.text
    waiting = issuer.client.get("/v1/link-requests", headers=helper).json()
    assert [lr["relationship"] for lr in waiting] == ["父亲"]
    # Withdrawn, the request frees its place.
    r = issuer.client.delete(f"/v1/link-requests/{waiting[0]['request']}", headers=helper)
    assert r.status_code == 204, r.text
    r = _post(issuer, helper, id_number=make_id(birth="19500101", seq="099"), **_relative())
    assert r.status_code == 201, r.text


def test_links_made_before_consent_existed_are_unverified_proxies_without_grants(
    issuer: Issuer, clock: Any
) -> None:
    _, sid = _holder_with_record(issuer)
    other = issuer.sign_in(STRANGER)
    with issuer.node.db.uow() as uow:  # as the hole left it: a link on an ID number alone
        uow.conn.execute(
            links.insert().values(account_id=2, sid=sid, relationship="父亲", created_at=clock())
        )
        uow.commit()
    seen = issuer.client.get(f"/v1/subjects/{sid}/health", headers=other).json()
    assert seen["grants"] == {"itinerary": False, "tests": False}
    assert issuer.client.get("/v1/subjects", headers=other).json()[0]["consent"] == "unverified"


# --------------------------------------------------------------- the walk
def _body_fields(spec: dict[str, Any], op: dict[str, Any]) -> set[str]:
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = schema.get("schema", {}).get("$ref", "")
    if not ref:
        return set(schema.get("schema", {}).get("properties", {}))
    return set(spec["components"]["schemas"][ref.rsplit("/", 1)[1]].get("properties", {}))


def test_every_route_about_a_person_refuses_strangers_other_roles_and_plain_proxies(
    issuer: Issuer, clock: Any
) -> None:
    """Deny by default: every route that names a person or a link request, walked.

    A route is "about a person" when its path has ``{sid}`` or a link request, or its body a
    ``subject``; a new such route fails here until it has a body below.
    """
    _, sid = _holder_with_record(issuer)
    proxy = issuer.sign_in(AUNT)
    request_id = _pending(issuer, proxy, **_relative())["request"]
    code = issuer.inbox.last_code(HOLDER)
    r = issuer.client.post(
        f"/v1/link-requests/{request_id}/confirm", json={"code": code}, headers=proxy
    )
    assert r.status_code == 200
    stranger = issuer.sign_in(STRANGER)
    # Someone else's pending request: not the stranger's, nor the proxy's, to use or withdraw.
    pending = _pending(issuer, issuer.sign_in("13500135000"), **_relative())["request"]
    everyone = issuer.client.get(
        f"/v1/subjects/{sid}/proxies", params={"purpose": "walk"}, headers=_staff(issuer)
    ).json()
    holder_account = next(p["account"] for p in everyone if p["relationship"] == "self")
    now = clock().isoformat()
    bodies: dict[str, Any] = {
        "GET /v1/subjects/{sid}/health": None,
        "GET /v1/subjects/{sid}/proxies": None,
        "GET /v1/subjects/{sid}/activity": None,
        "GET /v1/subjects/{sid}/corrections": None,
        "GET /v1/subjects/{sid}/travel": None,  # a proxy sees it only with the itinerary grant
        "POST /v1/travel-codes": {"subject": sid},
        "DELETE /v1/subjects/{sid}/proxies/{account}": None,
        "PUT /v1/subjects/{sid}/proxies/{account}/grants": {"itinerary": True, "tests": True},
        "POST /v1/subjects/{sid}/lookup": {"checkpoint": "gate-1"},
        "POST /v1/declarations": {"subject": sid, "temperature": 36.5},
        "POST /v1/itineraries": {"subject": sid, "region": "330106", "from": now},
        "POST /v1/codes": {"subject": sid},
        "POST /v1/corrections": {"subject": sid, "kind": "other", "statement": "x"},
        "POST /v1/link-requests/{request_id}/confirm": {"code": "000000"},
        "DELETE /v1/link-requests/{request_id}": None,
        "POST /v1/link-requests/{request_id}/in-person": {
            "id_type": "111",
            "id_number": GRANDPA_ID,
            "purpose": "x",
        },
    }
    # What a linked proxy without grants may do (代办); every other route must refuse it.
    proxy_may = {
        "GET /v1/subjects/{sid}/health",
        "GET /v1/subjects/{sid}/activity",  # cut to its grants (test_citizen_pages.py)
        "GET /v1/subjects/{sid}/corrections",  # the proxy's own submissions
        "POST /v1/declarations",
        "POST /v1/itineraries",
        "POST /v1/codes",
        "POST /v1/corrections",
    }
    spec = issuer.node.fastapi.openapi()
    walked = set()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            key = f"{method.upper()} {path}"
            if not (
                "{sid}" in path or "link-requests/{" in path or "subject" in _body_fields(spec, op)
            ):
                continue
            assert key in bodies, f"{key} names a person: add it to this walk"
            walked.add(key)
            url = path.format(sid=sid, account=holder_account, request_id=pending)
            callers = [("stranger", stranger), ("checkpoint", issuer.as_role("checkpoint"))]
            if key not in proxy_may:
                callers.append(("proxy", proxy))
            for who, headers in callers:
                r = issuer.client.request(method.upper(), url, json=bodies[key], headers=headers)
                assert r.status_code in (403, 404), (who, key, r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
    assert walked == set(bodies)
    # Nothing the walk did linked anyone, dropped a request or changed what the proxy sees.
    with issuer.node.db.read() as conn:
        assert conn.execute(select(link_requests.c.id)).scalars().all() == [pending]
    assert issuer.client.get(f"/v1/subjects/{sid}/health", headers=stranger).status_code == 404
    seen = issuer.client.get(f"/v1/subjects/{sid}/health", headers=proxy).json()
    assert seen["grants"] == {"itinerary": False, "tests": False}


def test_a_link_request_expires_after_three_days_and_the_purge_removes_it(
    issuer: Issuer, clock: Any
) -> None:
    _holder_with_record(issuer)
    daughter = issuer.sign_in(AUNT)
    request_id = _pending(issuer, daughter, **_relative())["request"]
    code = issuer.inbox.last_code(HOLDER)
    clock.advance(days=3, minutes=1)
    assert issuer.client.get("/v1/link-requests", headers=issuer.sign_in(AUNT)).json() == []
    with issuer.node.db.uow() as uow:
        counts = purge_expired(uow.conn, clock())
        uow.commit()
    assert counts.get("link_requests") == 1
    r = issuer.client.post(
        f"/v1/link-requests/{request_id}/confirm", json={"code": code}, headers=daughter
    )
    assert r.status_code in (401, 404)  # the old session has lapsed too; either way, no link
