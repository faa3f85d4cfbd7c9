"""International certificates on the checkpoint page, in Chromium.

Parity: over the repository's own DCC and SHC vectors (tests/vectors/*/own), the SMART Health
Cards specification's examples (its revoked example 3 with its issuer's CRL), and certificates
made here (revoked by each DCC hash type, by kid or by country, SHCs revoked by rid and by
rid.timestamp; hcerts that break the schema or a closed value set), the page's
``verifyDcc``/``verifyShc`` give the validity and reason of ``verify_dcc``/``verify_shc`` over
the same signed trust payload (``lists.international_state``), the same ``certificate``
facts, the same policy data (``payload``, ``external``), the same display and the same
decision under one CertLogic policy and under the EU's template business rules imported as a
region's policy — one page load.

End to end: the hub imports a DSC list and a VCI snapshot, the page signed in at the hub
fetches the signed international trust, and decides on a DCC (passes under the policy; a
tampered one is refused with its reason; one whose UCI the hub's revocation batch lists is
refused as revoked, as is a card whose rid the issuer's CRL lists), on an SHC whole and
scanned chunk by chunk, and with the network off from the trust it keeps.
"""

from __future__ import annotations

import base64
import json
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest

from tests.browser.checkpoint_world import World, checkpoint_world, scan, screenshot, sign_in
from tests.browser.conftest import LiveServer, Tab
from tests.integration.conftest import issuer_settings
from yimatong.adapters.wire import hc1, shc
from yimatong.bootstrap import build_issuer
from yimatong.credentials import Caller
from yimatong.demo.international import (
    DemoDsc,
    DemoShcIssuer,
    chunks,
    cwt,
    gateway_list,
    revocation_batch,
    shc_payload,
    vci_snapshot,
)
from yimatong.hub.dsc_summary import dsc_summary
from yimatong.hub.international import InternationalTrust
from yimatong.hub.policies import EntryPolicies
from yimatong.verifier.dcc_schema import eu_value_sets
from yimatong.verifier.eu_rules import eu_rules_policy, parse_eu_rules
from yimatong.verifier.international import (
    CertificateFacts,
    InternationalResult,
    revocation_hashes,
    verify_dcc,
    verify_shc,
)
from yimatong.verifier.lists import international_state
from yimatong.verifier.policy import Facts, Policy, PolicySet, decide
from yimatong.verifier.verifier import _holder_display

VECTORS = Path(__file__).parent.parent / "vectors"
SPEC_ISSUER = "https://spec.smarthealth.cards/examples/issuer"
SHC_CLOCK = datetime(2021, 6, 30, tzinfo=UTC)  # tests/unit/test_intl_vectors.py's clock
REGION = "310000"

#: "a green YMT1 code, or a DCC test certificate with a negative PCR sampled within 48 h, or an
#: SHC with a full vaccination course" (docs/policies.md); a DCC vaccination counts too when its
#: last dose is under 270 days old, and anything from the country "XB".
ONE_POLICY = {
    "if": [
        {"===": [{"var": "certificate.kind"}, "ymt1"]},
        {"===": [{"var": "code.colour"}, "green"]},
        {
            "if": [
                {"===": [{"var": "certificate.kind"}, "dcc"]},
                {
                    "if": [
                        {"===": [{"var": "certificate.test.type"}, "pcr"]},
                        {
                            "and": [
                                {"===": [{"var": "certificate.test.negative"}, True]},
                                {"<=": [{"var": "certificate.test.hours_since_sample"}, 48]},
                            ]
                        },
                        {
                            "if": [
                                {"===": [{"var": "certificate.issuer_country"}, "XB"]},
                                True,
                                {
                                    "and": [
                                        {
                                            "===": [
                                                {"var": "certificate.vaccination.complete"},
                                                True,
                                            ]
                                        },
                                        {
                                            "<": [
                                                {"var": "certificate.vaccination.days_since_last"},
                                                270,
                                            ]
                                        },
                                    ]
                                },
                            ]
                        },
                    ]
                },
                {
                    "and": [
                        {"===": [{"var": "certificate.kind"}, "shc"]},
                        {"===": [{"var": "certificate.vaccination.complete"}, True]},
                    ]
                },
            ]
        },
    ]
}


def _policies(
    now: datetime, rule: Any = ONE_POLICY, description: str = "one policy"
) -> dict[str, Any]:
    policy = Policy(
        id=1,
        region=REGION,
        place_kind="any",
        version=1,
        rule=rule,
        description=description,
        valid_from=now - timedelta(days=3650),
    )
    return {
        "type": "policies",
        "region": REGION,
        "version": 1,
        "issued_at": now.isoformat(),
        "governed_by": [REGION],
        "national_default": False,
        "policies": [policy.to_dict()],
    }


# ------------------------------------------------------------------------------------ parity
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("intl")
    node = build_issuer(issuer_settings(f"sqlite:///{state / 'n.db'}", state), rng=random.Random(1))
    try:
        with LiveServer(node.app) as server:
            yield server.url
    finally:
        node.close()


MADE_AT = datetime(2026, 6, 1, 12, tzinfo=UTC)  # the own vectors' clock
#: the own vectors that are revoked, by the hash type their "revoked" hash is of
OWN_REVOKED = {
    "revoked-uci": "UCI",
    "revoked-country-uci": "COUNTRYCODEUCI",
    "revoked-signature": "SIGNATURE",
}


def _batch(kid: bytes | None, hash_type: str, hashes: list[bytes], country: str = "XA") -> Any:
    """A dcc_revocation row of the signed international trust (hub/international.py)."""
    return {
        "batch": f"b-{hash_type}-{country}",
        "country": country,
        "kid": None if kid is None else kid.hex(),
        "hash_type": hash_type,
        "expires": "2030-01-01T00:00:00+00:00",
        "hashes": [base64.b64encode(h).decode() for h in hashes],
    }


def _hashes(text: str) -> tuple[bytes, dict[str, tuple[bytes, ...]]]:
    """The kid and the revocation hashes of an HC1 text (decoded, not verified)."""
    msg = hc1.parse_cose(hc1.decode_hc1(text))
    claims = hc1.loads_claims(msg.payload)
    dcc = claims[-260][1]
    entry = next(dcc[k][0] for k in ("v", "t", "r") if dcc.get(k))
    assert msg.kid is not None
    return msg.kid, revocation_hashes(entry["ci"], (claims[1], entry["co"]), msg.alg, msg.signature)


def _with(kind: str, iss: str = "XA", **changes: Any) -> dict[int, Any]:
    """The demo CWT of ``kind`` with entry fields (``e_`` prefix: top-level fields) changed
    (None: removed)."""
    claims = cwt(kind, MADE_AT, iss=iss)
    dcc = claims[-260][1]
    for key, value in changes.items():
        target, name = (dcc, key[2:]) if key.startswith("e_") else (dcc[kind][0], key)
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return claims


def _made(es: DemoDsc, ps: DemoDsc, xd: DemoDsc) -> list[dict[str, Any]]:
    """Certificates made here: revoked ones (each with the batches of its trust), hcerts that
    break the schema or a value set, and ones the EU's rules decide."""
    now = MADE_AT.isoformat()
    out: list[dict[str, Any]] = []

    def add(name: str, text: str, revocation: list[Any] | None = None) -> None:
        out.append({"name": name, "text": text, "now": now, "revocation": revocation})

    # revocation: each hash type under the signer's kid; COUNTRYCODEUCI by either country
    for n, (dsc, kind) in enumerate([(es, "v"), (ps, "t"), (es, "r")]):
        for hash_type in ("UCI", "COUNTRYCODEUCI", "SIGNATURE"):
            text = dsc.hc1(_with(kind, ci=f"URN:UVCI:01:XA:REV{n}{hash_type}#1"))
            kid, hashes = _hashes(text)
            add(
                f"revoked-{dsc.alg}-{kind}-{hash_type}",
                text,
                [_batch(kid, hash_type, [hashes[hash_type][0]])],
            )
    text = es.hc1(_with("v", iss="XB", ci="URN:UVCI:01:XC:CO#1", co="XC"))
    kid, hashes = _hashes(text)
    by_co = [_batch(kid, "COUNTRYCODEUCI", [hashes["COUNTRYCODEUCI"][1]])]
    add("revoked-country-code-of-the-entry-not-the-issuer", text, by_co)
    by_iss = [_batch(kid, "COUNTRYCODEUCI", [hashes["COUNTRYCODEUCI"][0]])]
    add("revoked-country-code-of-the-issuer", text, by_iss)
    # a hash listed under another type, another kid, or another DSC's country: not revoked
    add("listed-under-another-type", text, [_batch(kid, "SIGNATURE", [hashes["UCI"][0]])])
    add("listed-under-another-kid", text, [_batch(ps.kid, "UCI", [hashes["UCI"][0]])])
    # UNKNOWN_KID: the batch holds for every DSC whose own C is its country (xd is listed
    # under XA by the gateway and names XD)
    text = xd.hc1(_with("v", ci="URN:UVCI:01:XA:XD#1"))
    kid, hashes = _hashes(text)
    add(
        "revoked-unknown-kid-by-the-dscs-country",
        text,
        [_batch(None, "UCI", [hashes["UCI"][0]], "XD")],
    )
    add(
        "unknown-kid-batch-of-the-listed-country",
        text,
        [_batch(None, "UCI", [hashes["UCI"][0]], "XA")],
    )
    add("revocation-of-other-certificates", es.hc1(_with("v")), by_co + by_iss)

    # the schema and the value sets (verifier/dcc_schema.py)
    long = "X" * 81
    broken: dict[str, tuple[str, dict[str, Any]]] = {
        "dn-missing": ("v", {"dn": None}),
        "dn-zero": ("v", {"dn": 0}),
        "dn-float": ("v", {"dn": 2.5}),
        "dn-float-whole": ("v", {"dn": 2.0}),
        "sd-float-negative-zero": ("v", {"sd": -0.0}),
        "extra-floats": ("v", {"e_xf": [1.0, 1.5, {"a": 2.0}], "xf": 3.0}),
        "dn-undefined": ("v", {"dn": cbor2.undefined}),
        "co-undefined": ("v", {"co": cbor2.undefined}),
        "ver-undefined": ("v", {"e_ver": cbor2.undefined}),
        "v-undefined-beside-t": ("t", {"e_v": cbor2.undefined}),
        "fnt-undefined-beside-gnt": ("v", {"e_nam": {"fnt": cbor2.undefined, "gnt": "E"}}),
        "dn-text": ("v", {"dn": "2"}),
        "dt-month-only": ("v", {"dt": "2026-03"}),
        "dt-not-a-day": ("v", {"dt": "2026-02-30"}),
        "dt-followed-by-a-time": ("v", {"dt": "2026-03-03T10:00:00+02:00"}),
        "dt-followed-by-junk": ("v", {"dt": "2026-03-03 and more"}),
        "sc-without-offset": ("t", {"sc": "2026-05-31T16:00:00"}),
        "sc-hour-24": ("t", {"sc": "2026-05-31T24:00:00Z"}),
        "sc-offset-24": ("t", {"sc": "2026-05-31T10:00:00+24:00"}),
        "sc-lowercase": ("t", {"sc": "2026-05-31t10:00:00.1234567z"}),
        "ci-too-long": ("r", {"ci": long}),
        "is-not-text": ("r", {"is": 7}),
        "du-missing": ("r", {"du": None}),
        "tc-too-long": ("t", {"tc": long}),
        "nm-not-text": ("t", {"nm": ["x"]}),
        "ver-short": ("v", {"e_ver": "1.3"}),
        "ver-missing": ("v", {"e_ver": None}),
        "nam-missing": ("v", {"e_nam": None}),
        "nam-not-an-object": ("v", {"e_nam": "Erika"}),
        "nam-lowercase-fnt": ("v", {"e_nam": {"fnt": "Mustermann"}}),
        "nam-gnt-only": ("v", {"e_nam": {"gnt": "ERIKA", "gn": "Erika"}}),
        "nam-gnt-only-no-gn": ("v", {"e_nam": {"gnt": "ERIKA"}}),
        "nam-fn-too-long": ("v", {"e_nam": {"fnt": "X", "fn": long}}),
        "dob-1899": ("v", {"e_dob": "1899-12-31"}),
        "dob-year-only": ("v", {"e_dob": "1964"}),
        "dob-empty": ("v", {"e_dob": ""}),
        "dob-followed-by-a-time": ("v", {"e_dob": "1964-08-12T00:00:00"}),
        "dob-a-number": ("v", {"e_dob": 1964}),
        "v-and-t": ("v", {"e_t": [{"tg": "840539006"}]}),
        "v-empty": ("v", {"e_v": []}),
        "v-entry-not-an-object": ("v", {"e_v": ["x"]}),
        "v-null-beside-t": ("t", {"e_v": None}),
        "extra-top-level-field": ("v", {"e_xx": {"a": [1, "b"]}}),
        "tt-unknown": ("t", {"tt": "X"}),
        "tt-unknown-quoted": ("t", {"tt": "O'Brien"}),
        "tt-unknown-both-quotes": ("t", {"tt": 'it\'s "so"'}),
        "tt-unknown-long-and-odd": ("t", {"tt": "é\x01\u200b\u00a0\U0001f600 " + "y" * 30}),
        "tr-unknown": ("t", {"tr": "260373001x"}),
        "tr-positive": ("t", {"tr": "260373001"}),
        "tg-unknown": ("r", {"tg": "840539007"}),
        "tt-rat": ("t", {"tt": "LP217198-3"}),
        "mp-unknown-is-no-fault": ("v", {"mp": "CVnCoV-X"}),
        "mp-sputnik": ("v", {"mp": "Sputnik-V"}),
    }
    for name, (kind, changes) in broken.items():
        add(f"schema-{name}", es.hc1(_with(kind, **changes)))
    floated = _with("v")
    floated[6], floated[4] = float(floated[6]), float(floated[4]) + 0.5  # NumericDates as floats
    add("schema-cwt-times-as-floats", es.hc1(floated))
    # decided by the EU's rules: fresh, old and partial courses, a recent and an old test
    add("eu-vaccination", es.hc1(_with("v", dt="2026-05-01")))
    add("eu-vaccination-partial", es.hc1(_with("v", dn=1, dt="2026-05-01")))
    add("eu-vaccination-too-recent", es.hc1(_with("v", dt="2026-05-30")))
    add("eu-test-old", ps.hc1(_with("t", sc="2026-05-20T10:00:00Z")))
    return out


def _made_shc(issuer: DemoShcIssuer) -> tuple[list[dict[str, Any]], list[Any]]:
    """Cards of an issuer whose CRL lists "gone" (always) and "until" up to a time."""
    cut = MADE_AT - timedelta(days=2)
    crls = [
        {
            "kid": issuer.jwk["kid"],
            "method": "rid",
            "ctr": 2,
            "rids": ["gone", f"until.{int(cut.timestamp())}"],
        },
        {"kid": "another", "method": "rid", "ctr": 1, "rids": ["other"]},
    ]
    before, within, after = (
        cut - timedelta(days=1),
        cut + timedelta(seconds=0.4),
        cut + timedelta(seconds=1),
    )
    made = {
        "shc-revoked-rid": issuer.card("full", MADE_AT, rid="gone"),
        "shc-revoked-rid-up-to-its-time": issuer.card("full", MADE_AT, nbf=before, rid="until"),
        "shc-revoked-rid-within-its-second": issuer.card("full", MADE_AT, nbf=within, rid="until"),
        "shc-rid-after-its-time": issuer.card("full", MADE_AT, nbf=after, rid="until"),
        "shc-rid-of-another-kid": issuer.card("full", MADE_AT, rid="other"),
        "shc-rid-not-listed": issuer.card("full", MADE_AT, rid="kept"),
        "shc-no-rid": issuer.card("full", MADE_AT),
    }
    cases = [{"name": n, "texts": [t], "now": MADE_AT.isoformat()} for n, t in made.items()]
    return cases, crls


def _cases() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    dcc_trust = json.loads((VECTORS / "dcc" / "own" / "trust.json").read_text())
    shc_trust = json.loads((VECTORS / "shc" / "own" / "trust.json").read_text())
    es = DemoDsc.new(MADE_AT)
    ps = DemoDsc.new(MADE_AT, alg="PS256")
    xd = DemoDsc.new(MADE_AT, subject_country="XD")
    issuer = DemoShcIssuer.new("https://issuer.example.org/revoking")
    made_shc, issuer_crls = _made_shc(issuer)
    spec_crl = json.loads(
        (VECTORS / "shc/revocation/3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json").read_text()
    )
    jwks = {
        **shc_trust["jwks"],
        SPEC_ISSUER: json.loads((VECTORS / "shc" / "public" / "issuer-jwks.json").read_text()),
    }
    crls = {SPEC_ISSUER: [spec_crl], issuer.iss: issuer_crls}
    jwks[issuer.iss] = {"keys": [issuer.jwk]}
    certificates = {
        **dcc_trust["certificates"],
        **{d.kid.hex(): base64.b64encode(d.der).decode() for d in (es, ps, xd)},
    }
    payload = {
        "type": "international-trust",
        "version": 1,
        "since": 0,
        "issued_at": "2026-06-01T00:00:00+00:00",
        "dcc": [
            {"kid": kid, "country": "XA", "certificate": der, **dsc_summary(der, kid)}
            for kid, der in sorted(certificates.items())
        ],
        "dcc_revocation": [],
        "shc": [
            {"iss": iss, "name": iss, "keys": keys["keys"], "crls": crls.get(iss, [])}
            for iss, keys in jwks.items()
        ],
    }
    dcc = []
    for c in json.loads((VECTORS / "dcc" / "own" / "cases.json").read_text()):
        revocation = None
        if c["name"] in OWN_REVOKED:
            kid, _ = _hashes(c["text"])
            hashes = [bytes.fromhex(h) for h in c["revoked"]]
            revocation = [_batch(kid, OWN_REVOKED[c["name"]], hashes)]
        dcc.append(
            {"name": c["name"], "text": c["text"], "now": c["now"], "revocation": revocation}
        )
    dcc += _made(es, ps, xd)
    shc_cases = [
        {"name": c["name"], "texts": c.get("texts") or [c["text"]], "now": c["now"]}
        for c in json.loads((VECTORS / "shc" / "own" / "cases.json").read_text())
    ]
    for case in json.loads((VECTORS / "shc" / "public" / "expected.json").read_text()):
        texts = [(VECTORS / "shc" / "public" / f).read_text("utf-8") for f in case["files"]]
        if all(t.startswith("shc:/") for t in texts):
            shc_cases.append(
                {"name": case["files"][0], "texts": texts, "now": SHC_CLOCK.isoformat()}
            )
    revoked_example = (VECTORS / "shc/revocation/example-03-d-jws.txt").read_text().strip()
    shc_cases.append(
        {
            "name": "spec-example-03-revoked",
            "texts": ["shc:/" + shc.numeric_encode(revoked_example)],
            "now": "2023-06-01T00:00:00+00:00",
        }
    )
    shc_cases += made_shc
    return dcc, shc_cases, payload


def _python(
    result: InternationalResult, now: datetime, sets: list[PolicySet], kind: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"valid": result.valid, "reason": result.reason}
    cert: CertificateFacts | None = result.facts
    if cert is None:
        return out
    # As verifier.Verifier._international builds them.
    test = cert.data(now)["test"]
    hours = None
    if test is not None and test["negative"] and test["hours_since_sample"] is not None:
        hours = max(0, int(test["hours_since_sample"]))
    facts = Facts(
        now=now,
        region=REGION,
        place_kind="any",
        online=False,
        source="claims",
        kind=kind,
        issuer=cert.issuer,
        issued_at=cert.issued_at,
        hours_since_negative=hours,
        certificate=cert,
    )
    data = facts.data()
    assert data["external"].pop("valueSets") is eu_value_sets()
    return {
        **out,
        "data": cert.data(now),
        "policy_data": data,
        "decisions": [decide(policies, facts).to_dict() for policies in sets],
        "display": _holder_display(cert.holder_name, cert.holder_dob),
    }


PAGE_CHECK = """async ([payload, policies, dcc, shc, region, valueSets]) => {
    const base = '/static/js/checkpoint/';
    const m = {};
    for (const name of ['policy', 'international', 'dcc-schema']) {
        Object.assign(m, await import(base + name + '.mjs'));
    }
    const trust = await m.trustFrom(payload);
    const sets = policies.map((p) => m.PolicySet.fromPayload(p));
    const seen = (r, now) => {
        const out = {valid: r.valid, reason: r.reason};
        if (!r.facts) return out;
        const facts = m.certificateFacts(r.facts, {now, region});
        const data = m.factsData(facts);
        if (data.external.valueSets !== m.EU_VALUE_SETS) throw new Error('valueSets');
        delete data.external.valueSets;
        return {...out, data: m.certificateData(r.facts, now), policy_data: data,
                decisions: sets.map((set) => m.decide(set, facts)),
                display: m.holderDisplay(r.facts)};
    };
    const out = [JSON.stringify(m.EU_VALUE_SETS) === JSON.stringify(valueSets)];
    for (const c of dcc) {
        const now = Date.parse(c.now) / 1000;
        const held = c.revocation
            ? await m.trustFrom({...payload, dcc_revocation: c.revocation}) : trust;
        out.push(seen(await m.verifyDcc(c.text, held, now), now));
    }
    for (const c of shc) {
        const now = Date.parse(c.now) / 1000;
        out.push(seen(await m.verifyShc(c.texts, trust, now), now));
    }
    return out;
}"""


def test_the_page_verifies_and_decides_the_vectors_as_the_python_core(
    tab: Tab, served: str
) -> None:
    dcc, shc_cases, payload = _cases()
    policies_at = datetime(2021, 1, 1, tzinfo=UTC)
    rules, refused = parse_eu_rules(
        json.loads((VECTORS / "eu-rules" / "EU-rules.json").read_text())
    )
    assert len(refused) == 1  # TR-EU-0002, on the device list (tests/unit/test_eu_rules.py)
    policies_payloads = [
        _policies(policies_at),
        _policies(policies_at, eu_rules_policy(rules, otherwise=True), "the EU's rules"),
    ]
    sets = [PolicySet.from_payload(p) for p in policies_payloads]
    state = international_state(payload)
    python = []
    for c in dcc:
        now = datetime.fromisoformat(c["now"])
        held = state
        if c["revocation"]:
            held = international_state({**payload, "dcc_revocation": c["revocation"]})
        result = verify_dcc(c["text"], certificates=held.signers, now=now, revoked=held.revocation)
        python.append(_python(result, now, sets, "dcc"))
    for c in shc_cases:
        now = datetime.fromisoformat(c["now"])
        result = verify_shc(c["texts"], jwks=state.issuers, now=now)
        python.append(_python(result, now, sets, "shc"))
    tab.page.goto(served + "/signin/staff")
    value_sets = {k: list(v) for k, v in eu_value_sets().items()}
    same_sets, *page = tab.page.evaluate(
        PAGE_CHECK, [payload, policies_payloads, dcc, shc_cases, REGION, value_sets]
    )
    assert same_sets, "the page's external.valueSets differ from the core's"
    names = [c["name"] for c in dcc] + [c["name"] for c in shc_cases]
    mismatches = [(name, p, b) for name, p, b in zip(names, python, page, strict=True) if p != b]
    if mismatches and (dump := os.environ.get("YMT_DUMP")):
        Path(dump).write_text(json.dumps(mismatches, indent=1, default=str))
    assert mismatches == [], mismatches[:3]
    by_name = dict(zip(names, python, strict=True))
    decided = [p["decisions"][0]["outcome"] for p in python if "decisions" in p]
    assert {"PASS", "DENY"} <= set(decided), decided
    eu = {n: p["decisions"][1]["outcome"] for n, p in by_name.items() if n.startswith("eu-")}
    assert {"PASS", "DENY"} <= set(eu.values()), eu
    reasons = [p["reason"] or "" for p in python]
    assert sum(r == "revoked" for r in reasons) >= 18, reasons
    assert sum(r.startswith("schema: ") for r in reasons) >= 20, reasons
    assert sum(r.startswith("value set: ") for r in reasons) >= 5, reasons
    assert by_name["spec-example-03-revoked"]["reason"] == "revoked"
    assert sum(1 for p in python if not p["valid"]) > 30


# ------------------------------------------------------------------------------------ the page
@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[World, DemoDsc, DemoShcIssuer]]:
    with checkpoint_world(tmp_path_factory.mktemp("intl-page")) as made:
        now = made.clock()
        dsc = DemoDsc.new(now - timedelta(days=1), usages="tvr")
        issuer = DemoShcIssuer.new()
        trust = InternationalTrust(made.fed.ctx)
        admin = Caller(role="admin", name="admin")
        trust.import_dcc(admin, gateway_list([dsc]))
        trust.import_shc(admin, vci_snapshot([issuer], rids={issuer.iss: ["gone"]}))
        # the recovery certificate's UCI revoked, in a batch of the DSC's kid
        _, hashes = _hashes(dsc.hc1(cwt("r", now)))
        batch = revocation_batch(dsc, "UCI", hashes["UCI"], now + timedelta(days=30))
        assert trust.import_dcc_revocation(admin, [batch])["refused"] == []
        authority = Caller(role="authority", name="authority-310000", scope=REGION)
        EntryPolicies(made.fed.ctx).put(
            authority, REGION, place_kind="any", rule=ONE_POLICY, description="one policy"
        )
        yield made, dsc, issuer


def _at_region(tab: Tab) -> None:
    page = tab.page
    page.evaluate("() => { document.getElementById('settings').open = true; }")
    page.fill("#region", REGION)
    page.click("#settings-form button[type=submit]")
    page.wait_for_function(
        "() => window.checkpoint && window.checkpoint.verifier.config.region === '310000'"
        " && window.checkpoint.verifier.policy !== null"
        " && window.checkpoint.verifier.international !== null",
        timeout=20000,
    )


def _last(tab: Tab) -> dict[str, Any]:
    got: dict[str, Any] = tab.page.evaluate("() => window.checkpoint.results.at(-1)")
    return got


def test_the_page_decides_dccs_and_shcs_from_the_hubs_signed_trust_online_and_offline(
    tab: Tab, world: tuple[World, DemoDsc, DemoShcIssuer]
) -> None:
    w, dsc, issuer = world
    now = w.clock()
    sign_in(tab, w.url, w.credential("gate-intl", scope=REGION))
    _at_region(tab)

    pcr = scan(tab, dsc.hc1(cwt("t", now)))
    screenshot(tab, "dcc-pass")
    assert pcr["outcome"] == "PASS", pcr
    got = _last(tab)
    assert got["kind"] == "dcc" and got["display"]["masked_name"] == "Musterfrau *", got
    assert got["display"]["date_of_birth"] == "1964-08-12"
    assert "1964-08-12" in tab.page.inner_text("#date-of-birth")
    assert got["scan_id"], got  # recorded, as the CLI records it: no pseudonym
    queued = tab.page.evaluate(
        "(id) => window.checkpoint.verifier.store.tx('scans', 'readonly',"
        " (s) => new Promise((ok) => { const r = s.get(id); r.onsuccess = () => ok(r.result); }))",
        got["scan_id"],
    )
    assert queued["sid"] is None and queued["decision"] == "PASS", queued
    assert queued["state"] == "local" and "1964" not in json.dumps(queued)

    forged = scan(tab, dsc.hc1(cwt("t", now), tamper=True))
    screenshot(tab, "dcc-tampered")
    assert forged["outcome"] == "DENY", forged
    assert "refused: bad signature" in _last(tab)["notes"]

    # revoked, from the batches and CRLs inside the hub's signed international trust
    assert scan(tab, dsc.hc1(cwt("r", now)))["outcome"] == "DENY"
    assert "refused: revoked" in _last(tab)["notes"]
    assert scan(tab, issuer.card("full", now, rid="gone"))["outcome"] == "DENY"
    assert "refused: revoked" in _last(tab)["notes"]

    card = issuer.card("full", now, rid="kept")
    assert scan(tab, card)["outcome"] == "PASS"
    assert _last(tab)["display"]["masked_name"] == "Anyperson *"
    assert scan(tab, issuer.card("partial", now))["outcome"] == "DENY"

    # A chunked card scanned one QR code at a time: decided when the last chunk is read.
    parts = chunks(issuer.jws(shc_payload("full", now, issuer.iss)), 3)
    first = scan(tab, parts[2])
    screenshot(tab, "shc-more")
    assert first["outcome"] == "MORE", first
    assert scan(tab, parts[0])["outcome"] == "MORE"
    assert scan(tab, parts[1])["outcome"] == "PASS"
    # ... or typed as one text, the chunks separated by white space.
    assert scan(tab, " ".join(parts))["outcome"] == "PASS"

    # No network: the page opens from its service worker, the trust from IndexedDB.
    tab.page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    tab.page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20000)
    tab.page.context.set_offline(True)
    try:
        tab.page.reload()
        tab.page.wait_for_selector("body[data-ready=yes]", timeout=20000)
        assert tab.page.evaluate("() => window.checkpoint.verifier.international !== null")
        offline = scan(tab, dsc.hc1(cwt("t", now)))
        assert offline["outcome"] == "PASS" and offline["mode"] == "offline", offline
        old = scan(tab, dsc.hc1(cwt("t", now - timedelta(hours=40))))
        assert old["outcome"] == "DENY", old  # sampled 60 h ago
        stranger = scan(tab, DemoDsc.new(now).hc1(cwt("t", now)))
        assert stranger["outcome"] == "CHECK" and "refused: unknown kid" in _last(tab)["notes"]
    finally:
        tab.page.context.set_offline(False)
    assert tab.foreign_requests(w.url) == []
