"""The live queue (issue 11) on SQLite and PostgreSQL: the first queue page polls a fragment that
brings new red flags, newly waiting people and booked visits, with a polite live region, and
"tele-visit requested" turns into the booked time once booked."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from telespine.web.testing import bearer, csrf_from, login

Client = Any
CALM = {"age_years": 40, "location": "low_back", "onset": "gradual", "duration_days": 5, "pain_score": 3}
RED_FLAG = "Since this morning I wet myself and I can't feel my groin."
ALL_DAY = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-23:59")


def _live_url(html: str) -> str:
    found = re.search(r'hx-get="(/clinic/queue/live\?[^"]+)"', html)
    assert found is not None, html[:2000]
    return found.group(1).replace("&amp;", "&")


def _item(html: str, case: str) -> str:
    """The queue entry of one case (its <li>)."""
    start = html.index(f'id="case-{case}"')
    return html[start : html.index("</li>", start)]


def _news(html: str) -> str:
    if 'id="queue-news" hx-swap-oob="innerHTML"' not in html:
        return ""
    return html.split('id="queue-news" hx-swap-oob="innerHTML"', 1)[1]


def _new_case(api: Client, dave_api: Client) -> str:
    r = api.post("/api/v1/assessments", json={"findings": CALM})
    assert r.status_code == 201, r.text
    assessment = r.json()["id"]
    return str(
        next(c["id"] for c in dave_api.get("/api/v1/queue").json() if c["assessment_id"] == assessment)
    )


def test_the_fragment_brings_new_people_red_flags_and_booked_times(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    dave = login(make_client, seeded_url, "dr_dave")
    dave_api = bearer(make_client, seeded_url, "dr_dave")
    alice_api = bearer(make_client, seeded_url, "alice")
    alice = login(make_client, seeded_url, "alice")
    token = csrf_from(dave.get("/clinic/hours").text)
    hours = {"timezone": "UTC", **ALL_DAY, "csrf_token": token}
    assert dave.post("/clinic/hours", data=hours, follow_redirects=False).status_code == 303

    page = dave.get("/clinic/queue").text
    assert 'hx-trigger="every 10s"' in page and 'aria-live="polite"' in page
    first = _live_url(page)
    quiet = dave.get(first)
    assert quiet.status_code == 200 and _news(quiet.text) == ""  # nothing new yet: no news block

    # a new person in the queue
    case = _new_case(alice_api, dave_api)
    r = dave.get(first)
    assert f'id="case-{case}"' in r.text and "New in the queue: Alice Archer." in _news(r.text)
    after_new = _live_url(r.text)
    assert dave.get(after_new).text.count("hx-swap-oob") == 0  # the next poll does not repeat it

    # a red flag raises the case; the next poll says so and the entry shows why
    sent = alice_api.post(f"/api/v1/cases/{case}/messages", json={"body": RED_FLAG})
    assert sent.status_code == 201 and sent.json()["raised"], sent.json()
    r = dave.get(after_new)
    news = _news(r.text)
    assert "news-red_flag" in news and "Raised: Alice Archer." in news
    assert "Raised " in _item(r.text, case)

    # a visit request shows as requested, and as the booked time once booked
    other = _new_case(alice_api, dave_api)
    form = csrf_from(alice.get(f"/care/cases/{other}").text)
    alice.post(f"/care/cases/{other}/visit-request", data={"mode": "video", "csrf_token": form})
    before_booking = _live_url(dave.get(after_new).text)
    assert "Tele-visit requested." in _item(dave.get(before_booking).text, other)
    slots = re.findall(r'name="slot" value="([^"]+)"', alice.get(f"/care/cases/{other}/visits/new").text)
    booked = alice.post(
        f"/care/cases/{other}/visits", data={"slot": slots[0], "mode": "video", "csrf_token": form}
    )
    assert booked.status_code == 200
    r = dave.get(before_booking)
    entry = _item(r.text, other)
    assert "Visit booked:" in entry and "Tele-visit requested." not in entry and "(UTC)" in entry
    assert "Visit booked: Alice Archer" in _news(r.text)
    # the full page shows the booked time as well
    assert "Visit booked:" in _item(dave.get("/clinic/queue").text, other)


def test_only_clinicians_poll_and_a_bad_time_shows_no_news(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    alice = login(make_client, seeded_url, "alice")
    assert alice.get("/clinic/queue/live").status_code in (403, 404)
    anonymous = make_client(seeded_url)
    assert anonymous.get("/clinic/queue/live", follow_redirects=False).status_code in (303, 401, 403, 404)
    dave = login(make_client, seeded_url, "dr_dave")
    for since in ("", "yesterday", "2999-01-01T00:00:00+00:00"):
        r = dave.get("/clinic/queue/live", params={"since": since})
        assert r.status_code == 200 and 'id="queue-live"' in r.text and _news(r.text) == ""
    # a time long ago shows news (the demo cases), at most five lines
    r = dave.get("/clinic/queue/live", params={"since": "2000-01-01T00:00:00+00:00"})
    assert 0 < _news(r.text).count("<li") <= 5


def test_a_poll_is_audited_when_the_set_of_cases_shown_changes(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    """A poll showing the same cases writes no audit row; one whose set of cases changed without
    news (a case closed: it leaves the queue) is a read of a new list and is audited."""
    from sqlalchemy import func, select

    from telespine.store.db import make_engine, make_sessionmaker
    from telespine.store.models import AuditEvent

    def live_reads() -> int:
        engine = make_engine(seeded_url)
        try:
            with make_sessionmaker(engine)() as db:
                query = select(func.count()).where(
                    AuditEvent.actor_username == "dr_dave",
                    AuditEvent.action == "list",
                    AuditEvent.object_type == "case",
                    AuditEvent.detail.like("%live"),
                )
                return int(db.scalar(query) or 0)
        finally:
            engine.dispose()

    dave = login(make_client, seeded_url, "dr_dave")
    dave_api = bearer(make_client, seeded_url, "dr_dave")
    case = _new_case(bearer(make_client, seeded_url, "alice"), dave_api)
    page = dave.get("/clinic/queue").text
    assert f'id="case-{case}"' in page
    first = _live_url(page)
    before = live_reads()
    again = dave.get(first)
    assert again.status_code == 200 and _news(again.text) == ""
    assert live_reads() == before  # the same cases as the audited page: no row
    chart = dave.get(f"/care/cases/{case}").text
    closed = dave.post(
        f"/care/cases/{case}/close", data={"csrf_token": csrf_from(chart)}, follow_redirects=False
    )
    assert closed.status_code == 303
    r = dave.get(_live_url(again.text))
    assert r.status_code == 200 and f'id="case-{case}"' not in r.text and _news(r.text) == ""
    assert live_reads() == before + 1  # a changed set of cases shown: audited
    dave.get(_live_url(r.text))
    assert live_reads() == before + 1  # and not again while it stays the same


def test_news_from_a_write_that_committed_after_the_poll_still_shows_once(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    """A write stamps raised_at when it starts and commits later; a poll that ran in between saw
    neither the row nor a later time. The next poll still tells it (it looks back GRACE and
    leaves out what it told), and the one after does not repeat it."""
    import datetime as dt
    from urllib.parse import parse_qs, urlsplit

    from telespine.store import cases
    from telespine.store.db import make_engine, make_sessionmaker, session_scope

    dave = login(make_client, seeded_url, "dr_dave")
    case = _new_case(bearer(make_client, seeded_url, "alice"), bearer(make_client, seeded_url, "dr_dave"))
    page = dave.get("/clinic/queue").text
    quiet = dave.get(_live_url(page))
    assert _news(quiet.text) == ""  # the page counted the new person as told: not news again
    polled = _live_url(quiet.text)
    since = dt.datetime.fromisoformat(parse_qs(urlsplit(polled).query)["since"][0])
    engine = make_engine(seeded_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            row = cases.get_case(db, case)
            assert row is not None
            row.raised_at = since - dt.timedelta(seconds=5)  # stamped before the poll, stored after it
            row.raised_reason = "Red flag in a message or diary note"
    finally:
        engine.dispose()
    r = dave.get(polled)
    assert "Raised: Alice Archer." in _news(r.text)
    again = dave.get(_live_url(r.text))
    assert _news(again.text) == ""  # told once
