"""Fuzz of what a checkpoint and the hub do with a scanned string (issue 10, part 6).

The same kinds of input as ``tests/unit/test_fuzz_codes.py`` (random text, base45 edges,
non-ASCII, legacy-shaped strings, ID-number-shaped strings, and mutations of genuine codes at
the text, base45 and COSE layers), fed to

* ``Verifier.verify`` of a checkpoint with a cached trust list and the network off — it must
  answer every scan (no exception), and say ``valid`` only for what a trusted key signed;
* the hub's ``POST /v1/codes/verify`` over its app — 200 only for a genuine code, otherwise a
  problem (422 invalid code or input; 503 if a legacy system cannot answer), never a 500.
  Legacy-shaped codes reach the real HBJKM imitation through the hub's adapter;
* the hub's blocking ``CodeService.check`` (behind ``/v1/codes/convert``, which is rate
  limited per caller, so it is called in-process) — ``InvalidCode``/``Unavailable`` only;
* the issuer's own ``POST /v1/codes/verify`` (验码), asked with the hub's credential.

``YMT_FUZZ_EXAMPLES`` inputs per test (``tests/fuzz_support.py``). SQLite only: what is fuzzed
is decoding, and the storage paths are covered on both backends by the forgery tests.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime

import base45 as reference_b45
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz_support import fuzz_settings, tried
from tests.integration.forgery_support import Kit, kit_for
from tests.unit.test_fuzz_codes import mutated, raw_text
from yimatong.adapters.legacy_hbjkm import CODE_PREFIX
from yimatong.adapters.wire.base45 import b45encode
from yimatong.adapters.wire.code import PREFIX, verify_code_at
from yimatong.domain.errors import InvalidCode, Unavailable
from yimatong.domain.token import HealthClaims
from yimatong.hub.codes import CodeService
from yimatong.verifier.verifier import Verifier


@pytest.fixture(scope="module")
def kit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    with ExitStack() as stack:
        yield from kit_for("sqlite", request, tmp_path_factory.mktemp("fuzz-scans"), stack)


@pytest.fixture(scope="module")
def genuine(kit: Kit) -> list[str]:
    return [kit.genuine("dynamic"), kit.genuine("printed")]


@pytest.fixture(scope="module")
def offline_gate(kit: Kit) -> Verifier:
    online = kit.gate()
    online.refresh()
    online.close()
    return kit.gate(cache_dir=online.config.cache_dir, offline=True)


def _cose(code: str) -> bytes:
    raw = reference_b45.b45decode(code[len(PREFIX) :])
    return zlib.decompress(raw) if raw[0] == 0x78 else raw


def _message(code: str) -> bytes:
    """The COSE_Sign1 of a code without its tag 18, which a decoder may drop (cose.py takes
    untagged input too: the same message, unambiguous)."""
    cose = _cose(code)
    return cose[1:] if cose[:1] == b"\xd2" else cose


@st.composite
def scans(draw: st.DrawFn, genuine: list[str]) -> str:
    """Anything a camera or a keyboard at the gate could hand over."""
    kind = draw(st.sampled_from(["raw", "legacy", "id", "text", "bytes", "cose", "framed"]))
    if kind == "raw":
        return draw(raw_text)
    if kind == "legacy":
        tail = draw(st.text(alphabet="0123456789abcdefABC", min_size=30, max_size=34))
        return draw(st.sampled_from([CODE_PREFIX, "hbjkm:", "HBJKM", "XYZ:"])) + tail
    if kind == "id":
        number = draw(st.text(alphabet="0123456789Xx", min_size=15, max_size=19))
        return draw(st.sampled_from(["", "ID:111:", "ID:414:", "ID:999:", "ID:"])) + number
    code = draw(st.sampled_from(genuine))
    if kind == "text":
        return PREFIX + draw(mutated(code[len(PREFIX) :].encode("ascii"))).decode("latin-1")
    if kind == "bytes":
        raw = reference_b45.b45decode(code[len(PREFIX) :])
        return PREFIX + b45encode(draw(mutated(raw)))
    if kind == "cose":
        return PREFIX + b45encode(draw(mutated(_cose(code))))
    return (
        draw(st.sampled_from([" ", "\t", "\n", "\r\n", "", "\u3000"]))
        + code
        + draw(st.sampled_from([" ", "\n", "", "x", "\x00"]))
    )


def _signed_content(code: str, keyring_of: Verifier, now: datetime) -> HealthClaims | None:
    assert keyring_of.trust is not None
    try:
        return verify_code_at(code, keyring_of.trust.keyring, now)
    except InvalidCode:
        return None


@fuzz_settings(quick=500)
@given(data=st.data())
def test_an_offline_checkpoint_answers_every_scan_and_accepts_only_signed_codes(
    kit: Kit, genuine: list[str], offline_gate: Verifier, data: st.DataObject
) -> None:
    text = data.draw(scans(genuine))
    tried("verifier-offline")
    result = offline_gate.verify(text)  # any exception fails the test
    assert result.mode == "offline"
    if result.valid:
        claims = _signed_content(text.strip(), offline_gate, kit.now())
        assert claims is not None
        assert claims in [_signed_content(g, offline_gate, kit.now()) for g in genuine]


@fuzz_settings(quick=250)
@given(data=st.data())
def test_the_hub_answers_every_scan_with_a_verification_or_a_problem_never_a_500(
    kit: Kit, genuine: list[str], data: st.DataObject
) -> None:
    text = data.draw(scans(genuine))
    tried("hub-verify")
    r = kit.fed.verify(text)
    if r.status_code == 200:
        assert r.json()["valid"] is True
        # a mutation that still verifies (zlib has a few bits it ignores) says the same
        assert _message(text.strip()) in [_message(g) for g in genuine]
        return
    assert r.status_code in (422, 503), (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] in (
        "/problems/invalid-code",
        "/problems/invalid-input",
        "/problems/unavailable",
    )


@fuzz_settings(quick=250)
@given(data=st.data())
def test_the_hubs_blocking_check_behind_convert_fails_only_with_its_documented_errors(
    kit: Kit, genuine: list[str], data: st.DataObject
) -> None:
    """``CodeService.check`` (what ``/v1/codes/convert`` runs; verify runs ``averify``)."""
    text = data.draw(scans(genuine))
    tried("hub-check")
    service = _service(kit)
    try:
        checked = service.check(text, kit.now())
    except (InvalidCode, Unavailable):
        return
    assert checked.issuer == "330000"
    assert _message(text.strip()) in [_message(g) for g in genuine]


_SERVICES: dict[int, CodeService] = {}


def _service(kit: Kit) -> CodeService:
    """One real CodeService on the kit's hub (the app's own is not reachable from outside)."""
    if id(kit) not in _SERVICES:
        _SERVICES[id(kit)] = CodeService(kit.fed.ctx)
    return _SERVICES[id(kit)]


@fuzz_settings(quick=250)
@given(data=st.data())
def test_the_issuers_verify_answers_every_scan_with_a_verification_or_a_problem_never_a_500(
    kit: Kit, genuine: list[str], data: st.DataObject
) -> None:
    """The Zhejiang issuer's own 验码, asked as the hub asks it (its ``node`` credential)."""
    text = data.draw(scans(genuine))
    tried("issuer-verify")
    r = kit.fed.zj_http.post(
        "/v1/codes/verify", json={"code": text}, headers=kit.fed.as_("zj-outbound")
    )
    if r.status_code == 200:
        assert r.json()["valid"] is True
        assert _message(text.strip()) in [_message(g) for g in genuine]
        return
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.json()["type"] in ("/problems/invalid-code", "/problems/invalid-input")
