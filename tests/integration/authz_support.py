"""The authorisation matrix's federation: real credentials of every role for two regions.

Built on ``modes_support.federation`` (the hub, the Zhejiang issuer 330000 with its link to
the hub, the legacy HBJKM system 420000) with the hub hosting 西藏 540000 (Mode 3). Every token
is made the way the node makes it: citizens sign in with phone + one-time code, credentials
are ``add_credential`` rows or what the hub answers to a registration (issuer nodes, labs).

Who each role is, per kind of node (``ROLES`` in ``authz_matrix.py``):

- **issuer** (Zhejiang, 330000) and **hosted** (西藏, 540000 under ``/regions/540000``): the
  node's own citizens (``citizen`` owns the subjects, requests and corrections the paths
  name; ``other_citizen`` has an account and a subject of their own), and credentials made
  at that node for ``checkpoint``, ``staff``, ``authority``, ``lab``, ``admin``; ``node`` is the
  hub's outbound credential (role ``node``). The ``x_`` roles are the same roles of the other
  region: tokens of the other node (for Zhejiang, 540000's; for 540000, Zhejiang's).
- **hub**: the hub has no citizens of its own, so ``citizen`` / ``other_citizen`` /
  ``x_citizen`` are citizens' sessions of Zhejiang and 540000; ``checkpoint``, ``staff``,
  ``authority`` are hub credentials scoped to 330000, ``lab`` a lab registered in 330000,
  ``node`` Zhejiang's node credential, ``admin`` the hub administrator. ``x_checkpoint``,
  ``x_staff``, ``x_authority``, ``x_lab`` and ``x_node`` are the same of Hubei (420000); the
  other region has no hub administrator of its own, so ``x_admin`` is 540000's node
  administrator (a credential of another node).
- **road** (the road node of the synthetic district, docs/road.md): it has no citizens'
  sessions, so ``citizen`` / ``other_citizen`` are Zhejiang's (unknown here); ``staff`` is a
  maintenance team's credential (scope ``team-north``), ``authority`` a department's (scope
  ``traffic_police``), ``checkpoint``, ``lab``, ``node`` and ``admin`` credentials of those roles
  made at the road node; the ``x_`` roles are Zhejiang's tokens (another node's).
- **legacy** (HBJKM, 420000): partner apps, not bearer tokens. ``admin`` is the operator's app
  (scopes user, admin, validateInfo), ``node`` the hub's app (validateInfo, fullIdentity),
  ``checkpoint`` a gate's app (validateInfo); every other role sends its bearer token, which
  the legacy system does not read (as anonymous).

What a cell uses up, it gets for itself (``prepare``): a link request (with a citizen of its
own who owns it), a proxy to remove, a correction to decide, a key to revoke, a fresh phone,
ID number, scan id or lab batch; everything else a path names is the citizen's own subject,
the node's own region and one of its streets.

The per-client limits are off in this federation (``YMT_LIMIT_*=off``): hundreds of refused
tokens from one test address would otherwise put it in back-off; the limits have their own
tests (``test_limits.py``).
"""

from __future__ import annotations

import base64
import itertools
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from tests.conftest import FakeClock
from tests.integration.conftest import make_id
from tests.integration.modes_support import (
    ADMIN_APP,
    GATE_APP,
    HUB_APP,
    Databases,
    Federation,
    bearer,
    federation,
)
from yimatong.adapters import keystore
from yimatong.adapters.crypto import Algorithm, SigningKey, generate_signing_key
from yimatong.adapters.db.tables import contact_facts
from yimatong.adapters.messages import prove_key, prove_rotation
from yimatong.adapters.signed import canonical
from yimatong.bootstrap import Node
from yimatong.credentials import Caller, add_credential
from yimatong.domain.limits import LIMITS, env_key
from yimatong.hub.data import Fact, NationalData
from yimatong.issuer.overrides import OverrideSubject
from yimatong.legacy import sign

__all__ = ["HOSTED", "KINDS", "AuthzFederation", "authz_federation"]

HOSTED = "540000"
KINDS = ("hub", "issuer", "hosted", "legacy", "road")
#: the region a kind of node is of, and "the other region" of its x_ roles
OWN = {"hub": "330000", "issuer": "330000", "hosted": HOSTED, "legacy": "420000", "road": "330100"}
OTHER = {
    "hub": "420000",
    "issuer": HOSTED,
    "hosted": "330000",
    "legacy": "330000",
    "road": "330000",
}
#: a street of each region (a risk area the authority of that region may set)
STREET = {"330000": "330106008", HOSTED: "540102002", "420000": "420102002"}
LIMITS_OFF = {env_key(name): "off" for name in LIMITS}
CREDENTIALED = ("checkpoint", "staff", "authority", "lab", "admin")


@dataclass
class Issued:
    """What the matrix's paths name at one issuer node (Zhejiang or 540000)."""

    citizen: dict[str, str]
    sid: str  # the citizen's own subject
    other_citizen: dict[str, str]
    other_sid: str
    proxy_account: int  # an account that acts for the citizen's subject (代办)
    correction: int  # a correction the citizen submitted
    link_request: int  # a pending link request of the citizen (never completed)
    number: str = ""  # the ID number of the citizen's subject


@dataclass
class AuthzFederation:
    fed: Federation
    hosted: Node
    tokens: dict[str, dict[str, str | None]]
    issued: dict[str, Issued]
    lab_keys: dict[str, SigningKey]
    #: the phone the citizen of each issuer kind signed in with (on their subject's record)
    phone_of: dict[str, str] = field(default_factory=dict)
    #: (kind, link request id) → the ID number of the record it asks for
    request_numbers: dict[tuple[str, int], str] = field(default_factory=dict)
    phones: Iterator[int] = field(default_factory=lambda: itertools.count(13900000000))
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(100))
    #: the road node, its client, and its vehicle and the work order its paths name
    road: Node | None = None
    road_http: Any = None
    road_car: Any = None
    road_order: str = ""

    # ---------------------------------------------------------------- the clients
    def client(self, kind: str) -> httpx.Client:
        if kind == "road":
            client: httpx.Client = self.road_http
            return client
        return {"hub": self.fed.http, "hosted": self.fed.http, "issuer": self.fed.zj_http}.get(
            kind, self.fed.legacy_http
        )

    def prefix(self, kind: str) -> str:
        return f"/regions/{HOSTED}" if kind == "hosted" else ""

    def headers(self, kind: str, role: str) -> dict[str, str]:
        if kind == "legacy":
            app = {"admin": ADMIN_APP, "node": HUB_APP, "checkpoint": GATE_APP}.get(role)
            if app is None:
                token = self.tokens["issuer"].get(role)
                return bearer(token) if token else {}
            stamp = str(int(self.fed.clock().timestamp() * 1000))
            return {
                "appKey": app.app_key,
                "timestamp": stamp,
                "sign": sign(app.app_key, stamp, app.app_secret),
            }
        token = self.tokens[kind][role]
        return bearer(token) if token else {}

    # ---------------------------------------------------------------- fresh things
    def phone(self) -> str:
        return str(next(self.phones))

    def id_number(self, area: str = "330106") -> str:
        n = next(self.ids)
        return make_id(area, f"19{60 + n % 40:02d}0{1 + n % 9}1{n % 10}", f"{n % 1000:03d}")

    def sign_in(self, kind: str, phone: str | None = None) -> dict[str, str]:
        http, root = self.client(kind), self.prefix(kind)
        http.cookies.clear()  # a page's session cookie would stand for the caller
        phone = phone or self.phone()
        r = http.post(f"{root}/v1/auth/otp", json={"phone": phone})
        assert r.status_code == 202, r.text
        r = http.post(
            f"{root}/v1/auth/session",
            json={"phone": phone, "otp": self.fed.inbox.last_code(phone)},
        )
        assert r.status_code == 200, r.text
        return bearer(r.json()["token"])

    def apply(self, kind: str, me: dict[str, str], **body: Any) -> dict[str, Any]:
        body.setdefault("name", "林小红")
        body.setdefault("id_type", "111")
        body.setdefault("id_number", self.id_number())
        r = self.client(kind).post(f"{self.prefix(kind)}/v1/applications", json=body, headers=me)
        assert r.status_code in (201, 202), r.text
        answer: dict[str, Any] = r.json()
        return answer

    def pending_request(self, kind: str, me: dict[str, str]) -> tuple[int, str]:
        """A new pending link request of ``me`` for someone else's record: (id, the code)."""
        holder_phone = self.phone()
        holder = self.sign_in(kind, holder_phone)
        number = self.id_number()
        self.apply(kind, holder, id_number=number)
        answer = self.apply(kind, me, id_number=number, for_relative={"relationship": "父亲"})
        assert answer["status"] == "pending", answer
        self.request_numbers[(kind, int(answer["request"]))] = number
        return int(answer["request"]), self.fed.inbox.last_code(holder_phone)

    def correction(self, kind: str, me: dict[str, str], sid: str) -> int:
        r = self.client(kind).post(
            f"{self.prefix(kind)}/v1/corrections",
            json={"subject": sid, "kind": "other", "statement": "我没有去过那里"},
            headers=me,
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def node(self, kind: str) -> Node:
        """The issuer node of ``kind`` (Zhejiang's own, or the one the hub hosts)."""
        return self.hosted if kind == "hosted" else self.fed.zj

    def recorded_fact(self, kind: str) -> int:
        """A contact fact of the citizen's subject as the node mirrors it from the hub's feed
        (what an override rests on): its feed seq."""
        seq = 10_000_000 + next(self.ids)
        now = self.fed.clock()
        with self.node(kind).db.uow() as uow:
            uow.conn.execute(
                insert(contact_facts).values(
                    sid=self.issued[kind].sid,
                    kind="close",
                    last_exposure=now - timedelta(hours=1),
                    origin=seq,
                    expires_at=now + timedelta(days=30),
                )
            )
            uow.commit()
        return seq

    def override_body(self, kind: str) -> dict[str, Any]:
        return {
            "colour": "red",
            "reason": "contact_upgraded",
            "note": "流调上调",
            "expires_at": (self.fed.clock() + timedelta(days=1)).isoformat(),
            "subjects": [
                {
                    "subject": self.issued[kind].sid,
                    "fact": {"kind": "contact", "seq": self.recorded_fact(kind)},
                }
            ],
        }

    def override(self, kind: str, *, waiting: bool = False) -> dict[str, Any]:
        """An override of the citizen's subject asked by another member of the authority
        (pending), or also approved by a second one above the hourly limit (awaiting the hub)."""
        service = self.node(kind).service
        body = self.override_body(kind)
        person = body["subjects"][0]
        view = service.request_override(
            Caller(role="authority", name="authz-asker"),
            colour=body["colour"],
            reason=body["reason"],
            note=body["note"],
            expires_at=datetime.fromisoformat(body["expires_at"]),
            people=[OverrideSubject(person["subject"], "contact", person["fact"]["seq"])],
        )
        if waiting:
            limit, service.override_hourly_limit = service.override_hourly_limit, 0
            try:
                view = service.approve_override(
                    Caller(role="authority", name="authz-approver"), view["id"]
                )
            finally:
                service.override_hourly_limit = limit
        return view

    def zj_key(self) -> SigningKey:
        zj = self.fed.zj
        with zj.db.read() as conn:
            key = keystore.active_key(
                conn, zj.service.cipher, region="330000", now=self.fed.clock()
            )
        assert key is not None
        return key

    def rotation(self, region: str = "330000") -> dict[str, Any]:
        """A new key for Zhejiang, proved by itself and by Zhejiang's current key."""
        new = generate_signing_key(Algorithm.EDDSA)
        entry = prove_key(new, region, self.fed.clock()).to_json()
        return {
            **entry,
            **prove_rotation(self.zj_key(), region, entry["public_key"], self.fed.clock()),
        }

    def revocable_kid(self) -> str:
        """A key of Zhejiang at the hub that nothing signs with, added for one revocation."""
        r = self.fed.http.post(
            "/v1/issuers/330000/keys", json=self.rotation(), headers=self.fed.as_("admin")
        )
        assert r.status_code in (200, 201), r.text
        kid: str = r.json()["kid"]
        return kid

    def lab_batch(self, region: str = "330000") -> dict[str, Any]:
        """A batch signed by the lab of ``region`` with one negative result."""
        n = next(self.ids)
        at = self.fed.clock().isoformat()
        message = {
            "lab_id": f"lab-{region}",
            "batch_id": f"b-{n}",
            "results": [
                {
                    "id_type": "111",
                    "id_number": self.id_number(),
                    "sampled_at": at,
                    "reported_at": at,
                    "result": "negative",
                }
            ],
        }
        raw = self.lab_keys[region].sign(canonical(message))
        return {**message, "signature": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}

    def code(self, kind: str) -> str:
        """A current dynamic code of the citizen's subject at ``kind``."""
        issued = self.issued[kind]
        r = self.client(kind).post(
            f"{self.prefix(kind)}/v1/codes",
            json={"subject": issued.sid, "kind": "dynamic"},
            headers=issued.citizen,
        )
        assert r.status_code == 201, r.text
        code: str = r.json()["code"]
        return code


def _credentials(node: Node, clock: FakeClock, tag: str) -> dict[str, str | None]:
    tokens: dict[str, str | None] = {}
    with node.db.uow() as uow:
        for role in CREDENTIALED:
            tokens[role] = add_credential(
                uow.conn,
                name=f"matrix-{tag}-{role}",
                role=role,
                now=clock(),
                rng=random.Random(tag + role),
            )
        tokens["node"] = add_credential(
            uow.conn, name=f"matrix-{tag}-the-hub", role="node", now=clock(), rng=random.Random(tag)
        )
        uow.commit()
    return tokens


def _issued(az: AuthzFederation, kind: str) -> Issued:
    http, root = az.client(kind), az.prefix(kind)
    phone, number = az.phone(), az.id_number()
    citizen = az.sign_in(kind, phone)
    az.phone_of[kind] = phone
    sid = az.apply(kind, citizen, id_number=number)["sid"]
    other = az.sign_in(kind)
    other_sid = az.apply(kind, other)["sid"]
    # A proxy (代办): another account asks for the citizen's subject; the citizen's phone, on
    # the record, gets the consent code, and the proxy completes the link with it.
    proxy = az.sign_in(kind)
    asked = az.apply(kind, proxy, id_number=number, for_relative={"relationship": "女儿"})
    r = http.post(
        f"{root}/v1/link-requests/{asked['request']}/confirm",
        json={"code": az.fed.inbox.last_code(phone)},
        headers=proxy,
    )
    assert r.status_code == 200, r.text
    listed = http.get(f"{root}/v1/subjects/{sid}/proxies", headers=citizen)
    assert listed.status_code == 200, listed.text
    (entry,) = listed.json()
    request, _ = az.pending_request(kind, citizen)
    issued = Issued(
        citizen=citizen,
        sid=sid,
        other_citizen=other,
        other_sid=other_sid,
        proxy_account=int(entry["account"]),
        correction=0,
        link_request=request,
    )
    issued.correction = az.correction(kind, citizen, sid)
    issued.number = number
    return issued


@contextmanager
def authz_federation(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[AuthzFederation]:
    """The federation, the tokens of every role and what the matrix's paths name."""
    dbs = Databases()
    hosted_extra: dict[str, str] = {}
    if not db_url.startswith("sqlite"):
        hosted_extra[f"YMT_HOSTED_DB_{HOSTED}"] = dbs.url(db_url, tmp_path, "hosted")
    try:
        with federation(
            hub_db=dbs.url(db_url, tmp_path, "hub") if not db_url.startswith("sqlite") else db_url,
            zj_db=dbs.url(db_url, tmp_path, "zj"),
            legacy_db=dbs.url(db_url, tmp_path, "hb"),
            state=tmp_path,
            clock=clock,
            hosted=(HOSTED,),
            hub_extra={**LIMITS_OFF, **hosted_extra},
            zj_extra=LIMITS_OFF,
            zj_hub_link=True,
        ) as fed:
            az = _build(fed, clock)
            _build_road(az, dbs.url(db_url, tmp_path, "road"), tmp_path / "road", clock)
            try:
                yield az
            finally:
                assert az.road is not None
                az.road.close()
    finally:
        dbs.close()


def _build_road(az: AuthzFederation, url: str, state: Path, clock: FakeClock) -> None:
    """The road node, its credentials (``ROLES`` mapped as the module docstring says), a
    registered vehicle and one work order of team-north."""
    from fastapi.testclient import TestClient

    from tests.road_support import Vehicle, register, road_settings, spot
    from yimatong.roadnode.app import build_road

    road = build_road(road_settings(url, state), clock=clock, start_jobs=False)
    az.road, az.road_http = road, TestClient(road.app)
    own: dict[str, tuple[str, str | None]] = {
        "checkpoint": ("checkpoint", None),
        "staff": ("team", "team-north"),
        "authority": ("department", "traffic_police"),
        "lab": ("lab", None),
        "node": ("node", None),
        "admin": ("admin", None),
    }
    tokens: dict[str, str | None] = {"anonymous": None}
    with road.db.uow() as uow:
        for column, (role, scope) in own.items():
            tokens[column] = add_credential(
                uow.conn, name=f"matrix-road-{column}", role=role, now=clock(),
                rng=random.Random("road" + column), scope=scope,
            )  # fmt: skip
        uow.commit()
    zj = az.tokens["issuer"]
    tokens["citizen"], tokens["other_citizen"] = zj["citizen"], zj["other_citizen"]
    for role in ("citizen", *CREDENTIALED, "node"):
        tokens["x_" + role] = zj[role]
    az.tokens["road"] = tokens
    az.road_car = Vehicle("matrix-veh")
    admin = tokens["admin"]
    assert admin is not None
    register(az.road_http, admin, az.road_car)
    az.road_order = _road_order(az, spot("ns1-n", 1))


def _road_order(az: AuthzFederation, where: tuple[float, float]) -> str:
    """A new work order of team-north: a trusted vehicle's severe pothole at ``where``."""
    body, headers = az.road_car.batch(
        [az.road_car.observe(where, az.fed.clock(), "pothole", "severe")]
    )
    r = az.road_http.post("/v1/road/observations", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["work_orders"], r.text
    order: str = r.json()["work_orders"][0]
    return order


def _prepare_road(az: AuthzFederation, method: str, path: str, role: str) -> Prepared:
    from tests.road_support import cell_of, spot

    values = {
        "cell": cell_of(*spot("ns1-n", 1)),
        "device_id": "matrix-phone",
        "order_id": az.road_order,
        "slug": "not-found",
    }
    bodies: dict[tuple[str, str], Any] = {}
    n = next(az.ids)
    if path == "/v1/road/observations":
        bodies[("POST", path)] = {
            "observations": [
                {"kind": "bump", "device_id": "matrix-phone", "seq": n,
                 "observed_at": az.fed.clock().isoformat(), "lon": spot("ew4", 2)[0],
                 "lat": spot("ew4", 2)[1], "magnitude_g": 1.5}
            ]
        }  # fmt: skip
    if path == "/v1/road/devices":
        key = generate_signing_key(Algorithm.EDDSA)
        bodies[("POST", path)] = {
            "device_id": f"matrix-veh-{n}",
            "owner": "养护公司",
            "public_key": base64.b64encode(key.public.spki_der()).decode(),
        }
    if path == "/v1/road/work-orders/{order_id}/steps":
        # A fresh order each cell (a step moves it on), far from the others along ns1-n.
        values["order_id"] = _road_order(az, spot("ns1-n", 2 + n % 9, along=(n % 50) / 60))
        bodies[("POST", path)] = {"step": "on_site"}
    forms = {("POST", "/signin/staff"): {"token": az.tokens["road"].get(role) or "ymt_c_none"}}
    filled = _fill(path, {k: v for k, v in values.items() if "{" + k + "}" in path})
    filled += _LOG_QUERY.get(path, "")
    return Prepared(filled, json=bodies.get((method, path)), form=forms.get((method, path)))


def _build(fed: Federation, clock: FakeClock) -> AuthzFederation:
    hosted = fed.ctx.hosted_services[HOSTED].node
    tokens: dict[str, dict[str, str | None]] = {
        "issuer": _credentials(fed.zj, clock, "zj"),
        "hosted": _credentials(hosted, clock, "xz"),
    }
    tokens["issuer"]["node"] = fed.tokens["zj-outbound"]
    lab_keys: dict[str, SigningKey] = {}
    hub: dict[str, str | None] = {"anonymous": None, "admin": fed.tokens["admin"]}
    with fed.hub.db.uow() as uow:
        for role in ("checkpoint", "staff", "authority"):
            for prefix, region in (("", "330000"), ("x_", "420000")):
                hub[prefix + role] = add_credential(
                    uow.conn,
                    name=f"matrix-{role}-{region}",
                    role=role,
                    now=clock(),
                    rng=random.Random(role + region),
                    scope=region,
                )
        uow.commit()
    for prefix, region in (("", "330000"), ("x_", "420000")):
        key = generate_signing_key(Algorithm.EDDSA)
        lab_keys[region] = key
        r = fed.http.post(
            "/v1/labs",
            json={
                "lab_id": f"lab-{region}",
                "name": f"检测所 {region}",
                "region": region,
                "public_key": base64.b64encode(key.public.spki_der()).decode(),
            },
            headers=fed.as_("admin"),
        )
        assert r.status_code == 201, r.text
        hub[prefix + "lab"] = r.json()["credential"]
    hub["node"] = fed.tokens["zj-node"]
    hub["x_node"] = fed.tokens["hb-node"]
    az = AuthzFederation(fed=fed, hosted=hosted, tokens=tokens, issued={}, lab_keys=lab_keys)
    for kind in ("issuer", "hosted"):
        az.issued[kind] = _issued(az, kind)
        tokens[kind]["anonymous"] = None
        tokens[kind]["citizen"] = az.issued[kind].citizen["Authorization"][7:]
        tokens[kind]["other_citizen"] = az.issued[kind].other_citizen["Authorization"][7:]
    for kind, other in (("issuer", "hosted"), ("hosted", "issuer")):
        for role in ("citizen", *CREDENTIALED, "node"):
            tokens[kind]["x_" + role] = tokens[other][role]
    hub["citizen"] = tokens["issuer"]["citizen"]
    hub["other_citizen"] = tokens["issuer"]["other_citizen"]
    hub["x_citizen"] = tokens["hosted"]["citizen"]
    hub["x_admin"] = tokens["hosted"]["admin"]
    tokens["hub"] = hub
    return az


@dataclass
class Prepared:
    """One cell's request: the path filled in, a JSON body or a form, and whose token the
    ``citizen`` role carries (the owner of a thing made for this cell alone)."""

    path: str
    json: Any = None
    form: dict[str, str] | None = None
    citizen: dict[str, str] | None = None


def _fill(template: str, values: dict[str, str]) -> str:
    out = template
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    assert "{" not in out, (template, values)
    return out


def prepare(
    az: AuthzFederation, kind: str, method: str, path: str, role: str, *, other: bool = False
) -> Prepared:
    """The request of one cell. With ``other``, the region, area and subject the request names
    are the other region's (the cross-region write cells)."""
    if path.startswith("/static/"):
        return Prepared("/static/css/app.css")
    if kind == "road":
        return _prepare_road(az, method, path, role)
    now = az.fed.clock()
    region = OTHER[kind] if other else OWN[kind]
    street = STREET[region]
    rule = {"===": [{"var": "code.colour"}, "green"]}
    if kind == "legacy":
        user_id, code, _ = az.fed.hb_person(id_number=az.id_number("420102"))
        bodies: dict[str, Any] = {
            "/hbjkm/userHealth/validateInfo": {"bizExtData": code},
            "/hbjkm/user/register": {
                "xm": "李四",
                "zjlx": "1",
                "zjhm": az.id_number("420102"),
                "sjhm": az.phone(),
            },
            "/hbjkm/code/generate": {"userId": user_id},
            "/hbjkm/admin/setStatus": {"userId": user_id, "healthyStaus": "00"},
            "/hbjkm/admin/hsjc": {
                "userId": user_id,
                "hsjcjg": "阴性",
                "hsjcsj": now.strftime("%Y-%m-%d %H:%M:%S"),
            },
        }
        return Prepared(path, json=bodies.get(path))
    if path.startswith("/static/"):
        return Prepared("/static/css/app.css")
    if kind == "hub":
        return _prepare_hub(az, method, path, role, region, street, rule, other)
    return _prepare_issuer(az, kind, method, path, role, region, street, other)


def _prepare_issuer(
    az: AuthzFederation,
    kind: str,
    method: str,
    path: str,
    role: str,
    region: str,
    street: str,
    other: bool,
) -> Prepared:
    now = az.fed.clock()
    at = now.isoformat()
    issued = az.issued[kind]
    values = {
        "sid": issued.sid,
        "account": str(issued.proxy_account),
        "correction_id": str(issued.correction),
        "request_id": str(issued.link_request),
        "n": "0",
        "code": street,
        "region": region,
        "slug": "not-found",
    }
    owner: dict[str, str] | None = None
    code = ""
    fresh_request = path.startswith(("/v1/link-requests/{request_id}", "/links/{request_id}"))
    if fresh_request:
        # Each cell has a request of its own, of a citizen of its own (a completed or withdrawn
        # request cannot be completed twice).
        owner = az.sign_in(kind)
        request, code = az.pending_request(kind, owner)
        values["request_id"] = str(request)
    if path == "/v1/subjects/{sid}/proxies/{account}" and method == "DELETE":
        values["account"] = str(_new_proxy(az, kind))
    hub_approval: dict[str, Any] | None = None
    if "{override_id}" in path:
        waiting = path.endswith("/hub-approval")
        made = az.override(kind, waiting=waiting)
        values["override_id"] = str(made["id"])
        if waiting:
            national = Caller(role="authority", name="national-cdc")
            hub_approval = az.fed.ctx.translog.approve_override(national, made["hub_request"])
    decided = ("/v1/corrections/{correction_id}/decision", "/admin/corrections/{correction_id}")
    if path in decided and method == "POST":
        values["correction_id"] = str(az.correction(kind, issued.citizen, issued.sid))
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/v1/auth/otp"): {"phone": az.phone()},
        ("POST", "/v1/applications"): {
            "name": "林小红",
            "id_type": "111",
            "id_number": az.id_number(),
            "for_relative": {"relationship": "父亲"},
        },
        ("POST", "/v1/declarations"): {
            "subject": issued.sid,
            "temperature": 36.5,
            "symptoms": [],
            "travel": [],
            "contact": False,
        },
        ("POST", "/v1/itineraries"): {"subject": issued.sid, "region": street, "from": at},
        ("POST", "/v1/codes"): {"subject": issued.sid, "kind": "dynamic"},
        ("POST", "/v1/travel-codes"): {"subject": issued.sid},
        ("POST", "/v1/corrections"): {
            "subject": issued.sid,
            "kind": "other",
            "statement": "那天我不在那里",
        },
        ("POST", "/v1/corrections/{correction_id}/decision"): {"accept": False, "note": "核实"},
        ("POST", "/v1/overrides/{override_id}/refusal"): {"note": "无依据"},
        ("POST", "/v1/overrides/{override_id}/hub-approval"): {"approval": hub_approval},
        ("PUT", "/v1/risk-areas/{code}"): {"level": "medium", "from": at},
        ("PUT", "/v1/subjects/{sid}/proxies/{account}/grants"): {
            "itinerary": True,
            "purpose": "核实代办关系",
        },
        ("POST", "/v1/subjects/{sid}/lookup"): {"checkpoint": "杭州东站"},
        ("POST", "/v1/link-requests/{request_id}/confirm"): {"code": code},
        ("POST", "/v1/hub/lookups"): {"id_type": "111", "id_number": issued.number},
        ("POST", "/v1/hub/scans"): {
            "scans": [
                {
                    "id": f"s-{next(az.ids)}",
                    "sid": issued.sid,
                    "at": at,
                    "area": street,
                    "decision": "PASS",
                }
            ]
        },
    }
    if (method, path) == ("POST", "/v1/overrides"):
        bodies[(method, path)] = az.override_body(kind)
    az.client(kind).cookies.clear()
    if path == "/v1/auth/session":
        phone = az.phone()
        r = az.client(kind).post(f"{az.prefix(kind)}/v1/auth/otp", json={"phone": phone})
        assert r.status_code == 202, r.text
        bodies[("POST", path)] = {"phone": phone, "otp": az.fed.inbox.last_code(phone)}
    if path in ("/v1/codes/verify", "/v1/hub/codes/verify"):
        bodies[("POST", path)] = {"code": az.code(kind)}
    if path == "/v1/link-requests/{request_id}/in-person":
        holder_number = az.request_numbers[(kind, int(values["request_id"]))]
        bodies[("POST", path)] = {
            "id_type": "111",
            "id_number": holder_number,
            "purpose": "窗口核验证件",
        }
    forms: dict[tuple[str, str], dict[str, str]] = {
        ("POST", "/signin/staff"): {"token": az.tokens[kind].get(role) or "ymt_c_none"},
        ("POST", "/admin/corrections/{correction_id}"): {"decision": "reject", "note": "核实"},
        ("POST", "/admin/overrides/{override_id}"): {"action": "refuse", "note": "无依据"},
        ("POST", "/signin/otp"): {"phone": az.phone()},
        ("POST", "/apply"): {
            "who": "relative",
            "name": "林小红",
            "id_number": az.id_number(),
            "relationship": "父亲",
        },
        ("POST", "/links/{request_id}/confirm"): {"code": code},
        ("POST", "/people/{n}/declare"): {"temperature": "36.5"},
        ("POST", "/people/{n}/itinerary"): {"area": street, "from": "2026-11-19T10:00"},
        ("POST", "/people/{n}/corrections"): {"target": "", "statement": "那天我不在那里"},
    }
    if (method, path) == ("POST", "/admin/overrides"):
        asked = az.override_body(kind)
        person = asked["subjects"][0]
        forms[(method, path)] = {
            "colour": "red",
            "reason": "contact_upgraded",
            "note": "流调上调",
            "expires": (now + timedelta(days=1))
            .astimezone(timezone(timedelta(hours=8)))
            .strftime("%Y-%m-%dT%H:%M"),
            "people": f"{person['subject']} contact {person['fact']['seq']}",
        }
    if path == "/signin":
        phone = az.phone()
        r = az.client(kind).post(f"{az.prefix(kind)}/v1/auth/otp", json={"phone": phone})
        assert r.status_code == 202, r.text
        forms[("POST", path)] = {"phone": phone, "otp": az.fed.inbox.last_code(phone)}
    filled = _fill(path, {k: v for k, v in values.items() if "{" + k + "}" in path})
    if path.startswith("/v1/subjects/{sid}/") and method in ("GET", "DELETE"):
        filled += "?purpose=核实"  # staff say why they read a person's data
    if path.startswith("/v1/log/"):
        _log_has_an_entry(az, kind, street, at)
        filled += _LOG_QUERY.get(path, "")
    return Prepared(
        az.prefix(kind) + filled,
        json=bodies.get((method, path)),
        form=forms.get((method, path)),
        citizen=owner,
    )


def _new_proxy(az: AuthzFederation, kind: str) -> int:
    """A new proxy account on the citizen's subject (a removal takes one away)."""
    issued = az.issued[kind]
    http, root = az.client(kind), az.prefix(kind)
    proxy = az.sign_in(kind)
    asked = az.apply(kind, proxy, id_number=issued.number, for_relative={"relationship": "儿子"})
    citizen_phone = az.phone_of[kind]
    r = http.post(
        f"{root}/v1/link-requests/{asked['request']}/confirm",
        json={"code": az.fed.inbox.last_code(citizen_phone)},
        headers=proxy,
    )
    assert r.status_code == 200, r.text
    listed = http.get(f"{root}/v1/subjects/{issued.sid}/proxies", headers=issued.citizen)
    return max(int(e["account"]) for e in listed.json())


def _prepare_hub(
    az: AuthzFederation,
    method: str,
    path: str,
    role: str,
    region: str,
    street: str,
    rule: Any,
    other: bool,
) -> Prepared:
    now = az.fed.clock()
    at = now.isoformat()
    zj = az.issued["issuer"]
    values = {
        "sid": zj.sid,
        "region": region,
        "code": street,
        "slug": "not-found",
        "figure": "colours",
    }
    if "{kid}" in path:
        values["kid"] = az.revocable_kid() if not other else "00" * 8
    if "{seq}" in path:  # a fact the national authority recorded
        national = Caller(role="authority", name="national-cdc")
        fact = Fact(kind="contact", subject=zj.sid, last_exposure=now)
        values["seq"] = str(NationalData(az.fed.ctx).add_facts(national, [fact])["first_seq"])
    lab = f"lab-m{next(az.ids)}"
    public_key = base64.b64encode(generate_signing_key(Algorithm.EDDSA).public.spki_der()).decode()
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/v1/issuers"): {
            "region": "520000",
            "name": "贵州省",
            "kind": "native",
            "endpoint": "http://gz.test",
        },
        ("PUT", "/v1/international-trust/dcc"): [],
        ("PUT", "/v1/international-trust/shc"): {"issuer_info": []},
        ("PUT", "/v1/international-trust/dcc-revocation"): [],
        ("PUT", "/v1/risk-areas/{code}"): {"level": "medium", "from": at},
        ("POST", "/v1/risk-areas/batch"): {
            "changes": [{"area": street, "level": "low", "from": at}]
        },
        ("POST", "/v1/facts"): {
            "facts": [
                {
                    "id_type": "111",
                    "id_number": az.id_number("330106" if not other else "420102"),
                    "kind": "contact",
                    "contact_kind": "close",
                    "last_exposure": at,
                }
            ]
        },
        ("POST", "/v1/tracing/queries"): {
            "id_type": "111",
            "id_number": az.id_number("330106" if not other else "420102"),
            "purpose": "流调 测试",
            "identify": False,
        },
        ("POST", "/v1/labs"): {
            "lab_id": lab,
            "name": "检测所",
            "region": region,
            "public_key": public_key,
        },
        ("POST", "/v1/departments"): {
            "department_id": f"dept-{lab}",
            "kind": "rail",
            "name": "铁路局",
            "region": region,
            "public_key": public_key,
        },
        # a department's credential is not a column: every role here is refused before the
        # body is read (test_hub_departments has the department's own answers)
        ("POST", "/v1/department-records"): {},
        ("POST", "/v1/subjects/register"): {"sids": [zj.sid]},
        ("POST", "/v1/overrides/approvals"): {
            "region": region,
            "override": 1,
            "colour": "red",
            "reason": "contact_upgraded",
            "subjects": 1,
            "sids_sha256": "0" * 64,
            "requested_at": at,
            "expires_at": (now + timedelta(days=1)).isoformat(),
        },
        ("POST", "/v1/summaries"): {
            "summaries": [{"sid": zj.sid, "colour": "green", "reasons": [], "assessed_at": at}]
        },
        ("POST", "/v1/scans"): {
            "scans": [
                {
                    "id": f"s-{next(az.ids)}",
                    "sid": zj.sid,
                    "at": at,
                    "area": street,
                    "decision": "PASS",
                    "checkpoint": "杭州东站",
                }
            ]
        },
        ("PUT", "/v1/policies/{region}"): {
            "place_kind": "any",
            "rule": rule,
            "description": "绿码通行",
        },
        ("POST", "/v1/log/read-digests"): {
            "day": (now - timedelta(days=1, minutes=10)).date().isoformat(),
            "reads": 1,
            "by_role": {"staff": 1},
            "sha256": "0" * 64,
        },
        # the newest head of the own region's issuer log (another region's node: not its own)
        ("POST", "/v1/log/witness"): {"head": az.fed.zj.service.translog.latest_head()}
        if path == "/v1/log/witness"
        else {},
        ("POST", "/v1/lookups"): {
            "id_type": "111",
            "id_number": zj.number,
            "checkpoint": "杭州东站",
        },
    }
    if path == "/v1/issuers/{region}/keys":
        bodies[("POST", path)] = az.rotation(region)
    if path == "/v1/test-results":
        bodies[("POST", path)] = az.lab_batch("330000" if not other else "420000")
    if path in ("/v1/codes/verify", "/v1/codes/convert"):
        bodies[("POST", path)] = {"code": az.code("issuer")}
    forms: dict[tuple[str, str], dict[str, str]] = {
        ("POST", "/signin/staff"): {"token": az.tokens["hub"].get(role) or "ymt_c_none"},
        ("POST", "/admin/areas/{code}"): {"level": "low"},
        ("POST", "/admin/policies/edit"): {
            "region": region,
            "place_kind": "any",
            "rule": json_text(rule),
            "description": "绿码通行",
        },
        ("POST", "/admin/simulate"): {"region": region, "code": az.code("issuer")}
        if path == "/admin/simulate"
        else {},
        ("POST", "/admin/labs"): {
            "lab_id": lab,
            "name": "检测所",
            "region": region,
            "public_key": public_key,
        },
    }
    filled = _fill(path, {k: v for k, v in values.items() if "{" + k + "}" in path})
    if path in ("/admin/policies", "/admin/policies/edit") and method == "GET":
        filled += f"?region={region}"
    # The transparency log: the first entry, and proofs within the log's first entry.
    filled += _LOG_QUERY.get(path, "")
    return Prepared(filled, json=bodies.get((method, path)), form=forms.get((method, path)))


#: The query of each transparency-log read: the first entry, proofs within the first entry.
_LOG_QUERY = {
    "/v1/log/entries": "?start=0",
    "/v1/log/proof/inclusion": "?index=0&size=1",
    "/v1/log/proof/consistency": "?first=0&second=1",
}


def _log_has_an_entry(az: AuthzFederation, kind: str, street: str, at: str) -> None:
    """An issuer's log starts empty: a risk change by its authority puts a first entry in."""
    client = az.client(kind)
    if client.get(f"{az.prefix(kind)}/v1/log/entries?start=0").status_code == 200:
        return
    r = client.put(
        f"{az.prefix(kind)}/v1/risk-areas/{street}",
        json={"level": "low", "from": at},
        headers=az.headers(kind, "authority"),
    )
    assert r.status_code == 200, r.text


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
