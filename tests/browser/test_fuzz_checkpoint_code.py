"""The browser checkpoint's own code decoder (``web/static/js/checkpoint/code.mjs``: base45,
zlib through ``DecompressionStream``, COSE and CWT through cborg) fuzzed against the Python
one, in Chromium.

The inputs are the structured strategies of ``tests/unit/test_fuzz_codes.py`` (random text,
base45 edges, mutations of genuine codes at every layer, zlib streams and bombs, codes signed
by an attacker, under a trusted kid or not, with any algorithm in the header), drawn by
hypothesis into one corpus (``YMT_FUZZ_EXAMPLES`` of each kind, else the quick share) and
verified in one go by the page and by ``verify_code_at``. The page must refuse what Python
refuses, always with its ``InvalidCode`` (or ``UnknownKey``/``ExpiredCode``), never another
exception, and accept what Python accepts with the same claims.

Not in the corpus: hostile claims signed by a *trusted* key (what only the key's holder can
make); Python's claims parser reads any CBOR encoding of them, the page's only plain CBOR.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.browser.conftest import LiveServer, Tab
from tests.fuzz_support import FUZZ_EXAMPLES, fuzz_settings, tried
from tests.integration.conftest import issuer_settings
from tests.unit import test_fuzz_codes as fz
from yimatong.adapters.wire.code import verify_code_at
from yimatong.bootstrap import build_issuer
from yimatong.domain.errors import InvalidCode

QUICK = 200  # inputs of each of the kinds below in the quick slice


def _collect(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """``n`` inputs drawn by hypothesis from ``strategy`` (nothing fails, so nothing shrinks)."""
    out: list[Any] = []

    @fuzz_settings(quick=n)
    @given(strategy)
    def draw(value: Any) -> None:
        out.append(value)

    draw()
    return out


@st.composite
def mutated_codes(draw: st.DrawFn) -> str:
    code = draw(st.sampled_from(fz.GENUINE))
    layer = draw(st.sampled_from(["text", "base45-bytes", "cose", "cose-repacked"]))
    if layer == "text":
        return fz.PREFIX + fz._text_mutations(draw, code[len(fz.PREFIX) :])
    if layer == "base45-bytes":
        raw = fz.reference_b45.b45decode(code[len(fz.PREFIX) :])
        return fz.PREFIX + fz.b45encode(draw(fz.mutated(raw)))
    cose = draw(fz.mutated(fz._cose_of(code)))
    body = fz.zlib.compress(cose, draw(st.integers(0, 9))) if layer != "cose" else cose
    return fz.PREFIX + fz.b45encode(body)


@st.composite
def other_signers(draw: st.DrawFn) -> str:
    payload = draw(st.sampled_from(fz.GENUINE_SIGN1)).payload
    alg = draw(st.sampled_from([None, -7, -8, 0, 1, -257]))
    kid = draw(st.sampled_from([None, fz.ED.kid, fz.ES.kid]))
    protected = b"\xa2\x01" + fz.cbor2.dumps(-8 if alg is None else alg)
    protected += b"\x04" + fz.cbor2.dumps(fz.ATTACKER.kid if kid is None else kid)
    signature = fz.ATTACKER.sign(fz.sig_structure(protected, payload))
    cose = fz.cbor2.dumps(fz.cbor2.CBORTag(18, [protected, {}, payload, signature]))
    return fz.PREFIX + fz.b45encode(cose)


@st.composite
def zlib_codes(draw: st.DrawFn) -> str:
    inflated = draw(
        st.one_of(
            st.integers(1, 1_500_000).map(lambda n: b"\x00" * n),
            st.sampled_from(fz.GENUINE_COSE),
            st.binary(max_size=2000),
        )
    )
    packed = fz.zlib.compress(inflated, draw(st.integers(0, 9))) + draw(st.binary(max_size=4))
    return fz.PREFIX + fz.b45encode(packed[: fz.MAX_CODE_LENGTH * 2 // 3])


def corpus() -> list[str]:
    n = FUZZ_EXAMPLES or QUICK
    kinds = [
        fz.raw_text,
        mutated_codes(),
        other_signers(),
        zlib_codes(),
        st.sampled_from(fz.GENUINE),
    ]
    return [c for kind in kinds for c in _collect(kind, n)]


def _python(code: str) -> dict[str, Any]:
    try:
        c = verify_code_at(code, fz.RING, fz.NOW)
    except InvalidCode as exc:
        return {"refused": exc.detail}
    return {"sid": c.sid, "colour": c.colour.value, "exp": int(c.expires_at.timestamp())}


VERIFY_ALL = """async ([codes, trust, now]) => {
    const m = await import('/static/js/checkpoint/code.mjs');
    const entries = [];
    for (const e of trust) entries.push({...e, ...(await m.importKey(e))});
    const ring = new m.Keyring(entries);
    const out = [];
    for (const code of codes) {
        try {
            const c = await m.verifyCodeAt(code, ring, now);
            out.push({sid: c.sid, colour: c.colour, exp: c.expires_at});
        } catch (exc) {
            out.push({error: exc.constructor.name, refused: exc.detail ?? String(exc)});
        }
    }
    return out;
}"""

#: Where the two may give a different operator detail for one refusal (both refuse): the
#: page counts inflated bytes as they stream and stops at the cap itself (``>=``), Python asks
#: zlib for at most the cap and then looks at what is left.
SAME_REFUSAL = {frozenset({"inflates too large", "malformed: COSE"})}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("fuzz-page")
    node = build_issuer(issuer_settings(f"sqlite:///{state / 'n.db'}", state), rng=random.Random(1))
    try:
        with LiveServer(node.app) as server:
            yield server.url
    finally:
        node.close()


def test_the_pages_decoder_refuses_and_accepts_exactly_what_the_python_verifier_does(
    tab: Tab, served: str
) -> None:
    tab.page.goto(served + "/signin/staff")
    trust = [
        {
            "kid": entry.kid.hex(),
            "alg": entry.key.alg.value,
            "public_key": base64.b64encode(entry.key.spki_der()).decode("ascii"),
            "issuer": entry.issuer,
            "not_before": int(entry.not_before.timestamp()),
            "not_after": None,
            "revoked_at": None,
        }
        for entry in fz.RING
    ]
    codes = corpus()
    now = int(fz.NOW.timestamp())
    browser: list[dict[str, Any]] = []
    for i in range(0, len(codes), 500):
        browser += tab.page.evaluate(VERIFY_ALL, [codes[i : i + 500], trust, now])
    tried("browser-code", len(codes))
    differ = []
    for code, page in zip(codes, browser, strict=True):
        python = _python(code)
        if "error" in page:
            assert page["error"] in ("InvalidCode", "UnknownKey", "ExpiredCode"), (code, page)
            page = {"refused": page["refused"]}
        if page == python:
            continue
        details = frozenset({page.get("refused"), python.get("refused")})
        if details in SAME_REFUSAL:
            continue
        differ.append((code[:80], python, page))
    assert not differ, differ[:10]
    assert sum("refused" not in _python(c) for c in codes) >= len(fz.GENUINE)
