"""The calendar invitation (.ics, RFC 5545) sent with visit e-mails, made by the icalendar library.

It carries no health information: a title, the time, the length and the link to the visit page.
"""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar, Event

PRODID = "-//telespine//tele-visit//EN"


def invitation(
    *,
    uid: str,
    start: dt.datetime,
    minutes: int,
    url: str,
    now: dt.datetime,
    sequence: int = 0,
    cancelled: bool = False,
    title: str = "telespine tele-visit",
) -> bytes:
    """A REQUEST (new or moved visit; a higher sequence replaces the earlier one) or a CANCEL."""
    if start.tzinfo is None or now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", f"{uid}@telespine")
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("dtstart", start.astimezone(dt.UTC))
    event.add("dtend", start.astimezone(dt.UTC) + dt.timedelta(minutes=minutes))
    event.add("sequence", sequence)
    event.add("summary", title)
    event.add("description", f"Open the visit page to join: {url}")
    event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal.add_component(event)
    return bytes(cal.to_ical())
