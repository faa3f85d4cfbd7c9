"""The checkpoint page's international decoders (``international.mjs``: ``verifyDcc`` and
``verifyShc``) fuzzed against ``verify_dcc``/``verify_shc``, in Chromium.

The inputs are those of ``tests/unit/test_fuzz_international.py`` — mutations of a genuine
``HC1:`` at the text and the COSE layer, of a genuine ``shc:/`` at the text and the JWS layer,
random text, random compressed bytes, certificates an attacker signed, and both decompression
bombs — drawn by hypothesis into one corpus (``YMT_FUZZ_EXAMPLES`` of each kind, else the
quick share) and verified in one go by the page and by Python. The page must never throw, and
give exactly Python's validity and reason for every input. The trust holds a revocation batch
of the DSC and a CRL of the issuer (neither lists the genuine certificates), so a certificate
that gets that far is hashed and looked up on both sides.
"""

from __future__ import annotations

import base64
import random
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.browser.conftest import LiveServer, Tab
from tests.fuzz_support import FUZZ_EXAMPLES, fuzz_settings, tried
from tests.integration.conftest import issuer_settings
from tests.unit import test_fuzz_international as fz
from yimatong.adapters.wire import shc
from yimatong.adapters.wire.base45 import ALPHABET, b45decode, b45encode
from yimatong.bootstrap import build_issuer
from yimatong.demo.international import qr
from yimatong.hub.dsc_summary import dsc_summary
from yimatong.verifier.international import verify_dcc, verify_shc
from yimatong.verifier.lists import international_state

QUICK = 60  # inputs of each kind below in the quick slice


def _collect(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    out: list[Any] = []

    @fuzz_settings(quick=n)
    @given(strategy)
    def draw(value: Any) -> None:
        out.append(value)

    draw()
    return out


@st.composite
def hc1_text(draw: st.DrawFn) -> str:
    text = list(fz.GENUINE_HC1)
    changes = draw(
        st.lists(
            st.tuples(st.integers(min_value=0), st.sampled_from(ALPHABET + "é\x00 :")),
            min_size=1,
            max_size=4,
        )
    )
    for position, char in changes:
        text[4 + position % (len(text) - 4)] = char
    cut = draw(st.integers(min_value=0, max_value=len(fz.GENUINE_HC1)))
    return "".join(text)[: max(cut, 4)] if cut % 3 == 0 else "".join(text)


@st.composite
def hc1_cose(draw: st.DrawFn) -> str:
    cose = bytearray(zlib.decompress(b45decode(fz.GENUINE_HC1[4:])))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        position = draw(st.integers(min_value=0, max_value=len(cose) - 1))
        action = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if action == "flip":
            cose[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif action == "set":
            cose[position] = draw(st.integers(min_value=0, max_value=255))
        elif action == "insert":
            cose.insert(position, draw(st.integers(min_value=0, max_value=255)))
        elif len(cose) > 1:
            del cose[position]
    return "HC1:" + b45encode(zlib.compress(bytes(cose)))


@st.composite
def hc1_random(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return "HC1:" + draw(st.text(max_size=300))
    if kind == 1:
        return "HC1:" + b45encode(zlib.compress(draw(st.binary(max_size=300))))
    return str(draw(st.text(max_size=300)))


@st.composite
def shc_text(draw: st.DrawFn) -> str:
    text = list(fz.GENUINE_SHC)
    changes = draw(
        st.lists(
            st.tuples(st.integers(min_value=0), st.sampled_from("0123456789/a ")),
            min_size=1,
            max_size=4,
        )
    )
    for position, char in changes:
        text[5 + position % (len(text) - 5)] = char
    return "".join(text)


@st.composite
def shc_jws(draw: st.DrawFn) -> str:
    jws = list(fz.JWS)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        position = draw(st.integers(min_value=0, max_value=len(jws) - 1))
        jws[position] = draw(st.sampled_from("-_.Aa0z="))
    return qr("".join(jws))


@st.composite
def shc_random(draw: st.DrawFn) -> str:
    text = draw(st.text(max_size=300))
    digits = draw(st.from_regex(r"\Ashc:/([0-9]{1,3}/[0-9]{1,3}/)?[0-9]{0,400}\Z"))
    return str(draw(st.sampled_from([text, "shc:/" + text, digits, f"{digits} {digits}"])))


def corpus() -> tuple[list[str], list[str]]:
    n = FUZZ_EXAMPLES or QUICK
    dcc = [t for kind in (hc1_text(), hc1_cose(), hc1_random()) for t in _collect(kind, n)]
    dcc += [
        fz.GENUINE_HC1,
        fz.ATTACKER.hc1(fz.CLAIMS, kid=fz.DSC.kid),
        fz.ATTACKER.hc1(fz.CLAIMS),
        "HC1:" + b45encode(zlib.compress(b"\0" * 4_000_000, 9)),
    ]
    cards = [t for kind in (shc_text(), shc_jws(), shc_random()) for t in _collect(kind, n)]
    cards += [fz.GENUINE_SHC, qr(fz.ISSUER.jws(None, body=shc.deflate_raw(b"[" * 5_000_000)))]
    return dcc, cards


VERIFY_ALL = """async ([payload, dcc, cards, now]) => {
    const m = await import('/static/js/checkpoint/international.mjs');
    const trust = await m.trustFrom(payload);
    const out = [];
    for (const [verify, texts] of [[m.verifyDcc, dcc], [m.verifyShc, cards]]) {
        for (const text of texts) {
            try {
                const r = await verify(text, trust, now);
                out.push({valid: r.valid, reason: r.reason});
            } catch (exc) {
                out.push({error: String(exc)});
            }
        }
    }
    return out;
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("fuzz-intl")
    node = build_issuer(issuer_settings(f"sqlite:///{state / 'n.db'}", state), rng=random.Random(1))
    try:
        with LiveServer(node.app) as server:
            yield server.url
    finally:
        node.close()


def test_the_pages_international_decoders_give_exactly_the_python_verdicts(
    tab: Tab, served: str
) -> None:
    der = base64.b64encode(fz.DSC.der).decode()
    kid = fz.DSC.kid.hex()
    payload = {
        "type": "international-trust",
        "version": 1,
        "since": 0,
        "issued_at": fz.NOW.isoformat(),
        "dcc": [{"kid": kid, "country": "XA", "certificate": der, **dsc_summary(der, kid)}],
        "dcc_revocation": [
            {
                "batch": f"b-{hash_type}",
                "country": "XA",
                "kid": kid if hash_type != "UCI" else None,
                "hash_type": hash_type,
                "expires": "2030-01-01T00:00:00+00:00",
                "hashes": [base64.b64encode(bytes(range(16))).decode()],
            }
            for hash_type in ("UCI", "COUNTRYCODEUCI", "SIGNATURE")
        ],
        "shc": [
            {
                "iss": iss,
                "name": iss,
                "keys": keys["keys"],
                "crls": [
                    {"kid": k["kid"], "method": "rid", "rids": ["x", "y.1"]} for k in keys["keys"]
                ],
            }
            for iss, keys in fz.JWKS.items()
        ],
    }
    state = international_state(payload)
    dcc, cards = corpus()
    python = [
        verify_dcc(t, certificates=state.signers, now=fz.NOW, revoked=state.revocation) for t in dcc
    ] + [verify_shc(t, jwks=state.issuers, now=fz.NOW) for t in cards]
    tab.page.goto(served + "/signin/staff")
    page = tab.page.evaluate(VERIFY_ALL, [payload, dcc, cards, fz.NOW.timestamp()])
    tried("browser-international", len(page))
    texts = dcc + cards
    differ = [
        (texts[i][:80], (p.valid, p.reason), b)
        for i, (p, b) in enumerate(zip(python, page, strict=True))
        if b != {"valid": p.valid, "reason": p.reason}
    ]
    assert not differ, differ[:10]
    assert sum(p.valid for p in python) >= 2  # the genuine ones, at least
