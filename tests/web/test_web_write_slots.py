"""Message and diary posts hold one of a few slots; past the wait they get 503 before anything runs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from telespine.triage.emergency import builtin_signs
from telespine.web.write_slots import FollowupSlotsMiddleware

SIGNED_IN = [(b"authorization", b"Bearer some-token")]


def _scope(path: str, method: str = "POST", headers: Any = None) -> dict[str, Any]:
    sent = SIGNED_IN if headers is None else headers
    return {"type": "http", "method": method, "path": path, "headers": sent}


async def _call(mw: FollowupSlotsMiddleware, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await mw(scope, receive, send)
    return sent


def test_posts_past_the_slots_wait_then_get_503_and_nothing_runs() -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def scenario() -> None:
        mw = FollowupSlotsMiddleware(app, slots=2, wait_seconds=0.2)
        paths = [f"/api/v1/cases/c{i}/messages" for i in range(2)]
        first = [asyncio.create_task(_call(mw, _scope(p))) for p in paths]
        await asyncio.sleep(0.05)
        assert started == paths  # two run at once
        refused = await _call(mw, _scope("/care/cases/c9/diary"))
        assert refused[0]["status"] == 503
        assert (b"retry-after", b"5") in refused[0]["headers"]
        assert "/care/cases/c9/diary" not in started  # refused before the route ran
        api_refused = await _call(mw, _scope("/api/v1/cases/c8/messages"))
        assert api_refused[0]["status"] == 503 and b"Nothing was saved" in api_refused[1]["body"]
        # other requests never wait for a slot
        release_task = asyncio.create_task(_call(mw, _scope("/api/v1/ping", "GET")))
        release.set()
        done = await asyncio.gather(*first, release_task)
        assert [d[0]["status"] for d in done] == [201, 201, 201]
        # slots are given back: the next post runs
        again = await _call(mw, _scope("/api/v1/cases/c0/messages"))
        assert again[0]["status"] == 201

    asyncio.run(scenario())


def test_the_busy_refusal_carries_the_emergency_number_and_signs_on_the_page_and_in_the_api() -> None:
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def scenario() -> None:
        mw = FollowupSlotsMiddleware(app, slots=1, wait_seconds=0.1, emergency_number="999")
        held = asyncio.create_task(_call(mw, _scope("/api/v1/cases/c0/messages")))
        await asyncio.sleep(0.02)
        page = await _call(mw, _scope("/care/cases/c1/messages"))
        api = await _call(mw, _scope("/api/v1/cases/c2/diary"))
        release.set()
        await held
        for sent in (page, api):
            assert sent[0]["status"] == 503 and (b"retry-after", b"5") in sent[0]["headers"]
        html = page[1]["body"].decode()
        assert "Nothing was saved" in html and "tel:999" in html and "911" not in html
        for sign in builtin_signs(None):
            assert sign.replace("'", "&#x27;") in html
        doc = json.loads(api[1]["body"])
        assert doc["emergency_number"] == "999" and "Nothing was saved" in doc["detail"]
        assert any("999" in line for line in doc["safety_net"])
        assert set(builtin_signs(None)) <= set(doc["safety_net"])

    asyncio.run(scenario())


def test_a_post_without_a_token_or_session_cookie_takes_no_slot() -> None:
    release = asyncio.Event()
    started: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started.append(scope["path"])
        if scope["path"].endswith("/c0/messages"):
            await release.wait()
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def scenario() -> None:
        mw = FollowupSlotsMiddleware(app, slots=1, wait_seconds=0.1)
        held = asyncio.create_task(_call(mw, _scope("/api/v1/cases/c0/messages")))
        await asyncio.sleep(0.02)
        # no credentials: straight to the app (its auth refuses it), never a 503 from the slots
        anonymous = await _call(mw, _scope("/api/v1/cases/c1/messages", headers=[]))
        other_cookie = await _call(mw, _scope("/care/cases/c2/diary", headers=[(b"cookie", b"x=1")]))
        assert anonymous[0]["status"] == 401 and other_cookie[0]["status"] == 401
        # a session cookie counts as signed in (checked by the route): it waits for the slot
        cookie = [(b"cookie", b"a=b; telespine_session=tok")]
        busy = await _call(mw, _scope("/care/cases/c3/diary", headers=cookie))
        assert busy[0]["status"] == 503 and "/care/cases/c3/diary" not in started
        release.set()
        await held

    asyncio.run(scenario())
