"""``yimatong serve`` takes the client's address from the socket, not from a header it sends."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.test_serve import _serve

pytestmark = pytest.mark.e2e


def test_a_client_cannot_dodge_the_per_address_limit_by_sending_x_forwarded_for(
    tmp_path: Path,
) -> None:
    # No trusted proxy is configured: every request below comes from 127.0.0.1, whatever
    # X-Forwarded-For says, so the per-address one-time-code limit (20 a minute) holds.
    node = _serve(tmp_path)
    try:
        node.wait_ready()
        statuses = []
        with httpx.Client(base_url=node.url, timeout=5) as http:
            for i in range(24):
                r = http.post(
                    "/v1/auth/otp",
                    json={"phone": f"138{i:08d}"},
                    headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
                )
                statuses.append(r.status_code)
    finally:
        node.stop()
    assert statuses[:20] == [202] * 20, statuses
    assert set(statuses[20:]) == {429}, statuses
