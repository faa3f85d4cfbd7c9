"""The pure parts of the per-client limits: rates, windows, and who the client is."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from yimatong.domain.limits import LIMITS, Rate, env_key, parse_rates, window_start
from yimatong.web_common import forwarded_client


def test_rates_parse_from_their_settings() -> None:
    assert parse_rates("20/m,200/h") == (Rate(20, 60), Rate(200, 3600))
    assert parse_rates(" 5 / 10m ") == (Rate(5, 600),)
    assert parse_rates("200/h, 20/m") == (Rate(20, 60), Rate(200, 3600))  # shortest first
    assert parse_rates("OFF") == ()
    assert [str(r) for r in parse_rates("10/s,5/10m,1/d,3/90s")] == [
        "10/s",
        "3/90s",
        "5/10m",
        "1/d",
    ]
    for bad in ("", "20", "20/x", "0/m", "5/0m", "-1/m", "5/m,6/m"):
        with pytest.raises(ValueError):
            parse_rates(bad)


def test_every_default_parses_and_has_its_setting() -> None:
    for name, (default, what) in LIMITS.items():
        assert parse_rates(default), name
        assert what
        assert env_key(name).startswith("YMT_LIMIT_") and "." not in env_key(name)
    assert env_key("bad_token.address") == "YMT_LIMIT_BAD_TOKEN_ADDRESS"


def test_windows_are_fixed_and_start_on_their_boundary() -> None:
    at = datetime(2026, 11, 20, 2, 0, 59, tzinfo=UTC)
    assert window_start(at, 60) == int(datetime(2026, 11, 20, 2, 0, tzinfo=UTC).timestamp())
    assert window_start(at, 3600) == window_start(datetime(2026, 11, 20, 2, 59, tzinfo=UTC), 3600)


PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # not a proxy: header ignored
        ("10.0.0.2", [], "10.0.0.2"),  # a proxy without a header is the client
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["198.51.100.1, 10.1.1.1"], "198.51.100.1"),  # two proxies deep
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # a forged entry on the left
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # two header lines
        ("10.0.0.2", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),  # only proxies: the farthest
        ("10.0.0.2", ["nonsense"], "10.0.0.2"),  # no address: the last hop believed
        ("::1", ["2001:db8::7"], "2001:db8::7"),
        ("testclient", ["198.51.100.1"], "testclient"),
    ],
)
def test_the_client_behind_trusted_proxies(peer: str, forwarded: list[str], client: str) -> None:
    assert forwarded_client(peer, forwarded, PROXIES) == client
    assert forwarded_client(peer, forwarded, []) == peer
