"""What went wrong between a checkpoint and its hub, said once, in words an operator acts on.

A failed call to the hub makes the checkpoint decide offline. That is right, but it must say
why, or a revoked credential and a mistyped URL look the same as a network outage. Every
failure of a call to the hub is one of these (``diagnose``):

- ``CREDENTIAL_REFUSED``: 401 or 403 — the checkpoint credential is wrong, revoked, expired or
  of another role;
- ``UNREACHABLE``: no answer in time, or a 5xx — the network or the hub is down;
- ``NOT_A_HUB``: an answer no hub gives — no trust list at that URL (404), a body that is not
  JSON, not problem details, or not a signed trust list (an issuer's URL given as the hub, or
  another server on that port);
- ``UNTRUSTED``: a well-formed trust list signed by a key this device does not trust (a hub
  key pinned that does not match).

``LinkProblem.line()`` is the one line the CLI prints on stderr; a scan decided without the
hub carries it in its notes, and a CHECK that could not be decided offline names it first.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from yimatong.adapters.signed import BadDocument, UntrustedDocument
from yimatong.domain.errors import Forbidden, NotANode, NotFound, Unauthorized, Unavailable
from yimatong.verifier import texts

__all__ = ["LinkProblem", "Trouble", "diagnose"]


class Trouble(enum.Enum):
    CREDENTIAL_REFUSED = "credential-refused"
    UNREACHABLE = "unreachable"
    NOT_A_HUB = "not-a-hub"
    UNTRUSTED = "untrusted"


_TEXT = {
    Trouble.CREDENTIAL_REFUSED: texts.CREDENTIAL_REFUSED,
    Trouble.UNREACHABLE: texts.HUB_UNREACHABLE,
    Trouble.NOT_A_HUB: texts.NOT_A_HUB,
    Trouble.UNTRUSTED: texts.UNTRUSTED_HUB,
}


@dataclass(frozen=True)
class LinkProblem:
    trouble: Trouble
    #: the base URL that was asked
    url: str
    #: what the server (or the network) said, for the operator
    detail: str

    @property
    def lists_unusable(self) -> bool:
        """Nothing at this URL is the hub we trust: its answers must not be believed either."""
        return self.trouble in (Trouble.NOT_A_HUB, Trouble.UNTRUSTED)

    def reason(self) -> tuple[str, str]:
        """(zh, en) for a decision's reasons: what happened, and where."""
        zh, en = _TEXT[self.trouble]
        if self.trouble is Trouble.UNTRUSTED:
            return f"{self.url} {zh}", f"{en} (at {self.url})"
        return f"{zh}（{self.url}）", f"{en} at {self.url}"

    def line(self) -> str:
        """One line for stderr and the scan's notes (English, like the other notes)."""
        return f"{self.reason()[1]}: {self.detail}"


def diagnose(exc: Exception, url: str, *, trust_list: bool = False) -> LinkProblem | None:
    """The problem an exception from a call to the hub at ``url`` shows (None: not one).

    ``trust_list``: the call fetched the trust list, which every hub serves to anyone, so a 404
    or a document that is not a signed list says that the URL is not a hub.
    """
    detail = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    if isinstance(exc, (Unauthorized, Forbidden)):
        return LinkProblem(Trouble.CREDENTIAL_REFUSED, url, detail)
    if isinstance(exc, NotANode):
        return LinkProblem(Trouble.NOT_A_HUB, url, detail)
    if isinstance(exc, Unavailable):
        return LinkProblem(Trouble.UNREACHABLE, url, detail)
    if trust_list and isinstance(exc, NotFound):
        return LinkProblem(Trouble.NOT_A_HUB, url, f"it has no trust list ({detail})")
    if trust_list and isinstance(exc, UntrustedDocument):
        return LinkProblem(Trouble.UNTRUSTED, url, detail)
    if trust_list and isinstance(exc, BadDocument):
        return LinkProblem(Trouble.NOT_A_HUB, url, f"its trust list is not one ({exc})")
    return None
