"""The shared types of every node's request models and path/query parameters.

Each is a pydantic ``Annotated`` type over a pure check of ``yimatong.domain.edge``, so a
route refuses with 422 (naming the field) what a use case would refuse anyway, and the OpenAPI
document says what is accepted. Use them for every field and parameter a client sends:

    since: Annotated[Cursor, Query()] = 0
    subject: Sid
    at: Time                         # events: the use case also calls check_event(value, now)
    name: Name = Field(max_length=64)

Patterns are ASCII (``[0-9]``, never ``\\d``); times are RFC 3339 with an offset, in UTC
once parsed; integers fit a signed 64-bit column; text has no control or format characters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PlainValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from yimatong.domain import edge

__all__ = [
    "AREA_PATTERN",
    "REGION_PATTERN",
    "Area",
    "Cursor",
    "Id",
    "IdType",
    "Kid",
    "Line",
    "Name",
    "Prose",
    "Region",
    "Sid",
    "Time",
]

REGION_PATTERN = r"^[0-9]{6}$"
AREA_PATTERN = r"^[0-9]{6}(?:[0-9]{3})?$"


def _checked(check: Any) -> Any:
    """A pydantic validator that runs a pure check and reports its reason as the message."""

    def validate(value: Any) -> Any:
        try:
            return check(value)
        except edge.BadValue as exc:
            raise PydanticCustomError("invalid_value", exc.reason) from None

    return validate


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return edge.check_time(value, "value")
    return edge.parse_time(value, "value")


#: An id, version or feed seq: 0 to 2^63 - 1 (a signed 64-bit column).
Id = Annotated[int, Field(ge=0, le=edge.MAX_ID)]
#: A ``since`` cursor: the version or seq already held (0: from the start).
Cursor = Id

#: An RFC 3339 time with an offset; in UTC, within 1900..9000 once normalised.
Time = Annotated[
    datetime,
    PlainValidator(_checked(_time)),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

#: GB/T 2260 six-digit region code.
Region = Annotated[str, StringConstraints(pattern=REGION_PATTERN)]
#: GB/T 2260 region or nine-digit township/street code.
Area = Annotated[str, StringConstraints(pattern=AREA_PATTERN)]
#: A GA/T 517 document-type code (three digits).
IdType = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
#: A subject pseudonym: 32 lower-case hex characters.
Sid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
#: A key id: 16 lower-case hex characters.
Kid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]

#: One line of text: no control, format or separator characters (lengths set per field).
Line = Annotated[str, AfterValidator(_checked(lambda v: edge.check_text(v, "value")))]
#: A person's name (one line; the masked form shows its first characters).
Name = Annotated[str, AfterValidator(_checked(lambda v: edge.check_name(v, "value")))]
#: Long free text: as ``Line``, but line breaks and tabs are allowed.
Prose = Annotated[
    str, AfterValidator(_checked(lambda v: edge.check_text(v, "value", multiline=True)))
]
