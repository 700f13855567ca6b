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

News is never lost to a slow write: a write stamps its time (raised_at, a booking's created_at)
when it starts and commits later, so a poll that ran in between saw neither the row nor a time
after its own. Each poll therefore looks back GRACE before its `since` and leaves out what it
already told: the fragment carries `seen`, short digests of the news in that window (kind, case
and time; no names), into the next poll's URL. The queue page seeds `seen` with what it showed.
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
GRACE = dt.timedelta(seconds=60)  # how far back a poll looks for writes that committed late
SEEN_LIMIT = 64  # digests carried in the poll URL (news older than GRACE drops out)


@dataclass(frozen=True)
class News:
    kind: str  # red_flag | waiting | booked | rescheduled | cancelled
    text: str


def parse_since(value: str, now: dt.datetime) -> dt.datetime | None:
    """The browser's last render time (the server's own, echoed back); None when it is missing,
    unreadable or in the future: the poll then shows no news rather than old news."""
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    return when if when <= now else None


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


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _key(kind: str, case_id: str, when: dt.datetime) -> str:
    """A short digest of one piece of news (no name, no reason)."""
    raw = f"{kind}|{case_id}|{_aware(when).isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def parse_seen(value: str) -> frozenset[str]:
    """The `seen` digests from a poll URL; anything else is dropped (at worst news shows twice)."""
    hexdigits = set("0123456789abcdef")
    return frozenset(k for k in value.split(".")[:SEEN_LIMIT] if len(k) == 12 and set(k) <= hexdigits)


@dataclass(frozen=True)
class Window:
    news: list[News]  # not told before, most urgent kind first, at most NEWS_LIMIT
    seen: str  # every piece of news in the window, for the next poll's URL


def news_window(
    db: Session,
    user: User,
    items: list[Any],
    since: dt.datetime,
    seen: frozenset[str] = frozenset(),
    *,
    grace: bool = True,
) -> Window:
    """What changed on this queue page since `since` (looking GRACE further back for writes that
    committed late, unless grace is False), leaving out what `seen` says was told already."""
    tz = clinician_zone(db, user)
    start = since - GRACE if grace else since
    names = {i.case.id: i.case.assessment.profile.display_name for i in items}
    keys: list[str] = []
    raised, waiting = [], []
    for i in items:
        name = names[i.case.id]
        if i.case.raised_at is not None and _aware(i.case.raised_at) > start:
            keys.append(k := _key("red_flag", i.case.id, i.case.raised_at))
            if k not in seen:
                raised.append(News("red_flag", f"Raised: {name}. {i.case.raised_reason or ''}".strip()))
        elif _aware(i.waiting_since) > start:
            keys.append(k := _key("waiting", i.case.id, i.waiting_since))
            if k not in seen:
                waiting.append(News("waiting", f"New in the queue: {name}."))
    visits = []
    for c in visit_store.changes_since(db, list(names), start):
        keys.append(k := _key(f"visit-{c.id}", c.case_id, c.created_at))
        if k in seen:
            continue
        when = local_label(c.new_start, tz) if c.new_start is not None else ""
        text = {
            "booked": f"Visit booked: {names[c.case_id]}, {when}.",
            "rescheduled": f"Visit moved: {names[c.case_id]}, now {when}.",
            "cancelled": f"Visit cancelled: {names[c.case_id]}.",
        }.get(c.kind)
        if text:
            visits.append(News(c.kind, text))
    return Window(news=[*raised, *waiting, *visits][:NEWS_LIMIT], seen=".".join(keys[-SEEN_LIMIT:]))


def shown_digest(items: list[Any]) -> str:
    """A short digest of the set of case ids a queue page shows ("" for none)."""
    ids = sorted(i.case.id for i in items)
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16] if ids else ""


def live_url(kept: dict[str, str], since: dt.datetime, shown: str = "", seen: str = "") -> str:
    query = {
        **kept,
        "since": since.isoformat(),
        **({"shown": shown} if shown else {}),
        **({"seen": seen} if seen else {}),
    }
    return f"/clinic/queue/live?{urlencode(query)}"


def context(
    db: Session,
    user: User,
    items: list[Any],
    kept: dict[str, str],
    after: str,
    now: dt.datetime,
    seen: str | None = None,
) -> dict[str, Any]:
    """The queue template's live part: polling only on the first page (later pages are reads of
    a moment, with their own cursor). seen: the poll's Window.seen; None on the page itself,
    which counts what it shows as told."""
    url = None
    if not after:
        told = news_window(db, user, items, now).seen if seen is None else seen
        url = live_url(kept, now, shown_digest(items), told)
    return {"booked": booked_labels(db, user, items, now), "live_url": url, "poll_seconds": POLL_SECONDS}
