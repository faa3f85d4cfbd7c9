"""The forgery classes of issue 10 (part 6), as one table that the offline and the online
forgery tests both walk (``test_forgery_offline.py``, ``test_forgery_online.py``).

The federation is ``modes_support.federation`` (a hub, the Zhejiang issuer 330000, the Hubei
legacy system) plus Guizhou (520000), registered at the hub as an operator would, with two keys
whose private halves this module holds: ``gz`` (valid) and ``gz-revoked`` (revoked at the hub
through ``DELETE /v1/issuers/520000/keys/{kid}``). The Zhejiang key is the issuer's own active
key, read from its key store, so "signed by the right key" forgeries are exactly what a thief
of that key, or the issuer's own bug, could make. Codes are put together with cbor2 and the
reference ``base45`` package, not with our encoder, so a bug shared by encoder and decoder
cannot hide a forgery.

Each row says which class it is, how the code is made, and the operator detail the offline
check refuses it with (``adapters/wire/code.py`` documents them). A code signed by a key no
trust list holds is, offline, a CHECK (it may be a key newer than the cached list: only the hub
can tell), never a pass; online it is invalid.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import base45 as reference_b45
import cbor2
import pytest

from tests.conftest import FakeClock
from tests.integration.checkpoint_helpers import FakeTime
from tests.integration.modes_support import Databases, Federation, federation
from yimatong.adapters import keystore
from yimatong.adapters.crypto import Algorithm, SigningKey, signing_key_from_seed
from yimatong.adapters.messages import prove_key
from yimatong.adapters.wire.code import CLAIMS_KEY, PREFIX, peek_code
from yimatong.domain.facts import Colour
from yimatong.domain.token import CodeKind, HealthClaims, new_claims
from yimatong.verifier.verifier import CheckpointConfig, Verifier

__all__ = ["FORGERIES", "Forgery", "Kit", "kit_for"]

GZ = "520000"
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LEEWAY = timedelta(seconds=30)  # adapters.wire.code.DEFAULT_LEEWAY


@dataclass
class Kit:
    """What a forger works with: the federation, its keys, and a genuine code to start from."""

    fed: Federation
    zj_key: SigningKey  # the Zhejiang issuer's active signing key
    gz_key: SigningKey  # Guizhou's valid key
    gz_revoked: SigningKey  # Guizhou's key, revoked at the hub
    attacker: SigningKey  # a key no trust list holds
    state: Path
    time: FakeTime
    gates: int = 0
    holder: tuple[dict[str, str], str] | None = None

    def now(self) -> datetime:
        return self.fed.clock()

    def genuine(self, kind: str = "dynamic") -> str:
        """A code the Zhejiang issuer just issued, over its API (to one holder)."""
        if self.holder is None:
            self.holder = self.fed.zj_citizen(phone="13800000077")
        me, sid = self.holder
        code: str = self.fed.zj_code(me, sid, kind=kind)["code"]
        return code

    def gate(self, **config: Any) -> Verifier:
        """A checkpoint in Guizhou talking to the hub (its own cache unless ``cache`` says)."""
        self.gates += 1
        config.setdefault("cache_dir", self.state / f"gate-{self.gates}")
        return Verifier(
            CheckpointConfig(
                hub_url="http://testserver",
                token=self.fed.tokens["checkpoint"],
                at_region=GZ,
                **config,
            ),
            time_source=self.time,
            http=self.fed.http,
        )


def kit_for(
    backend: str, request: pytest.FixtureRequest, tmp: Path, stack: ExitStack
) -> Iterator[Kit]:
    """Build the federation on ``backend`` (sqlite, postgresql) and register Guizhou."""
    databases = Databases()
    stack.callback(databases.close)
    base = "sqlite:///" if backend == "sqlite" else request.getfixturevalue("pg_database")
    clock = FakeClock(START)
    fed = stack.enter_context(
        federation(
            hub_db=databases.url(base, tmp, "hub"),
            zj_db=databases.url(base, tmp, "zj"),
            legacy_db=databases.url(base, tmp, "hb"),
            state=tmp,
            clock=clock,
        )
    )
    with fed.zj.db.read() as conn:
        zj_key = keystore.active_key(conn, fed.zj.service.cipher, region="330000", now=clock())
    assert zj_key is not None
    clock.advance(hours=2)  # so that a code can have expired within the key's lifetime
    gz_key, gz_revoked, attacker = (
        signing_key_from_seed(Algorithm.EDDSA, name.encode().ljust(32, b"\0"))
        for name in ("forgery-gz", "forgery-gz-revoked", "forgery-attacker")
    )
    since = clock() - timedelta(days=1)
    keys = [prove_key(k, GZ, since).to_json() for k in (gz_key, gz_revoked)]
    r = fed.http.post(
        "/v1/issuers",
        json={"region": GZ, "name": "贵州省", "kind": "native", "keys": keys},
        headers=fed.as_("admin"),
    )
    assert r.status_code == 201, r.text
    r = fed.http.delete(f"/v1/issuers/{GZ}/keys/{gz_revoked.kid.hex()}", headers=fed.as_("admin"))
    assert r.status_code == 200, r.text
    yield Kit(fed, zj_key, gz_key, gz_revoked, attacker, tmp, FakeTime(clock))


# ----------------------------------------------------------------------------- making codes


def claims(kit: Kit, issuer: str = "330000", **times: datetime) -> HealthClaims:
    """Green claims for a made-up holder, issued now (``issued_at``/``expires_at`` override)."""
    made = new_claims(
        issuer=issuer,
        sid="c0ffee00" * 4,
        colour=Colour.GREEN,
        colour_since=kit.now() - timedelta(days=30),
        reasons=(),
        hours_since_negative_test=None,
        masked_name="王*",
        masked_id="52**************11",
        kind=CodeKind.DYNAMIC,
        now=kit.now(),
    )
    return replace(made, **times) if times else made


def cwt(c: HealthClaims) -> bytes:
    """The CWT claims set of ``c``, as the format (``adapters/wire/code.py``) describes it."""
    return cbor2.dumps(
        {
            1: c.issuer,
            4: int(c.expires_at.timestamp()),
            6: int(c.issued_at.timestamp()),
            CLAIMS_KEY: {
                1: c.version,
                2: bytes.fromhex(c.sid),
                3: {"green": 0, "yellow": 1, "red": 2}[c.colour.value],
                4: int(c.colour_since.timestamp()),
                5: list(c.reasons),
                6: c.hours_since_negative_test,
                7: c.masked_name,
                8: c.masked_id,
                9: {"dynamic": 0, "printed": 1}[c.kind.value],
            },
        },
        canonical=True,
    )


def forge(
    payload: bytes,
    signer: SigningKey | None,
    *,
    alg: Any = None,
    kid: Any = None,
    protected: Any = None,
    unprotected: Any = None,
    signature: bytes | None = None,
) -> str:
    """A YMT1 code around ``payload``: the headers as given, signed by ``signer`` (None: no
    signature) over the Sig_structure of what the protected header says."""
    if protected is None:
        header: dict[int, Any] = {}
        header[1] = signer.alg.value if alg is None and signer is not None else alg
        header[4] = signer.kid if kid is None and signer is not None else kid
        protected = cbor2.dumps({k: v for k, v in header.items() if v is not None})
    if signature is None:
        to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
        signature = signer.sign(to_sign) if signer is not None else b""
    items = [protected, {} if unprotected is None else unprotected, payload, signature]
    encoded: bytes = reference_b45.b45encode(cbor2.dumps(cbor2.CBORTag(18, items)))
    return PREFIX + encoded.decode("ascii")


def cose_items(code: str) -> list[Any]:
    """The four items of a code's COSE_Sign1 (decoded independently of our decoder)."""
    raw = reference_b45.b45decode(code[len(PREFIX) :])
    if raw[0] == 0x78:
        raw = zlib.decompress(raw)
    items: list[Any] = list(cbor2.loads(raw).value)
    return items


def resigned(kit: Kit, signer: SigningKey, *, keep_kid: bool) -> str:
    """A genuine code with its claims altered (another holder, red turned green) and signed
    again by ``signer``; with ``keep_kid`` the header still names the genuine kid."""
    genuine = kit.genuine()
    _, _, payload, _ = cose_items(genuine)
    body = cbor2.loads(payload)
    body[CLAIMS_KEY][2] = bytes(16)  # another holder
    body[CLAIMS_KEY][3] = 0  # green
    kid = peek_code(genuine).kid if keep_kid else signer.kid
    return forge(cbor2.dumps(body, canonical=True), signer, alg=signer.alg.value, kid=kid)


def tampered(kit: Kit) -> str:
    """A genuine code with one byte of its signed claims changed, the signature left as is."""
    protected, _, payload, signature = cose_items(kit.genuine())
    body = cbor2.loads(payload)
    body[CLAIMS_KEY][3] = 2 if body[CLAIMS_KEY][3] != 2 else 0  # the colour, one byte
    changed = cbor2.dumps(body, canonical=True)
    assert sum(a != b for a, b in zip(changed, payload, strict=True)) == 1
    return forge(changed, None, protected=protected, signature=signature)


def replayed(kit: Kit) -> str:
    """A genuine dynamic code shown again after its minute (and the clock leeway) is over.

    Within its window a dynamic code carries no nonce and is accepted again: the 60 s
    lifetime is the anti-replay measure (``domain/token.py``), so a screenshot is worth a
    minute and a half at most, and each scan is recorded.
    """
    code = kit.genuine("dynamic")
    kit.fed.clock.advance(seconds=60 + LEEWAY.total_seconds() + 1)
    return code


def other_alg(key: SigningKey) -> int:
    return Algorithm.ES256.value if key.alg is not Algorithm.ES256 else Algorithm.EDDSA.value


@dataclass(frozen=True)
class Forgery:
    """One forgery class: how the code is made, and why the offline check refuses it."""

    name: str
    make: Callable[[Kit], str]
    offline_detail: str | None  # None: an unknown key, CHECK offline (never a pass)


FORGERIES = [
    Forgery(
        "expired",
        lambda k: forge(
            cwt(claims(k, issued_at=k.now() - timedelta(hours=1), expires_at=k.now() - LEEWAY)),
            k.zj_key,
        ),
        "expired",
    ),
    Forgery(
        "future-dated",
        lambda k: forge(
            cwt(
                claims(
                    k,
                    issued_at=k.now() + LEEWAY + timedelta(seconds=31),
                    expires_at=k.now() + timedelta(minutes=5),
                )
            ),
            k.zj_key,
        ),
        "issued in the future",
    ),
    Forgery("revoked-kid", lambda k: forge(cwt(claims(k, GZ)), k.gz_revoked), "key revoked"),
    Forgery(
        "another-issuers-key",  # claims Zhejiang, signed with Guizhou's valid key
        lambda k: forge(cwt(claims(k, "330000")), k.gz_key),
        "issuer mismatch",
    ),
    Forgery(
        "re-signed-attacker-key",
        lambda k: resigned(k, k.attacker, keep_kid=False),
        None,
    ),
    Forgery(
        "re-signed-under-the-genuine-kid",
        lambda k: resigned(k, k.attacker, keep_kid=True),
        "bad signature",
    ),
    Forgery("replayed-dynamic-code", replayed, "expired"),
    Forgery("tampered-claim", tampered, "bad signature"),
    Forgery(
        "unsigned", lambda k: forge(cwt(claims(k)), None, alg=-8, kid=k.zj_key.kid), "bad signature"
    ),
    Forgery(
        "alg-confusion-other-algorithm",  # the header names the other algorithm than the key's
        lambda k: forge(cwt(claims(k)), k.zj_key, alg=other_alg(k.zj_key)),
        "algorithm mismatch",
    ),
    Forgery(
        "alg-confusion-reserved-alg-0",  # the nearest COSE has to "none"
        lambda k: forge(cwt(claims(k)), k.zj_key, alg=0),
        "algorithm mismatch",
    ),
    Forgery(
        "alg-confusion-text-none",
        lambda k: forge(cwt(claims(k)), k.zj_key, alg="none"),
        "malformed: COSE",
    ),
    Forgery(
        "alg-and-kid-in-the-unprotected-header",
        lambda k: forge(
            cwt(claims(k)),
            k.zj_key,
            protected=b"",
            unprotected={1: k.zj_key.alg.value, 4: k.zj_key.kid},
        ),
        "malformed: COSE",
    ),
    Forgery(
        "unprotected-alg-overriding-the-protected-one",
        lambda k: forge(cwt(claims(k)), k.zj_key, unprotected={1: other_alg(k.zj_key)}),
        "malformed: COSE",
    ),
    Forgery(
        "unprotected-kid-pointing-elsewhere",
        lambda k: forge(cwt(claims(k)), k.attacker, unprotected={4: k.zj_key.kid}),
        "malformed: COSE",
    ),
]
