"""No name, ID number or phone leaves an issuer in a log line, a problem answer or the metrics.

A citizen's whole journey runs with every logger at DEBUG, including the mistakes a person
makes (a wrong check digit, a phone that is not one, a second application for the same
person, a code typed wrong) and the reads by staff; then every log record, every problem
answer and the metrics page are searched for the person's name, ID number and phone.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.integration.conftest import Issuer, make_id

NAME = "欧阳明月"
ID_NUMBER = make_id(area="330106", birth="19870912", seq="456")
PHONE = "13987654321"
OTHER_PHONE = "13687654321"


def _secrets() -> list[str]:
    return [NAME, ID_NUMBER, PHONE, OTHER_PHONE, ID_NUMBER[6:14], PHONE[3:]]


def test_no_name_id_number_or_phone_reaches_a_log_line_a_problem_or_the_metrics(
    issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("yimatong", "sqlalchemy", "httpx", "uvicorn"):
        logging.getLogger(name).propagate = True
    problems: list[str] = []

    def call(method: str, path: str, **kwargs: Any) -> Any:
        r = issuer.client.request(method, path, **kwargs)
        if r.headers.get("content-type", "").startswith("application/problem+json"):
            problems.append(r.text)
        return r

    call("POST", "/v1/auth/otp", json={"phone": PHONE[:-1] + "x"})  # not a phone
    me = issuer.sign_in(PHONE)
    wrong = ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")
    call("POST", "/v1/applications", headers=me,
         json={"name": NAME, "id_type": "111", "id_number": wrong})  # fmt: skip
    mine = {"name": NAME, "id_type": "111", "id_number": ID_NUMBER, "phone": PHONE}
    r = call("POST", "/v1/applications", headers=me, json=mine)
    assert r.status_code == 201, r.text
    sid = r.json()["sid"]
    call("POST", "/v1/applications", headers=me,
         json={"name": NAME, "id_type": "111", "id_number": ID_NUMBER})  # fmt: skip
    # Someone else asks to act for the same person: a consent code goes to the phone on record.
    other = issuer.sign_in(OTHER_PHONE)
    call("POST", "/v1/applications", headers=other,
         json={"name": NAME, "id_type": "111", "id_number": ID_NUMBER,
               "for_relative": {"relationship": "女儿"}})  # fmt: skip
    code = call("POST", "/v1/codes", headers=me, json={"subject": sid}).json()["code"]
    gate = issuer.as_role("checkpoint")
    call("POST", "/v1/codes/verify", headers=gate, json={"code": code})
    call("POST", "/v1/codes/verify", headers=gate, json={"code": code[:-3] + "AAA"})
    staff = issuer.as_role("staff")
    call("GET", f"/v1/subjects/{sid}/health", headers=staff)  # no purpose: refused
    call("GET", f"/v1/subjects/{sid}/health", headers=staff, params={"purpose": "流调"})
    call("POST", "/v1/codes/verify", headers=staff, json={"code": code, "checkpoint": "东站"})
    call("GET", f"/v1/subjects/{sid}/health", headers=other)  # another citizen: 404
    metrics = issuer.client.get("/metrics").text

    lines = [
        " ".join(str(part) for part in (record.name, record.getMessage(), record.exc_text) if part)
        for record in caplog.records
    ]
    assert problems and lines  # the journey did make problems and log lines to search
    for secret in _secrets():
        leaks = [line for line in lines if secret in line]
        assert not leaks, f"{secret!r} reached the log: {leaks[:3]}"
        assert not [p for p in problems if secret in p], f"{secret!r} in a problem answer"
        assert secret not in metrics, f"{secret!r} in the metrics"
