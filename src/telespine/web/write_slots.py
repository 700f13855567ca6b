"""Slots for the follow-up writes that screen text (issue 16: a burst of long messages).

A patient's message or diary entry is stored, then screened (CPU work in the threadpool), then
followed up in one transaction. Forty at once used to take every threadpool thread, every pooled
database connection and, on SQLite, the write lock for tens of seconds: saves timed out
(`QueuePool limit`, `database is locked`) and the sender got a 500. Here at most `slots` such
requests run at once per process; the others wait in the event loop (no thread, no connection)
for up to `wait_seconds`, then get 503 with `Retry-After` before anything is stored, so each
message is either stored and answered, or refused with an error its sender sees.
"""

from __future__ import annotations

import asyncio
import json
import re
import weakref
from typing import Any

Scope = dict[str, Any]

PATHS = re.compile(r"^/(?:api/v1|care)/cases/[^/]+/(?:messages|diary)/?$")
RETRY_AFTER = "5"


class FollowupSlotsMiddleware:
    """Pure ASGI: POSTs to the message and diary paths hold one of `slots` while they run."""

    def __init__(self, app: Any, slots: int = 4, wait_seconds: float = 20.0) -> None:
        self.app = app
        self.slots = max(1, slots)
        self.wait_seconds = wait_seconds
        # one semaphore per event loop (tests run apps in several loops)
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._by_loop.get(loop)
        if sem is None:
            sem = self._by_loop[loop] = asyncio.Semaphore(self.slots)
        return sem

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        sem = self._semaphore()
        try:
            await asyncio.wait_for(sem.acquire(), self.wait_seconds)
        except TimeoutError:
            await _busy(scope, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            sem.release()


async def _busy(scope: Scope, send: Any) -> None:
    """503 with Retry-After; nothing was read or stored."""
    text = "Too many messages are being checked right now. Nothing was saved: please send it again."
    if scope["path"].startswith("/api/"):
        body = json.dumps({"detail": text}).encode()
        kind = b"application/json"
    else:
        body = f"<!doctype html><title>Busy</title><p>{text}</p>".encode()
        kind = b"text/html; charset=utf-8"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", RETRY_AFTER.encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
