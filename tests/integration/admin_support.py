"""A hub (and an issuer) with credentials of every role, signed in on the admin pages."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient

from yimatong.bootstrap import Node
from yimatong.credentials import add_credential
from yimatong.web.session import cookie_name, csrf_token

__all__ = ["Pages", "credential", "form_fields"]


def credential(node: Node, name: str, role: str, scope: str | None = None) -> str:
    with node.db.uow() as uow:
        token = add_credential(
            uow.conn,
            name=name,
            role=role,
            now=node.service.clock(),
            rng=random.Random(name),
            scope=scope,
        )
        uow.commit()
    return token


def form_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` (the CSRF token among them)."""
    start = html.index(f'action="{action}"')
    form = html[start : html.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


@dataclass
class Pages:
    """One browser's worth of cookies on a node: sign in, open pages, post forms."""

    node: Node
    client: TestClient
    region: str
    token: str | None = None
    history: list[Any] = field(default_factory=list)

    def sign_in(self, token: str) -> None:
        self.client.cookies.clear()
        r = self.client.post("/signin/staff", data={"token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        self.token = token

    def use_session(self, token: str) -> None:
        """A citizen's session in the cookie, as the citizen pages' sign-in leaves it."""
        self.client.cookies.clear()
        self.client.cookies.set(self.cookie, token)
        self.token = token

    def sign_out(self) -> None:
        self.client.cookies.clear()
        self.token = None

    @property
    def csrf(self) -> str:
        assert self.token is not None
        return csrf_token(self.token)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, follow_redirects=False, **kw)

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True, **kw: Any) -> Any:
        body = dict(data)
        if csrf and self.token is not None:
            body["csrf"] = self.csrf
        return self.client.post(path, data=body, follow_redirects=False, **kw)

    @property
    def cookie(self) -> str:
        return cookie_name(self.region)
