"""The checkpoint page's own logic, in Chromium, against the Python verifier and the shared
vectors: JCS bytes, YMT1 codes (valid and invalid), the CertLogic suites through the page's
evaluator (certlogic-js), and the demo policies over a table of facts — the browser's
decision, reasons and policy must be the Python verifier's."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, Tab
from tests.integration.conftest import issuer_settings
from yimatong.bootstrap import build_issuer
from yimatong.domain.facts import Colour
from yimatong.domain.token import CodeKind, HealthClaims
from yimatong.verifier.demo import demo_policy_entries
from yimatong.verifier.policy import Policy, PolicySet, decide, facts_from_answer, facts_from_claims

VECTORS = Path(__file__).parent.parent / "vectors"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)

#: Where certlogic-js departs from the CertLogic text that our Python evaluator follows
#: (docs/certlogic.md, "Semantics notes"). None of them can be reached by a policy the hub
#: accepts over the facts a checkpoint builds: ``var`` paths are checked against the facts
#: (no string indexing, no ``length``, no leading zeros), no fact is an array compared with
#: ``===`` or a boolean looked up with ``in``, and every time in the facts is RFC 3339 that
#: both read alike. The test asserts that these, and only these, differ.
KNOWN_DEPARTURES = {
    "dccDateOfBirth: the last date consistent with a (partial) date of birth #8",
    "dccDateOfBirth: the last date consistent with a (partial) date of birth #9",
    "operators: var: only objects and arrays can be drilled into #1",
    "operators: var: a leading zero still indexes #2",
    "operators: var: non-integer fragments on arrays are null #1",
    "operators: ===: no coercion #7",
    "operators: ===: no coercion #9",
    "operators: === on date-times compares instants #1",
    "operators: in: bools and integers stay apart #4",
    "plusTime: strings that are not in an allowed format are errors #13",
    "plusTime: strings that are not in an allowed format are errors #16",
    "plusTime: strings that are not in an allowed format are errors #21",
    "plusTime: strings that are not in an allowed format are errors #22",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("logic")
    node = build_issuer(issuer_settings(f"sqlite:///{state / 'n.db'}", state), rng=random.Random(1))
    try:
        with LiveServer(node.app) as server:
            yield server.url
    finally:
        node.close()


@pytest.fixture
def page(tab: Tab, served: str) -> Any:
    tab.page.goto(served + "/signin/staff")
    return tab.page


def _modules(page: Any) -> None:
    page.evaluate(
        """async () => {
            const base = '/static/js/checkpoint/';
            window.m = {};
            for (const name of ['jcs', 'code', 'policy', 'lists']) {
                Object.assign(window.m, await import(base + name + '.mjs'));
            }
        }"""
    )


# --------------------------------------------------------------------------- JCS
def test_the_jcs_vectors_in_the_browser(page: Any) -> None:
    _modules(page)
    vectors = json.loads((VECTORS / "jcs" / "vectors.json").read_text("utf-8"))["vectors"]
    got = page.evaluate(
        """async (vectors) => Promise.all(vectors.map(async (v) => {
            const text = m.canonicalize(JSON.parse(v.input));
            const digest = new Uint8Array(await crypto.subtle.digest('SHA-256',
                                          new TextEncoder().encode(text)));
            return {name: v.name, text, sha256: m.hex(digest)};
        }))""",
        vectors,
    )
    for vector, out in zip(vectors, got, strict=True):
        assert (out["text"], out["sha256"]) == (vector["canonical"], vector["sha256"]), out


# --------------------------------------------------------------------------- YMT1
YMT1_CHECK = """async ([vectors, valid]) => {
    const t = (s) => (s == null ? null : Date.parse(s) / 1000);
    const b64 = (pem) => pem.replace(/-----[^-]+-----/g, '').replace(/\\s/g, '');
    const out = [];
    for (const v of vectors) {
        const entries = [];
        for (const e of v.trust) {
            const k = await m.importKey({kid: e.kid, alg: e.cose_alg,
                                         public_key: b64(e.public_key_pem)});
            entries.push({kid: e.kid, issuer: e.issuer, ...k, not_before: t(e.not_before),
                          not_after: t(e.not_after), revoked_at: t(e.revoked_at)});
        }
        try {
            const ring = new m.Keyring(entries);
            const c = await m.verifyCodeAt(v.code, ring, t(v.now), v.leeway_seconds);
            out.push({name: v.name, claims: {...c, issued_at: m.iso(c.issued_at),
                      expires_at: m.iso(c.expires_at), colour_since: m.iso(c.colour_since)}});
        } catch (exc) {
            out.push({name: v.name, error: exc.constructor.name,
                      detail: exc.detail ?? exc.message});
        }
    }
    return out;
}"""


def test_the_ymt1_vectors_verify_in_the_browser(page: Any) -> None:
    _modules(page)
    for kind in ("valid", "invalid"):
        vectors = json.loads((VECTORS / "ymt1" / f"{kind}.json").read_text("utf-8"))["vectors"]
        got = {g["name"]: g for g in page.evaluate(YMT1_CHECK, [vectors, kind == "valid"])}
        for v in vectors:
            out = got[v["name"]]
            if kind == "invalid":
                assert out.get("detail") == v["detail"], out
            elif v["trust"][0]["alg"] == "SM2-SM3":
                # No SM2 in WebCrypto: not refused, not accepted — the page says CHECK.
                assert out.get("error") == "Unsupported", out
            else:
                assert out.get("claims") == v["expected"], out


# --------------------------------------------------------------------------- CertLogic
def _certlogic_cases() -> list[dict[str, Any]]:
    cases = []
    for folder in ("official", "own"):
        for path in sorted((VECTORS / "certlogic" / folder / "testSuite").glob("*.json")):
            suite = json.loads(path.read_text("utf-8"))
            for case in suite["cases"]:
                for i, a in enumerate(case["assertions"]):
                    expected: Any = a.get("expected")
                    if "expectedError" in a or a.get("directive") == "skip":
                        expected = {"error": a.get("errorPath")}
                    elif "expectedDateTime" in a:
                        expected = {"datetime": a["expectedDateTime"]}
                    cases.append(
                        {
                            "name": f"{path.stem}: {case['name']} #{i + 1}",
                            "expr": a.get("certLogicExpression", case.get("certLogicExpression")),
                            "data": a.get("data"),
                            "expected": expected,
                        }
                    )
    return cases


def test_the_certlogic_vectors_through_the_pages_evaluator(page: Any) -> None:
    _modules(page)
    cases = _certlogic_cases()
    got = page.evaluate(
        """(cases) => cases.map((c) => {
            try {
                const v = m.run(c.expr, c.data);
                if (v instanceof Date) return {datetime: v.toISOString()};
                return v === undefined ? null : v;
            } catch (exc) {
                return {error: exc.path ?? null};
            }
        })""",
        cases,
    )
    differ = set()
    for case, value in zip(cases, got, strict=True):
        expected = case["expected"]
        if isinstance(expected, dict) and "error" in expected:
            ok = (
                isinstance(value, dict)
                and "error" in value
                and (expected["error"] is None or value["error"] == expected["error"])
            )
        else:
            ok = json.dumps(value, sort_keys=True) == json.dumps(expected, sort_keys=True)
        if not ok:
            differ.add(case["name"])
    assert len(cases) > 380
    assert differ == KNOWN_DEPARTURES


# --------------------------------------------------------------------------- decisions
EXTRA_POLICIES = [
    # an unguarded rule: "no test" is an evaluation error, so CHECK naming the operand
    {
        "region": "440000",
        "place_kind": "any",
        "description": "72 小时核酸 / a test within 72 h",
        "rule": {"<": [{"var": "tests.hours_since_negative"}, 72]},
    },
    # lenient about a missing temperature, strict about a stay
    {
        "region": "110000",
        "place_kind": "school",
        "description": "绿码、无中高风险停留",
        "rule": {
            "and": [
                {"===": [{"var": "code.colour"}, "green"]},
                {
                    "if": [
                        {"var": "scan.temperature_decidegrees"},
                        {"<": [{"var": "scan.temperature_decidegrees"}, 373]},
                        True,
                    ]
                },
                {
                    "!": [
                        {
                            "reduce": [
                                {"var": "stays"},
                                {
                                    "if": [
                                        {"var": "accumulator"},
                                        True,
                                        {"<=": [{"var": "current.days_ago"}, 14]},
                                    ]
                                },
                                False,
                            ]
                        }
                    ]
                },
            ]
        },
    },
]


def _payloads() -> dict[str, dict[str, Any]]:
    entries = [*demo_policy_entries(), *EXTRA_POLICIES]
    policies = [
        Policy(
            id=i + 1,
            region=e["region"],
            place_kind=e.get("place_kind", "any"),
            version=i + 1,
            rule=e["rule"],
            description=e["description"],
            valid_from=NOW - timedelta(days=10),
        )
        for i, e in enumerate(entries)
    ]
    out = {}
    for region in ("520000", "330000", "330106", "440300", "110000", "110101", "650000"):
        chain = PolicySet(region=region, version=0).governed_by  # noqa: F841 - shape only
        held = [p for p in policies if p.region in _chain(region)]
        made = PolicySet(
            region=region, version=max((p.version for p in held), default=0), policies=tuple(held)
        )
        out[region] = {
            "type": "policies",
            "region": region,
            "version": made.version,
            "issued_at": NOW.isoformat(),
            "governed_by": list(made.governed_by),
            "national_default": not made.governed_by,
            "policies": [p.to_dict() for p in held],
        }
    return out


def _chain(region: str) -> list[str]:
    return list(dict.fromkeys([region, region[:4] + "00", region[:2] + "0000", "000000"]))


def _claims_table() -> list[dict[str, Any]]:
    reasons = {
        "green": [],
        "yellow": ["stay.medium-risk"],
        "red": ["contact.close", "test.positive"],
    }
    rows = []
    for colour, hours, kind, age in itertools.product(
        ("green", "yellow", "red"), (None, 5, 80), ("dynamic", "printed"), (30, 7200)
    ):
        issued = NOW - timedelta(seconds=age)
        rows.append(
            {
                "issuer": "330000",
                "issued_at": int(issued.timestamp()),
                "expires_at": int(issued.timestamp()) + 86400,
                "sid": "ab" * 16,
                "colour": colour,
                "colour_since": int((NOW - timedelta(days=3)).timestamp()),
                "reasons": reasons[colour],
                "hours_since_negative_test": hours,
                "masked_name": "张*",
                "masked_id": "33**************12",
                "kind": kind,
                "version": 1,
            }
        )
    return rows


def _answers_table() -> list[dict[str, Any]]:
    stay = {
        "code": "stay.medium-risk",
        "since": (NOW - timedelta(days=3)).isoformat(),
        "detail": {"area": "330106002"},
    }
    rows = []
    for status, colour, hours, kind in itertools.product(
        ("online", "summary", "claims"),
        ("green", "yellow"),
        ("none", None, 20),
        ("dynamic", "printed"),
    ):
        answer: dict[str, Any] = {
            "valid": True,
            "issuer": "330000",
            "issuer_kind": "native",
            "kind": kind,
            "sid": "cd" * 16,
            "colour": colour,
            "status": status,
            "reasons": [stay] if colour == "yellow" else [],
            "issued_at": (NOW - timedelta(hours=3)).isoformat(),
            "colour_since": (NOW - timedelta(days=3)).isoformat(),
        }
        if hours != "none":
            answer["hours_since_negative_test"] = hours
        rows.append(answer)
    rows.append(
        {
            "valid": True,
            "issuer": "420000",
            "kind": "lookup",
            "status": "online",
            "colour": "red",
            "reasons": [{"code": "legacy.status-02"}],
            "hours_since_negative_test": 3,
        }
    )
    return rows


PLACES = [
    ("520000", "any"),
    ("330000", "transport"),
    ("330000", "any"),
    ("330106", "office"),
    ("440300", "any"),
    ("110101", "school"),
    ("650000", "any"),
]
TEMPERATURES = [None, 36.5, 37.3, 38.25, 36.25, 36.45]


def _python_decisions(payloads: dict[str, Any]) -> list[dict[str, Any]]:
    sets = {r: PolicySet.from_payload(p) for r, p in payloads.items()}
    out = []
    for (region, place), temp in itertools.product(PLACES, TEMPERATURES):
        policy_set = sets[region]
        for c in _claims_table():
            claims = HealthClaims(
                issuer=c["issuer"],
                issued_at=datetime.fromtimestamp(c["issued_at"], UTC),
                expires_at=datetime.fromtimestamp(c["expires_at"], UTC),
                sid=c["sid"],
                colour=Colour(c["colour"]),
                colour_since=datetime.fromtimestamp(c["colour_since"], UTC),
                reasons=tuple(c["reasons"]),
                hours_since_negative_test=c["hours_since_negative_test"],
                masked_name=c["masked_name"],
                masked_id=c["masked_id"],
                kind=CodeKind(c["kind"]),
            )
            facts = facts_from_claims(
                claims,
                now=NOW,
                region=region,
                place_kind=place,
                temperature=temp,
                area_level="low",
                issuer_kind="native",
            )
            out.append(decide(policy_set, facts).to_dict())
        for a in _answers_table():
            facts = facts_from_answer(
                a, now=NOW, region=region, place_kind=place, temperature=temp, area_level="medium"
            )
            out.append(decide(policy_set, facts).to_dict())
    return out


BROWSER_DECISIONS = """([payloads, places, temperatures, claims, answers, now]) => {
    const sets = Object.fromEntries(
        Object.entries(payloads).map(([r, p]) => [r, m.PolicySet.fromPayload(p)]));
    const out = [];
    for (const [region, place] of places) {
        for (const temperature of temperatures) {
            for (const c of claims) {
                const f = m.factsFromClaims(c, {now, region, placeKind: place, temperature,
                                                areaLevel: 'low', issuerKind: 'native'});
                out.push(m.decide(sets[region], f));
            }
            for (const a of answers) {
                const f = m.factsFromAnswer(a, {now, region, placeKind: place, temperature,
                                                areaLevel: 'medium'});
                out.push(m.decide(sets[region], f));
            }
        }
    }
    return out;
}"""


def test_the_demo_policies_decide_in_the_browser_as_the_python_verifier(page: Any) -> None:
    _modules(page)
    payloads = _payloads()
    python = _python_decisions(payloads)
    browser = page.evaluate(
        BROWSER_DECISIONS,
        [payloads, PLACES, TEMPERATURES, _claims_table(), _answers_table(), NOW.timestamp()],
    )
    assert len(browser) == len(python) > 1000
    outcomes = {d["outcome"] for d in python}
    assert outcomes == {"PASS", "DENY", "CHECK"}
    assert any("无法判定（/</0）" in r for d in python for r in d["reasons_zh"])
    mismatches = [(p, b) for p, b in zip(python, browser, strict=True) if p != b]
    assert mismatches == [], mismatches[:3]


def test_no_policies_on_the_device_is_check_in_both(page: Any) -> None:
    _modules(page)
    facts = facts_from_answer(
        {"valid": True, "colour": "green", "status": "online"}, now=NOW, region="520100"
    )
    browser = page.evaluate(
        """(now) => m.decide(null, m.factsFromAnswer(
               {valid: true, colour: 'green', status: 'online'}, {now, region: '520100'}))""",
        NOW.timestamp(),
    )
    assert browser == decide(None, facts).to_dict()


def test_a_pop_up_is_check_in_both_whatever_the_policy(page: Any) -> None:
    _modules(page)
    reasons = [{"code": "popup.no-data"}, {"code": "popup.identity-mismatch"}]
    answer = {"valid": True, "colour": "yellow", "status": "online", "reasons": reasons}
    facts = facts_from_answer(answer, now=NOW, region="520100")
    browser = page.evaluate(
        """([a, now]) => m.decide(null, m.factsFromAnswer(a, {now, region: '520100'}))""",
        [answer, NOW.timestamp()],
    )
    python = decide(None, facts).to_dict()
    assert browser == python
    assert python["outcome"] == "CHECK" and len(python["reasons_en"]) == 2
