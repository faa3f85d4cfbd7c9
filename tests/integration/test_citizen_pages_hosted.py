"""The citizen pages of a region the hub hosts (Mode 3) work under ``/regions/540000``:
their links, forms, files and the code's refresh all carry the prefix, and so does the cookie."""

from __future__ import annotations

import re

from tests.integration.conftest import make_id
from tests.integration.modes_support import Federation
from tests.integration.test_hub_hosting import PREFIX, databases, fed  # noqa: F401  (fixtures)
from yimatong.web.session import cookie_name, csrf_token

PHONE = "13700000002"


def test_the_citizen_pages_of_a_hosted_region_stay_under_its_prefix(
    fed: Federation,  # noqa: F811
) -> None:
    http = fed.http
    start = http.get(f"{PREFIX}/")
    assert start.status_code == 200 and f'action="{PREFIX}/signin/otp"' in start.text
    http.post(f"{PREFIX}/signin/otp", data={"phone": PHONE})
    r = http.post(
        f"{PREFIX}/signin",
        data={"phone": PHONE, "otp": fed.inbox.last_code(PHONE)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"{PREFIX}/"
    assert f"Path={PREFIX}" in r.headers["set-cookie"]
    token = http.cookies.get(cookie_name("540000"))
    assert token
    body = {"who": "self", "name": "扎西次仁", "id_number": make_id("540102"),
            "csrf": csrf_token(token)}  # fmt: skip
    r = http.post(f"{PREFIX}/apply", data=body, follow_redirects=False)
    assert r.headers["location"] == f"{PREFIX}/?done=linked", r.text
    page = http.get(f"{PREFIX}/people/0/code")
    assert page.status_code == 200 and 'data-code="YMT1:' in page.text
    links = re.findall(r'(?:href|src|action)="(/[^"]*)"', page.text)
    assert links and all(link.startswith(PREFIX) for link in links), links
    assert f'"endpoint": "{PREFIX}/people/0/code"' in page.text or (
        f'"endpoint":"{PREFIX}/people/0/code"' in page.text
    )
    fresh = http.post(f"{PREFIX}/people/0/code", headers={"X-CSRF-Token": csrf_token(token)})
    assert fresh.status_code == 200 and fresh.json()["code"].startswith("YMT1:")
