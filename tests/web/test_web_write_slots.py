"""Message and diary posts hold one of a few slots; past the wait they get 503 before anything runs."""

from __future__ import annotations

import asyncio
from typing import Any

from telespine.web.write_slots import FollowupSlotsMiddleware


def _scope(path: str, method: str = "POST") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": []}


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
