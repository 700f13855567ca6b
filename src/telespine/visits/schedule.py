"""Free visit slots from a clinician's weekly hours and exceptions (pure; explicit clock).

Hours are local times in the clinic's IANA time zone; slots are returned as aware UTC datetimes
on the app's slot grid (minutes since midnight UTC a multiple of the slot length, as
telespine.store.repo_care.check_slot requires), so a slot in a zone with a half-hour offset is
still a valid booking time. A span starting in the spring-forward gap starts when the clocks
have gone forward (zoneinfo maps the missing wall time to that instant); a repeated hour in
autumn is counted once per real instant.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$")
HORIZON_DAYS = 60


class HoursError(ValueError):
    """Hours that cannot be read: 'HH:MM-HH:MM' spans, start before end, a known time zone."""


@dataclass(frozen=True)
class Span:
    start: dt.time
    end: dt.time  # dt.time.max stands for 24:00

    def label(self) -> str:
        end = "24:00" if self.end == dt.time.max else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"Unknown time zone {name!r}.") from None


def parse_spans(text: str) -> list[Span]:
    """'09:00-12:00, 13:00-17:00' -> spans (sorted, not overlapping); '' -> none."""
    spans: list[Span] = []
    for part in (p for p in re.split(r"[,;]", text) if p.strip()):
        m = _SPAN.match(part)
        if not m:
            raise HoursError(f"Write hours like 09:00-12:00 (not {part.strip()!r}).")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start = dt.time(h1, m1)
        end = dt.time.max if (h2, m2) == (24, 0) else dt.time(h2 % 24, m2) if h2 < 24 else None
        if end is None or end <= start:
            raise HoursError(f"The end of {part.strip()!r} must be after its start.")
        spans.append(Span(start, end))
    spans.sort(key=lambda s: s.start)
    for a, b in itertools.pairwise(spans):
        if b.start < a.end:
            raise HoursError(f"{a.label()} and {b.label()} overlap.")
    return spans


def spans_doc(spans: Sequence[Span]) -> list[list[str]]:
    """The stored form: [["09:00", "12:00"], ...]."""
    return [s.label().split("-") for s in spans]


def spans_from_doc(doc: object) -> list[Span]:
    if not isinstance(doc, list):
        return []
    return parse_spans(", ".join(f"{a}-{b}" for a, b in doc))


def weekly_from_doc(doc: Mapping[str, object]) -> dict[str, list[Span]]:
    return {day: spans_from_doc(doc.get(day, [])) for day in WEEKDAYS}


def _local_instants(day: dt.date, span: Span, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, span.start, tzinfo=tz)
    end = (
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        if span.end == dt.time.max
        else dt.datetime.combine(day, span.end, tzinfo=tz)
    )
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def free_slots(
    weekly: Mapping[str, Sequence[Span]],
    exceptions: Mapping[dt.date, Sequence[Span]],
    timezone: str,
    booked: Iterable[dt.datetime],
    now: dt.datetime,
    days: int = 14,
    slot_minutes: int = 20,
    lead_minutes: int = 60,
) -> list[dt.datetime]:
    """Every free slot start (UTC) from now + lead_minutes over the next `days` local days.

    A slot lies wholly inside a working span of its local day (the exception's spans replace the
    weekly ones on that date; an empty exception is a day off), starts on the UTC slot grid and is
    not already booked.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = zone(timezone)
    days = max(0, min(days, HORIZON_DAYS))
    taken = {b.astimezone(dt.UTC) for b in booked}
    earliest = now.astimezone(dt.UTC) + dt.timedelta(minutes=lead_minutes)
    step = dt.timedelta(minutes=slot_minutes)
    first = now.astimezone(tz).date()
    out: set[dt.datetime] = set()
    for offset in range(days + 1):
        day = first + dt.timedelta(days=offset)
        spans = exceptions[day] if day in exceptions else weekly.get(WEEKDAYS[day.weekday()], ())
        for span in spans:
            start, end = _local_instants(day, span, tz)
            minutes = start.hour * 60 + start.minute
            t = start.replace(second=0, microsecond=0)
            if minutes % slot_minutes or start.second or start.microsecond:
                t += dt.timedelta(minutes=slot_minutes - minutes % slot_minutes)
            while t + step <= end:
                if t >= earliest and t not in taken:
                    out.add(t)
                t += step
    return sorted(out)


def local_label(when: dt.datetime, timezone: str) -> str:
    """'Tue 3 Dec 2026, 09:20 (Europe/London)' in the viewer's zone."""
    local = when.astimezone(zone(timezone))
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M} ({timezone})"
