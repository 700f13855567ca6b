"""The paginated lists over HTTP: `GET /api/v1/assessments` pages with a Link header, the queue
page with a next link; a forged cursor is refused (issue 16)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from telespine.web.testing import bearer, login

Client = Any
NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def _pages(client: Client, url: str) -> tuple[list[dict[str, Any]], int]:
    out, pages = [], 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        out += r.json()
        pages += 1
        m = NEXT.search(r.headers.get("link", ""))
        if m:
            assert r.headers["x-next-cursor"] in m.group(1)
        url = m.group(1) if m else ""
    return out, pages


@pytest.mark.db
@pytest.mark.parametrize("who", ["dr_dave", "alice", "carol"])
def test_pages_of_two_join_to_the_whole_list(
    make_client: Callable[..., Client], seeded_url: str, who: str
) -> None:
    client = bearer(make_client, seeded_url, who)
    whole = client.get("/api/v1/assessments?limit=200")
    assert whole.status_code == 200
    assert "link" not in whole.headers  # everything fits: no next page
    everything = whole.json()
    assert everything, "the demo data gives every named user at least one assessment"
    paged, pages = _pages(client, "/api/v1/assessments?limit=2")
    assert paged == everything
    assert pages >= (len(everything) + 1) // 2
    keys = [(a["created_at"], a["id"]) for a in everything]
    assert keys == sorted(keys, reverse=True)  # newest first, the id breaking ties


@pytest.mark.db
def test_a_forged_cursor_is_422_and_limits_are_checked(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    client = bearer(make_client, seeded_url, "dr_dave")
    assert client.get("/api/v1/assessments?after=not-a-cursor").status_code == 422
    assert client.get("/api/v1/assessments?limit=0").status_code == 422
    assert client.get("/api/v1/assessments?limit=10000").status_code == 422


@pytest.mark.db
def test_the_queue_page_refuses_a_forged_cursor(make_client: Callable[..., Client], seeded_url: str) -> None:
    page = login(make_client, seeded_url, "dr_dave")
    assert page.get("/clinic/queue").status_code == 200
    assert page.get("/clinic/queue?after=bogus").status_code == 400


@pytest.mark.db
def test_the_queue_api_pages_join_to_the_whole_queue(
    make_client: Callable[..., Client], seeded_url: str
) -> None:
    client = bearer(make_client, seeded_url, "dr_dave")
    whole = client.get("/api/v1/queue?limit=200")
    assert whole.status_code == 200
    everything = whole.json()
    assert everything
    paged, _ = _pages(client, "/api/v1/queue?limit=1")
    assert paged == everything
    assert client.get("/api/v1/queue?after=bogus").status_code == 422
