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
import html
import json
import re
import weakref
from typing import Any

from telespine.triage.emergency import DEFAULT_EMERGENCY_NUMBER, builtin_line, builtin_signs
from telespine.web.sessions import COOKIE_NAME

Scope = dict[str, Any]

PATHS = re.compile(r"^/(?:api/v1|care)/cases/[^/]+/(?:messages|diary)/?$")
RETRY_AFTER = "5"


class FollowupSlotsMiddleware:
    """Pure ASGI: POSTs to the message and diary paths hold one of `slots` while they run."""

    def __init__(
        self,
        app: Any,
        slots: int = 4,
        wait_seconds: float = 20.0,
        emergency_number: str = DEFAULT_EMERGENCY_NUMBER,
    ) -> None:
        self.app = app
        self.slots = max(1, slots)
        self.wait_seconds = wait_seconds
        self.emergency_number = emergency_number
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
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not PATHS.match(scope["path"])
            or not _has_credentials(scope)
        ):
            # a post with no bearer token and no session cookie cannot be signed in: the route's
            # auth refuses it (401/303) before anything is read, stored or screened, so it needs
            # no slot and cannot use up the slots of signed-in patients
            await self.app(scope, receive, send)
            return
        sem = self._semaphore()
        try:
            await asyncio.wait_for(sem.acquire(), self.wait_seconds)
        except TimeoutError:
            await _busy(scope, send, self.emergency_number)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            sem.release()


def _has_credentials(scope: Scope) -> bool:
    """A bearer token or a session cookie is present (not checked here: the route checks it)."""
    for key, value in scope.get("headers", []):
        if key == b"authorization" and value[:7].lower() == b"bearer " and value[7:].strip():
            return True
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, token = part.strip().partition("=")
                if name == COOKIE_NAME and token:
                    return True
    return False


async def _busy(scope: Scope, send: Any, emergency_number: str) -> None:
    """503 with Retry-After; nothing was read or stored. Like every refusal it carries the
    emergency safety net: the configured number and the built-in signs (the audience is not known
    here, so the neutral wording: builtin_signs(None))."""
    text = "Too many messages are being checked right now. Nothing was saved: please send it again."
    line = builtin_line(None, emergency_number)
    signs = builtin_signs(None)
    if scope["path"].startswith("/api/"):
        doc = {"detail": text, "safety_net": [line, *signs], "emergency_number": emergency_number}
        body = json.dumps(doc).encode()
        kind = b"application/json"
    else:
        number = html.escape(emergency_number)
        items = "".join(f"<li>{html.escape(s)}</li>" for s in signs)
        body = (
            "<!doctype html><html lang='en'><title>Busy: please send again</title>"
            f"<p>{html.escape(text)}</p>"
            "<h1>Get emergency help now if you notice any of these signs</h1>"
            f"<ul>{items}</ul><p>{html.escape(line)}</p>"
            f"<p><a href='tel:{number}'>Call {number}</a></p></html>"
        ).encode()
        kind = b"text/html; charset=utf-8"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", RETRY_AFTER.encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
