"""Liveness and readiness: `/healthz` (the process answers) and `/readyz` (warmed up, ready for traffic).

`telespine serve` (telespine.web.asgi) builds the app with warm_up=True: at start a background
thread loads what a first patient message would otherwise load inside its request (the medspaCy
screening pipeline, about a second and tens of MB), plus the triage rules and the questionnaire.
Until it is done `/readyz` answers 503 with Retry-After, so a load balancer or process manager
sends no traffic yet; `/healthz` answers 200 from the start. A warm-up that fails leaves
`/readyz` at 503 with status "failed" (screening a message then gives its safety net, as before).
Apps made without warm_up (tests, tools) are ready at once: they load on first use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

log = logging.getLogger("telespine.web")
router = APIRouter()


def warm_everything() -> None:
    """Load every lazily built, process-wide part a first request would otherwise pay for."""
    from telespine.care.screening import get_pipeline, screen_message
    from telespine.triage.questionnaire import load_questionnaire
    from telespine.triage.rules import load_ruleset

    load_ruleset()
    load_questionnaire()
    get_pipeline()
    screen_message("My back is a little sore today.", "adult")  # first run of every component


class Readiness:
    """State of the warm-up: starting, ready or failed (thread-safe reads)."""

    def __init__(self, ready: bool = True) -> None:
        self._done = threading.Event()
        self.status = "ready" if ready else "starting"
        self.seconds: float | None = 0.0 if ready else None
        if ready:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the warm-up has ended (ready or failed); True when it has."""
        return self._done.wait(timeout)

    def run(self, warm: Callable[[], None]) -> None:
        start = time.perf_counter()
        try:
            warm()
        except Exception as exc:  # readiness reports it; requests still get their own safety nets
            self.status = "failed"
            log.error("warm-up failed: %s", type(exc).__name__)  # no message text: may hold health data
        else:
            self.status = "ready"
        self.seconds = time.perf_counter() - start
        if self.ready:
            log.info("warm-up done in %.2f s", self.seconds)
        self._done.set()

    def start(self, warm: Callable[[], None] | None = None) -> threading.Thread:
        """Run warm in a daemon thread (the event loop keeps serving /healthz meanwhile)."""
        self.status, self.seconds = "starting", None
        self._done.clear()
        thread = threading.Thread(
            target=self.run, args=(warm or warm_everything,), name="telespine-warm-up", daemon=True
        )
        thread.start()
        return thread


def _readiness(request: Request) -> Readiness:
    state: Readiness | None = getattr(request.app.state, "readiness", None)
    return state if state is not None else Readiness(ready=True)


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    """The process is alive and its event loop answers."""
    return JSONResponse({"status": "alive"}, headers={"cache-control": "no-store"})


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """200 once warmed up; 503 with Retry-After while starting (or when the warm-up failed)."""
    state = _readiness(request)
    body: dict[str, object] = {"status": state.status}
    if state.seconds is not None:
        body["warm_up_seconds"] = round(state.seconds, 3)
    if state.ready:
        return JSONResponse(body, headers={"cache-control": "no-store"})
    return JSONResponse(body, status_code=503, headers={"retry-after": "1", "cache-control": "no-store"})
