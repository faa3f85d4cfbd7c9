"""Pages sign in with the node's own tokens kept in an HttpOnly cookie, guarded against CSRF."""

from __future__ import annotations

from tests.integration.conftest import Issuer
from yimatong.web.session import cookie_name, csrf_token

PHONE = "13800138000"


def test_a_staff_credential_becomes_an_httponly_strict_cookie(issuer: Issuer) -> None:
    token = issuer.tokens["staff"]
    r = issuer.client.post(
        "/signin/staff", data={"token": token, "next": "/elsewhere"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/elsewhere"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{cookie_name('330000')}={token};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; over TLS it is Secure
    # The cookie now stands for the credential on the API too.
    assert issuer.client.get("/v1/corrections").status_code == 200


def test_a_wrong_credential_is_refused_on_the_page_and_sets_nothing(issuer: Issuer) -> None:
    r = issuer.client.post("/signin/staff", data={"token": "ymt_c_nope"}, follow_redirects=False)
    assert r.status_code == 401 and "set-cookie" not in r.headers
    assert "text/html" in r.headers["content-type"]


def test_a_change_through_the_cookie_needs_the_pages_csrf_token(issuer: Issuer) -> None:
    token = issuer.tokens["staff"]
    issuer.client.post("/signin/staff", data={"token": token}, follow_redirects=False)
    body = {"code": "YMT1:NOT-A-CODE"}
    refused = issuer.client.post("/v1/codes/verify", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = issuer.client.post("/v1/codes/verify", json=body, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    ok = issuer.client.post(
        "/v1/codes/verify", json=body, headers={"X-CSRF-Token": csrf_token(token)}
    )
    assert ok.status_code == 422  # past the CSRF check: the code itself is refused
    # A bearer token in the header needs no CSRF token: no browser sends one by itself.
    issuer.client.cookies.clear()
    bearer = issuer.client.post("/v1/codes/verify", json=body, headers=issuer.as_role("staff"))
    assert bearer.status_code == 422


def test_signing_out_ends_a_citizens_session_on_the_server(issuer: Issuer) -> None:
    api = issuer.sign_in(PHONE)
    session = api["Authorization"].split(" ", 1)[1]
    issuer.client.cookies.set(cookie_name("330000"), session)
    assert issuer.client.get("/v1/subjects").status_code == 200
    no_token = issuer.client.post("/signout", data={}, follow_redirects=False)
    assert no_token.status_code == 403  # a form without the CSRF token changes nothing
    r = issuer.client.post("/signout", data={"csrf": csrf_token(session)}, follow_redirects=False)
    assert r.status_code == 303
    assert cookie_name("330000") + '=""' in r.headers["set-cookie"]
    issuer.client.cookies.clear()
    assert issuer.client.get("/v1/subjects", headers=api).status_code == 401


def test_every_answer_carries_the_security_headers(issuer: Issuer) -> None:
    for path in ("/healthz", "/signin/staff", "/v1/keys"):
        r = issuer.client.get(path)
        assert "script-src 'self'" in r.headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_preferences_go_back_only_to_this_node(issuer: Issuer) -> None:
    r = issuer.client.get("/prefs?lang=en&next=//evil.example/x", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "ymt_lang=en" in r.headers["set-cookie"]
    page = issuer.client.get("/signin/staff")
    assert '<html lang="en"' in page.text and "Staff sign-in" in page.text
