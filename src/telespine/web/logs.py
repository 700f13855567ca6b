"""Logs that cannot carry health data (issue 13).

- `SafeFormatter` writes an exception as its type names and code locations only, never its
  message: a database error's message can quote the values of the failed statement (a
  PostgreSQL `DETAIL: Key (...)=(...)`), a validation error the text it refused. Every handler
  of `log_config` uses it, so this holds for telespine's, uvicorn's and SQLAlchemy's loggers.
- `JsonFormatter`: the same, one JSON object per line (`TELESPINE_JSON_LOGS=true`).
- `AccessLogMiddleware`: one line per request with the method, the path WITHOUT its query string
  (a guide search is health data), the status and the time; uvicorn's own access log (which
  writes the query string) is switched off by `serve`.
- `CatchAllMiddleware`: an unhandled exception ends in the app's error response here, and is
  not re-raised to uvicorn (whose "Exception in ASGI application" would print the message).
The database engine has `hide_parameters=True` and no echo (`telespine.store.db.make_engine`).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("telespine.access")
errors_log = logging.getLogger("telespine.web")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def describe_exception(ei: Any) -> str:
    """Type names of the exception chain and the frames it passed, without any message."""
    _, exc, tb = ei
    parts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = traceback.extract_tb(exc.__traceback__ if exc is not ei[1] else tb)
        where = " < ".join(
            f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames[-6:])
        )
        parts.append(f"{type(exc).__module__}.{type(exc).__qualname__} at {where or '?'}")
        exc = exc.__cause__ or exc.__context__
    return "exception (message withheld): " + " | caused by ".join(parts)


class SafeFormatter(logging.Formatter):
    """A formatter that never prints an exception's message or a stack's source lines."""

    def formatException(self, ei: Any) -> str:
        return describe_exception(ei)

    def formatStack(self, stack_info: str) -> str:
        return "stack withheld"


class JsonFormatter(SafeFormatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        for key in ("method", "path", "status", "ms"):
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        return json.dumps(doc, ensure_ascii=True)


def log_config(json_logs: bool = False, level: str = "INFO") -> dict[str, Any]:
    """A logging.dictConfig for uvicorn (serve) and the worker: safe formatters everywhere."""
    formatter = (
        {"()": JsonFormatter}
        if json_logs
        else {
            "()": SafeFormatter,
            "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    )
    handler = {"class": "logging.StreamHandler", "formatter": "safe", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"safe": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            # uvicorn's access lines carry the query string: off (serve passes access_log=False too).
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "sqlalchemy": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def install(json_logs: bool = False, level: str = "INFO") -> None:
    """Apply log_config in this process (the worker; serve hands it to uvicorn)."""
    import logging.config

    logging.config.dictConfig(log_config(json_logs, level))


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/cases/{case_id}`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "(unmatched)"


class AccessLogMiddleware:
    """One access line per request, without the query string; also feeds the metrics."""

    def __init__(
        self, app: ASGIApp, enabled: bool = True, observe: Callable[..., None] | None = None
    ) -> None:
        self.app = app
        self.enabled = enabled
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            if self.observe is not None:
                self.observe(scope["method"], route_template(scope), status, seconds)
            if self.enabled:
                path = str(scope.get("path", ""))[:300]
                access_log.info(
                    "%s %s %s %.1fms",
                    scope["method"],
                    path,
                    status,
                    seconds * 1000,
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "ms": round(seconds * 1000, 1),
                    },
                )


def out_of_range_response(scope: Scope) -> Response:
    from starlette.responses import HTMLResponse, JSONResponse

    problem = "the time is out of range"
    if str(scope.get("path", "")).startswith("/api/"):
        return JSONResponse(
            {"detail": f"Invalid request: {problem}", "errors": [{"field": "time", "problem": problem}]},
            status_code=422,
        )
    return HTMLResponse(
        "<!doctype html><html lang='en'><title>Check the date</title><h1>Check the date</h1>"
        "<p>A date or time you gave is out of range. Nothing was saved. Go back and check it.</p>",
        status_code=422,
    )


class CatchAllMiddleware:
    """Turn an unhandled exception into the app's error response; never re-raise it."""

    def __init__(self, app: ASGIApp, handler: Callable[[Request, Exception], Awaitable[Response]]) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                errors_log.error("unhandled %s after the response started", type(exc).__name__)
                return
            from telespine.web.timefields import is_out_of_range

            if is_out_of_range(exc):  # a time the database cannot hold: the caller's mistake
                errors_log.info("refused an out-of-range time (%s)", type(exc).__name__)
                response = out_of_range_response(scope)
            else:
                response = await self.handler(Request(scope, receive), exc)
            await response(scope, receive, send)
