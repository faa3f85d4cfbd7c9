"""What the hub's two signed-batch uploads share: a lab's results (``hub.labs``) and a
department's records (``hub.departments``).

A signer (a lab, a department) is a row of its registry table with its public key; its key is
parsed once per kid (:class:`SignerKeys`). A batch's envelope carries a ``batch_id`` and a
base64url ``signature`` (:func:`batch_id_of`, :func:`signature_of`), and the signature is over
the canonical bytes of what was sent (:func:`verified`). Each upload keeps its own messages:
the callers name the signer and the field of the rows.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, select

from yimatong.adapters.crypto import BadSignature, VerifyingKey, load_verifying_key
from yimatong.adapters.db.database import Database
from yimatong.domain.errors import Forbidden, InvalidInput

__all__ = ["BATCH_ID", "SignerKeys", "batch_id_of", "signature_of", "verified"]

BATCH_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class SignerKeys:
    """The active signers of one registry table (``labs``, ``departments``), each with its
    parsed key: a key is parsed once per kid, not on every upload."""

    def __init__(self, db: Database, table: Table, id_column: str, what: str) -> None:
        self.db = db
        self.table = table
        self.column = table.c[id_column]
        self.what = what
        self._keys: dict[str, tuple[bytes, VerifyingKey]] = {}
        self._lock = threading.Lock()

    def get(self, signer_id: str) -> tuple[Any, VerifyingKey]:
        """The signer's row and key; Forbidden if it is not registered or not active."""
        with self.db.read() as conn:
            row = conn.execute(select(self.table).where(self.column == signer_id)).first()
        if row is None or row.status != "active":
            raise Forbidden(f"{self.what} {signer_id} is not registered or not active")
        cached = self._keys.get(signer_id)
        if cached is not None and cached[0] == row.kid:
            return row, cached[1]
        key = load_verifying_key(row.public_der)
        with self._lock:
            self._keys[signer_id] = (row.kid, key)
        return row, key


def batch_id_of(body: dict[str, Any]) -> str:
    """The envelope's ``batch_id``; InvalidInput if it is missing or malformed."""
    batch_id = body.get("batch_id")
    if not isinstance(batch_id, str) or not BATCH_ID.fullmatch(batch_id):
        raise InvalidInput(
            "batch_id is 1 to 64 letters, digits, '.', '_', ':' or '-'", field="batch_id"
        )
    return batch_id


def signature_of(body: dict[str, Any]) -> bytes:
    """The envelope's ``signature`` (base64url, padding optional); InvalidInput otherwise."""
    raw = body.get("signature")
    try:
        if not isinstance(raw, str):
            raise ValueError
        return base64.b64decode(raw + "=" * (-len(raw) % 4), b"-_", validate=True)
    except ValueError:
        raise InvalidInput("signature must be base64url", field="signature") from None


def verified(
    key: VerifyingKey, signature: bytes, message: Callable[[], bytes], *, rows: str, signer: str
) -> bytes:
    """``message()``, the canonical bytes signed, once ``signature`` verifies with ``key``.

    InvalidInput naming the field ``rows`` if they cannot be written canonically (a number
    beyond ±(2^53 - 1), NaN); Forbidden naming the ``signer`` if the signature is not its.
    """
    try:
        signed = message()
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{rows} must be JSON whose numbers are within ±(2^53 - 1)", field=rows
        ) from None
    try:
        key.verify(signature, signed)
    except BadSignature:
        raise Forbidden(f"the batch signature does not verify with the {signer}'s key") from None
    return signed
