"""International certificates on the checkpoint page, in Chromium.

Parity: over the repository's own DCC and SHC vectors (tests/vectors/*/own) and the SMART
Health Cards specification's examples, the page's ``verifyDcc``/``verifyShc`` give the
validity and reason of ``verify_dcc``/``verify_shc``, the same ``certificate`` facts, the same
display and the same decision under one CertLogic policy — one page load.

End to end: the hub imports a DSC list and a VCI snapshot, the page signed in at the hub
fetches the signed international trust, and decides on a DCC (passes under the policy; a
tampered one is refused with its reason), on an SHC whole and scanned chunk by chunk, and
with the network off from the trust it keeps.
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

import pytest

from tests.browser.checkpoint_world import World, checkpoint_world, scan, screenshot, sign_in
from tests.browser.conftest import LiveServer, Tab
from tests.integration.conftest import issuer_settings
from yimatong.bootstrap import build_issuer
from yimatong.credentials import Caller
from yimatong.demo.international import (
    DemoDsc,
    DemoShcIssuer,
    chunks,
    cwt,
    gateway_list,
    shc_payload,
    vci_snapshot,
)
from yimatong.hub.dsc_summary import dsc_summary
from yimatong.hub.international import InternationalTrust
from yimatong.hub.policies import EntryPolicies
from yimatong.verifier.international import (
    CertificateFacts,
    InternationalResult,
    document_signer,
    verify_dcc,
    verify_shc,
)
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


def _policies(now: datetime) -> dict[str, Any]:
    policy = Policy(
        id=1,
        region=REGION,
        place_kind="any",
        version=1,
        rule=ONE_POLICY,
        description="one policy",
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


def _cases() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    dcc_trust = json.loads((VECTORS / "dcc" / "own" / "trust.json").read_text())
    shc_trust = json.loads((VECTORS / "shc" / "own" / "trust.json").read_text())
    jwks = {
        **shc_trust["jwks"],
        SPEC_ISSUER: json.loads((VECTORS / "shc" / "public" / "issuer-jwks.json").read_text()),
    }
    payload = {
        "type": "international-trust",
        "version": 1,
        "since": 0,
        "issued_at": "2026-06-01T00:00:00+00:00",
        "dcc": [
            {"kid": kid, "country": "XA", "certificate": der, **dsc_summary(der, kid)}
            for kid, der in sorted(dcc_trust["certificates"].items())
        ],
        "shc": [{"iss": iss, "name": iss, "keys": keys["keys"]} for iss, keys in jwks.items()],
    }
    dcc = [
        {"name": c["name"], "text": c["text"], "now": c["now"]}
        for c in json.loads((VECTORS / "dcc" / "own" / "cases.json").read_text())
    ]
    shc = [
        {"name": c["name"], "texts": c.get("texts") or [c["text"]], "now": c["now"]}
        for c in json.loads((VECTORS / "shc" / "own" / "cases.json").read_text())
    ]
    for case in json.loads((VECTORS / "shc" / "public" / "expected.json").read_text()):
        texts = [(VECTORS / "shc" / "public" / f).read_text("utf-8") for f in case["files"]]
        if all(t.startswith("shc:/") for t in texts):
            shc.append({"name": case["files"][0], "texts": texts, "now": SHC_CLOCK.isoformat()})
    return dcc, shc, payload


def _python(
    result: InternationalResult, now: datetime, policies: PolicySet, kind: str
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
    return {
        **out,
        "data": cert.data(now),
        "decision": decide(policies, facts).to_dict(),
        "display": _holder_display(cert.holder_name, cert.holder_dob),
    }


PAGE_CHECK = """async ([payload, policies, dcc, shc, region]) => {
    const base = '/static/js/checkpoint/';
    const m = {};
    for (const name of ['policy', 'international']) {
        Object.assign(m, await import(base + name + '.mjs'));
    }
    const trust = await m.trustFrom(payload);
    const set = m.PolicySet.fromPayload(policies);
    const seen = (r, now) => {
        const out = {valid: r.valid, reason: r.reason};
        if (!r.facts) return out;
        const facts = m.certificateFacts(r.facts, {now, region});
        return {...out, data: m.certificateData(r.facts, now), decision: m.decide(set, facts),
                display: m.holderDisplay(r.facts)};
    };
    const out = [];
    for (const c of dcc) {
        const now = Date.parse(c.now) / 1000;
        out.push(seen(await m.verifyDcc(c.text, trust, now), now));
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
    dcc, shc, payload = _cases()
    policies_payload = _policies(datetime(2021, 1, 1, tzinfo=UTC))
    policies = PolicySet.from_payload(policies_payload)
    signers = {
        bytes.fromhex(r["kid"]): document_signer(base64.b64decode(r["certificate"]))
        for r in payload["dcc"]
    }
    jwks = {r["iss"]: {"keys": r["keys"]} for r in payload["shc"]}
    python = []
    for c in dcc:
        now = datetime.fromisoformat(c["now"])
        result = verify_dcc(c["text"], certificates=signers, now=now)
        python.append(_python(result, now, policies, "dcc"))
    for c in shc:
        now = datetime.fromisoformat(c["now"])
        result = verify_shc(c["texts"], jwks=jwks, now=now)
        python.append(_python(result, now, policies, "shc"))
    tab.page.goto(served + "/signin/staff")
    page = tab.page.evaluate(PAGE_CHECK, [payload, policies_payload, dcc, shc, REGION])
    names = [c["name"] for c in dcc] + [c["name"] for c in shc]
    mismatches = [(name, p, b) for name, p, b in zip(names, python, page, strict=True) if p != b]
    if mismatches and (dump := os.environ.get("YMT_DUMP")):
        Path(dump).write_text(json.dumps(mismatches, indent=1, default=str))
    assert mismatches == [], mismatches[:3]
    decided = [p["decision"]["outcome"] for p in python if "decision" in p]
    assert {"PASS", "DENY"} <= set(decided), decided
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
        trust.import_shc(admin, vci_snapshot([issuer]))
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

    card = issuer.card("full", now)
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
