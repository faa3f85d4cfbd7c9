"""International certificates end to end: the hub imports an EU gateway DSC list and a VCI
directory snapshot, serves them signed, a checkpoint caches them and decides on ``HC1:`` and
``shc:/`` codes offline under one CertLogic policy that also covers YMT1 codes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import FakeClock
from tests.integration.checkpoint_helpers import Federation, start_federation
from yimatong.adapters.signed import verify_document
from yimatong.adapters.wire import hc1
from yimatong.cli import main
from yimatong.demo.international import (
    DemoCsca,
    DemoDsc,
    DemoShcIssuer,
    csca_list,
    cwt,
    gateway_list,
    revocation_batch,
    vci_snapshot,
)
from yimatong.hub.policies import EntryPolicies
from yimatong.verifier.international import revocation_hashes
from yimatong.verifier.verifier import Verifier

#: "a green YMT1 code, or a DCC test certificate with a negative PCR sampled within 48 h, or an
#: SHC with a full vaccination course" — the policy docs/policies.md shows.
ONE_POLICY = {
    "if": [
        {"===": [{"var": "certificate.kind"}, "ymt1"]},
        {"===": [{"var": "code.colour"}, "green"]},
        {
            "if": [
                {"===": [{"var": "certificate.kind"}, "dcc"]},
                {
                    "and": [
                        {"===": [{"var": "certificate.test.type"}, "pcr"]},
                        {"===": [{"var": "certificate.test.negative"}, True]},
                        {"<=": [{"var": "certificate.test.hours_since_sample"}, 48]},
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
REGION = "310000"


@pytest.fixture
def fed(db_url: str, tmp_path: Path) -> Iterator[Federation]:
    # The checkpoint's CLI reads the system clock: the federation's runs close to it.
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    yield from start_federation(db_url, tmp_path, clock)


def _cli(fed: Federation, *args: str, token: str | None = None) -> Any:
    env = {"YIMATONG_TOKEN": token} if token else {}
    return CliRunner().invoke(
        main, list(args), obj={"http_client": fed.hub_client}, env=env, catch_exceptions=False
    )


def _import(fed: Federation, tmp_path: Path, dscs: list[DemoDsc], issuers: list[Any]) -> None:
    admin = fed.hub_token("admin")
    dcc_file, shc_file = tmp_path / "dsc.json", tmp_path / "vci.json"
    dcc_file.write_text(json.dumps(gateway_list(dscs)))
    shc_file.write_text(json.dumps(vci_snapshot(issuers)))
    hub = ("--hub", "http://testserver")
    r = _cli(fed, "trust", "import-dcc", str(dcc_file), *hub, token=admin)
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"{len(dscs)} document signers imported")
    r = _cli(fed, "trust", "import-shc", str(shc_file), *hub, token=admin)
    assert r.exit_code == 0, r.output


def _policy(fed: Federation) -> None:
    EntryPolicies(fed.ctx).put(
        _authority(fed), REGION, place_kind="any", rule=ONE_POLICY, description="one policy"
    )


def _authority(fed: Federation) -> Any:
    from yimatong.credentials import Caller

    return Caller(role="authority", name="authority-310000", scope=REGION)


def _ready(fed: Federation, cache: Path) -> Verifier:
    verifier = fed.verifier(cache, at_region=REGION, token=fed.hub_token("checkpoint", REGION))
    report = verifier.refresh()
    assert report["international-trust"] == "updated", report
    return verifier


def _offline(fed: Federation, cache: Path, code: str) -> dict[str, Any]:
    r = _cli(fed, "verify", code, "--at", REGION, "--offline", "--json", "--cache-dir", str(cache))
    assert r.exit_code in (0, 3, 4), r.output
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def test_one_policy_decides_ymt1_dcc_and_shc_offline_from_the_cached_trust(
    fed: Federation, tmp_path: Path
) -> None:
    now = fed.clock()
    dsc = DemoDsc.new(now, usages="tvr")
    issuer = DemoShcIssuer.new()
    _import(fed, tmp_path, [dsc], [issuer])
    _policy(fed)
    cache = tmp_path / "gate"
    _ready(fed, cache).close()

    me, sid = fed.citizen()
    green = _offline(fed, cache, fed.code(me, sid))
    assert green["outcome"] == "PASS", green
    pcr = _offline(fed, cache, dsc.hc1(cwt("t", now)))
    assert pcr["outcome"] == "PASS" and pcr["kind"] == "dcc" and pcr["issuer"] == "XA", pcr
    assert pcr["display"]["masked_name"] == "Musterfrau *"
    assert pcr["display"]["date_of_birth"] == "1964-08-12"
    vaccinated_dcc = _offline(fed, cache, dsc.hc1(cwt("v", now)))
    assert vaccinated_dcc["outcome"] == "DENY", vaccinated_dcc
    old_pcr = _offline(fed, cache, dsc.hc1(cwt("t", now - timedelta(hours=40))))
    assert old_pcr["outcome"] == "DENY", old_pcr  # sampled 60 h ago
    full = _offline(fed, cache, issuer.card("full", now))
    assert full["outcome"] == "PASS" and full["kind"] == "shc", full
    assert full["display"]["masked_name"] == "Anyperson *"
    partial = _offline(fed, cache, issuer.card("partial", now))
    assert partial["outcome"] == "DENY", partial


def test_a_certificate_the_cached_trust_does_not_hold_is_refused_with_its_reason(
    fed: Federation, tmp_path: Path
) -> None:
    now = fed.clock()
    dsc = DemoDsc.new(now)
    _import(fed, tmp_path, [dsc], [DemoShcIssuer.new()])
    _policy(fed)
    cache = tmp_path / "gate"
    _ready(fed, cache).close()
    stranger = _offline(fed, cache, DemoDsc.new(now).hc1(cwt("t", now)))
    assert stranger["outcome"] == "CHECK"  # as a YMT1 code of an unknown key: lists may lag
    assert "refused: unknown kid" in stranger["notes"]
    forged = _offline(fed, cache, dsc.hc1(cwt("t", now), tamper=True))
    assert forged["outcome"] == "DENY" and forged["valid"] is False
    assert "refused: bad signature" in forged["notes"]
    expired = _offline(
        fed,
        cache,
        dsc.hc1(cwt("t", now, iat=now - timedelta(days=3), exp=now - timedelta(hours=1))),
    )
    assert expired["outcome"] == "DENY" and "refused: expired" in expired["notes"]
    card = _offline(fed, cache, DemoShcIssuer.new("https://other.example/shc").card("full", now))
    assert "refused: unknown issuer" in card["notes"]


def test_without_international_trust_on_the_device_a_dcc_is_a_check(
    fed: Federation, tmp_path: Path
) -> None:
    cache = tmp_path / "gate"  # never refreshed: nothing cached
    answer = _offline(fed, cache, DemoDsc.new(fed.clock()).hc1(cwt("t", fed.clock())))
    assert answer["outcome"] == "CHECK"
    assert "no international trust list" in " ".join(answer["decision"]["reasons_en"])


def test_the_hub_serves_the_imported_trust_signed_and_replaces_it_whole_on_import(
    fed: Federation, tmp_path: Path
) -> None:
    now = fed.clock()
    first, second = DemoDsc.new(now), DemoDsc.new(now, alg="EdDSA")
    _import(fed, tmp_path, [first, second], [DemoShcIssuer.new()])
    r = fed.hub_client.get("/v1/international-trust")
    assert r.status_code == 200
    payload = verify_document(r.json(), {fed.ctx.hub_key().kid: fed.ctx.hub_key().public})
    assert {row["kid"] for row in payload["dcc"]} == {first.kid.hex(), second.kid.hex()}
    assert len(payload["shc"]) == 1 and payload["shc"][0]["keys"]
    etag = r.headers["etag"]
    assert (
        fed.hub_client.get("/v1/international-trust", headers={"If-None-Match": etag}).status_code
        == 304
    )
    _import(fed, tmp_path, [second], [])
    payload = fed.hub_client.get("/v1/international-trust").json()["payload"]
    assert [row["kid"] for row in payload["dcc"]] == [second.kid.hex()]
    assert payload["shc"] == []


def test_a_list_whose_kid_does_not_match_its_certificate_is_refused_in_one_line(
    fed: Federation, tmp_path: Path
) -> None:
    entries = gateway_list([DemoDsc.new(fed.clock())])
    entries[0]["kid"] = "AAAAAAAAAAA="
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(entries))
    r = _cli(fed, "trust", "import-dcc", str(bad), "--hub", "http://testserver",
             token=fed.hub_token("admin"))  # fmt: skip
    assert r.exit_code == 2
    assert r.stderr.strip().endswith("entry 0: kid is not SHA-256(rawData)[:8]")
    answer = fed.hub_client.put(
        "/v1/international-trust/dcc", json=entries, headers=fed.as_hub("admin")
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    bare = fed.hub_client.put(
        "/v1/international-trust/shc",
        json={"participating_issuers": [{"iss": "https://x.example/shc", "name": "X"}]},
        headers=fed.as_hub("admin"),
    )
    assert bare.status_code == 422 and "snapshot" in bare.json()["detail"]


def test_verify_without_a_region_shows_a_valid_dcc_with_the_holders_masked_name(
    fed: Federation, tmp_path: Path
) -> None:
    now = fed.clock()
    dsc = DemoDsc.new(now)
    _import(fed, tmp_path, [dsc], [])
    cache = tmp_path / "gate"
    _ready(fed, cache).close()
    code = dsc.hc1(cwt("v", now))
    r = _cli(fed, "verify", code, "--offline", "--cache-dir", str(cache))
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "dcc valid  Musterfrau * 1964-08-12  issuer XA  [offline]"


def test_revoked_dccs_and_shcs_are_refused_offline_from_the_hubs_signed_lists(
    fed: Federation, tmp_path: Path
) -> None:
    now = fed.clock()
    dsc = DemoDsc.new(now)
    issuer = DemoShcIssuer.new()
    revoked_dcc, kept_dcc = dsc.hc1(cwt("t", now)), dsc.hc1(cwt("v", now))
    msg = hc1.parse_cose(hc1.decode_hc1(revoked_dcc))
    sig = revocation_hashes("-", (), msg.alg, msg.signature)["SIGNATURE"]
    admin = fed.hub_token("admin")
    dcc_file, shc_file, rev_file = (tmp_path / n for n in ("dsc.json", "vci.json", "rev.json"))
    dcc_file.write_text(json.dumps(gateway_list([dsc])))
    shc_file.write_text(json.dumps(vci_snapshot([issuer], rids={issuer.iss: ["gone"]})))
    batch = revocation_batch(dsc, "SIGNATURE", sig, now + timedelta(days=30))
    rev_file.write_text(json.dumps({"batches": [batch, {**batch, "hashType": "NAME"}]}))
    hub = ("--hub", "http://testserver")
    for command, file in (("import-dcc", dcc_file), ("import-shc", shc_file)):
        assert _cli(fed, "trust", command, str(file), *hub, token=admin).exit_code == 0
    r = _cli(fed, "trust", "import-dcc-revocation", str(rev_file), *hub, token=admin)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("1 revocation batches (1 hashes) imported"), r.stdout
    assert "refused batch 1: hashType is not one of" in r.stderr
    _policy(fed)
    cache = tmp_path / "gate"
    _ready(fed, cache).close()
    refused = _offline(fed, cache, revoked_dcc)
    assert refused["outcome"] == "DENY" and "refused: revoked" in refused["notes"], refused
    assert _offline(fed, cache, kept_dcc)["valid"] is True
    card = _offline(fed, cache, issuer.card("full", now, rid="gone"))
    assert card["outcome"] == "DENY" and "refused: revoked" in card["notes"], card
    assert _offline(fed, cache, issuer.card("full", now, rid="kept"))["outcome"] == "PASS"
    # the revocations travel signed inside the international trust document
    payload = fed.hub_client.get("/v1/international-trust").json()["payload"]
    assert [b["hash_type"] for b in payload["dcc_revocation"]] == ["SIGNATURE"]
    assert payload["shc"][0]["crls"][0]["rids"] == ["gone"]


def test_import_with_cscas_keeps_the_dscs_that_chain_and_refuses_each_other_in_one_line(
    fed: Federation, tmp_path: Path
) -> None:
    now = fed.clock()
    csca = DemoCsca.new(now)
    good, forged = DemoDsc.new(now, csca=csca), DemoDsc.new(now)
    dsc_file, csca_file = tmp_path / "dsc.json", tmp_path / "csca.json"
    dsc_file.write_text(json.dumps(gateway_list([good, forged])))
    csca_file.write_text(json.dumps(csca_list([csca])))
    admin, hub = fed.hub_token("admin"), ("--hub", "http://testserver")
    args = ("trust", "import-dcc", str(dsc_file), "--csca", str(csca_file), *hub)
    r = _cli(fed, *args, token=admin)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("1 document signers imported"), r.stdout
    assert r.stderr.strip().splitlines() == [
        f"{dsc_file}: refused DSC {base64.b64encode(forged.kid).decode()} (XA): "
        "not signed by a CSCA of XA"
    ]
    payload = fed.hub_client.get("/v1/international-trust").json()["payload"]
    assert [row["kid"] for row in payload["dcc"]] == [good.kid.hex()]
    # a list none of whose DSCs chains leaves the trust in place
    dsc_file.write_text(json.dumps(gateway_list([forged])))
    r = _cli(fed, *args, token=admin)
    assert r.exit_code != 0 and "no DSC chains to a CSCA given" in r.stderr
    payload = fed.hub_client.get("/v1/international-trust").json()["payload"]
    assert [row["kid"] for row in payload["dcc"]] == [good.kid.hex()]


EU_RULES = Path(__file__).resolve().parent.parent / "vectors" / "eu-rules" / "EU-rules.json"


def test_the_eus_own_business_rules_imported_as_a_regions_policy_decide_dccs_unchanged(
    fed: Federation, tmp_path: Path
) -> None:
    now = fed.clock()
    dsc = DemoDsc.new(now)
    _import(fed, tmp_path, [dsc], [DemoShcIssuer.new()])
    args = ("policy", "import-eu-rules", REGION, str(EU_RULES), "--hub", "http://testserver")
    r = _cli(fed, *args, token=fed.hub_token("authority"))
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("13 EU rules set as policy 310000 any version "), r.stdout
    # the RAT device list is the JRC's, which the hub does not hold: that rule alone is refused
    assert r.stderr.strip().splitlines() == [
        f"{EU_RULES}: refused rule 7 (TR-EU-0002): Logic reads what a checkpoint does not "
        "have: no fact 'external.valueSets.covid-19-lab-test-manufacturer-and-name' (see "
        "docs/policies.md) at /if/1/in/1/var"
    ]
    cache = tmp_path / "gate"
    _ready(fed, cache).close()
    sputnik = cwt("v", now)
    sputnik[-260][1]["v"][0]["mp"] = "Sputnik-V"  # in the value set, not EMA-approved
    rat = cwt("t", now)
    rat[-260][1]["t"][0].update(tt="LP217198-3", sc=(now - timedelta(hours=50)).isoformat())
    recovered, too_long = cwt("r", now), cwt("r", now)
    day = (now - timedelta(days=30)).date()
    recovered[-260][1]["r"][0].update(  # RR-EU-0002: valid from day 11 to day 180
        fr=day.isoformat(),
        df=(day + timedelta(days=11)).isoformat(),
        du=(day + timedelta(days=180)).isoformat(),
    )
    too_long[-260][1]["r"][0].update(fr=day.isoformat(), du=(day + timedelta(days=200)).isoformat())
    outcomes = {
        name: _offline(fed, cache, dsc.hc1(claims))["outcome"]
        for name, claims in {
            "pcr 20 h ago": cwt("t", now),
            "comirnaty 2/2": cwt("v", now),
            "recovered": recovered,
            "recovery valid too long": too_long,  # RR-EU-0002
            "sputnik": sputnik,  # VR-EU-0001
            "rat 50 h ago": rat,  # TR-EU-0006: a RAT within 48 h
        }.items()
    }
    assert outcomes == {
        "pcr 20 h ago": "PASS",
        "comirnaty 2/2": "PASS",
        "recovered": "PASS",
        "recovery valid too long": "DENY",
        "sputnik": "DENY",
        "rat 50 h ago": "DENY",
    }
    me, sid = fed.citizen()
    assert _offline(fed, cache, fed.code(me, sid))["outcome"] == "DENY"  # --otherwise deny
