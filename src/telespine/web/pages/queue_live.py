"""The live part of the clinician's queue (issue 11): what the first queue page polls with htmx.

The fragment endpoint (`GET /clinic/queue/live`, in web/pages/care.py) runs the queue's own page
query (store.lists.queue_page, unchanged) and adds, for the cases of that page, each case's next
booked visit (so "tele-visit requested" becomes the booked time) and the news since the time the
browser last rendered: cases raised by a red flag, people newly waiting, visits booked, moved or
cancelled. The page shows the news in a polite live region (no sound).

Audit: the queue page's own read is audited (a "list" of cases). A poll is audited as a read
too when it has news, or when the set of cases it shows differs from the set the browser showed
before (the page or the previous poll): each fragment carries `shown`, a digest of its case ids
(`shown_digest`; ids only), in the next poll's URL. A poll showing the same people again reads
nothing new and writes no row; a changed set always does (a forged `shown` can only add rows).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from telespine.store import visits as visit_store
from telespine.store.models import User
from telespine.visits import local_label

POLL_SECONDS = 10  # how often the first queue page asks for the fragment (tests make it shorter)
NEWS_LIMIT = 5  # lines of news shown at once; the list itself is always whole


@dataclass(frozen=True)
class News:
    kind: str  # red_flag | waiting | booked | rescheduled | cancelled
    text: str


def parse_since(value: str, now: dt.datetime) -> dt.datetime:
    """The browser's last render time (the server's own, echoed back); now when it is missing,
    unreadable or in the future, so a bad value shows no news rather than old news."""
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return now
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    return min(when, now)


def clinician_zone(db: Session, user: User) -> str:
    sched = visit_store.schedule_of(db, user)
    return sched.timezone if sched is not None else "UTC"


def booked_labels(db: Session, user: User, items: list[Any], now: dt.datetime) -> dict[str, str]:
    """Case id -> the next booked visit of that case, in the clinician's zone, with its mode."""
    tz = clinician_zone(db, user)
    nxt = visit_store.next_bookings(db, [i.case.id for i in items], now)
    return {
        case_id: f"{local_label(b.slot_start, tz)} ({'phone call-back' if b.mode == 'phone' else b.mode})"
        for case_id, b in nxt.items()
    }


def news_since(db: Session, user: User, items: list[Any], since: dt.datetime) -> list[News]:
    """What changed on this queue page since `since`, most urgent kind first."""
    tz = clinician_zone(db, user)
    names = {i.case.id: i.case.assessment.profile.display_name for i in items}
    raised, waiting = [], []
    for i in items:
        name = names[i.case.id]
        if i.case.raised_at is not None and i.case.raised_at > since:
            raised.append(News("red_flag", f"Raised: {name}. {i.case.raised_reason or ''}".strip()))
        elif i.waiting_since > since:
            waiting.append(News("waiting", f"New in the queue: {name}."))
    visits = []
    for c in visit_store.changes_since(db, list(names), since):
        when = local_label(c.new_start, tz) if c.new_start is not None else ""
        text = {
            "booked": f"Visit booked: {names[c.case_id]}, {when}.",
            "rescheduled": f"Visit moved: {names[c.case_id]}, now {when}.",
            "cancelled": f"Visit cancelled: {names[c.case_id]}.",
        }.get(c.kind)
        if text:
            visits.append(News(c.kind, text))
    return [*raised, *waiting, *visits][:NEWS_LIMIT]


def shown_digest(items: list[Any]) -> str:
    """A short digest of the set of case ids a queue page shows ("" for none)."""
    ids = sorted(i.case.id for i in items)
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16] if ids else ""


def live_url(kept: dict[str, str], since: dt.datetime, shown: str = "") -> str:
    query = {**kept, "since": since.isoformat(), **({"shown": shown} if shown else {})}
    return f"/clinic/queue/live?{urlencode(query)}"


def context(
    db: Session, user: User, items: list[Any], kept: dict[str, str], after: str, now: dt.datetime
) -> dict[str, Any]:
    """The queue template's live part: polling only on the first page (later pages are reads of
    a moment, with their own cursor)."""
    return {
        "booked": booked_labels(db, user, items, now),
        "live_url": live_url(kept, now, shown_digest(items)) if not after else None,
        "poll_seconds": POLL_SECONDS,
    }
