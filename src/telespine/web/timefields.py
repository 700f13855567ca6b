"""Times accepted from requests: aware, and within the range every database can store (issue 13).

`0001-01-01T00:00:00+14:00` parses, but is before year 1 in UTC: converting it raised
OverflowError while saving, a 500 whose traceback quoted the statement's parameters. Such
times are refused with 422 where they come in; the store and the error middleware refuse any
that slip through as 422 too (`is_out_of_range`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST_YEAR = 1900
LATEST_YEAR = 2200


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC; ValueError when it is outside years 1900 to 2200."""
    try:
        utc = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise ValueError("the time is out of range") from None
    if not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
        raise ValueError(f"the time must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return utc


UtcDatetime = Annotated[AwareDatetime, AfterValidator(to_utc)]


def is_out_of_range(exc: BaseException) -> bool:
    """True when exc (or what caused it) is a time that could not be converted or stored."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OverflowError) or (
            isinstance(current, ValueError) and "out of range" in str(current) and "time" in str(current)
        ):
            return True
        current = current.__cause__ or current.__context__
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen:
            current = orig
    return False
