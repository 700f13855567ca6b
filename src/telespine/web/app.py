"""The FastAPI application factory: settings, database, middleware, error pages, API and pages."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telespine.settings import Settings, get_settings
from telespine.store.db import make_engine, make_sessionmaker
from telespine.triage.emergency import builtin_line, builtin_signs
from telespine.web.jsonbody import UPLOAD_PATH, JsonBodyMiddleware, SafeJSONResponse, safe_text
from telespine.web.routing import add_routes
from telespine.web.sessions import COOKIE_NAME, WebSession

log = logging.getLogger("telespine.web")
HERE = Path(__file__).parent


class BodyLimitMiddleware:
    """Answer 413 for bodies over the limit, by Content-Length or by counting a streamed body."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (
            self.max_upload_bytes is not None
            and scope.get("method") == "POST"
            and UPLOAD_PATH.match(scope.get("path", ""))
        ):
            await self._upload(scope, receive, send, self.max_upload_bytes)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _send_413(scope, receive, send, self.max_bytes)
                    return
        # No Content-Length (a chunked body): read it all here, within the limit, then replay it.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body = message.get("body", b"")
            seen += len(body)
            if seen > self.max_bytes:
                await _send_413(scope, receive, send, self.max_bytes)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _upload(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """A file upload: a Content-Length within the upload limit, then streamed to the route
        (which spools it to a temporary file), never buffered here."""
        length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        try:
            size = int(length) if length is not None else None
        except ValueError:
            size = None
        if size is None:
            response = JSONResponse({"detail": "Send the file with a Content-Length."}, status_code=411)
            await response(scope, receive, send)
            return
        if size > limit:
            await _send_413(scope, receive, send, limit)
            return
        await self.app(scope, receive, send)


async def _send_413(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = JSONResponse(
        {"detail": f"The request body is larger than {limit // 1024} KiB."}, status_code=413
    )
    await response(scope, receive, send)


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: Settings | None = None, *, warm_up: bool = False) -> FastAPI:
    """A configured app; pass settings in tests, else they are read from the environment.

    warm_up=True (the served app, telespine.web.asgi) loads the screening pipeline and the rules
    in a background thread at start; `/readyz` answers 503 until that is done (web/health.py).
    """
    from telespine.web.health import Readiness

    settings = settings or get_settings()
    readiness = Readiness(ready=not warm_up)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            readiness.start()
            from telespine.program.pdf_pool import use_helper_process

            use_helper_process()  # plan PDFs in a recycled helper process: flat worker memory
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="telespine",
        version="0.1.0",
        summary="Telemedicine care for back pain: safe triage, guides and saved assessments.",
        docs_url=None,  # Swagger UI loads from a CDN, which the CSP (and the no-CDN rule) forbid
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    engine = make_engine(settings.sqlalchemy_url)
    app.state.settings = settings
    app.state.readiness = readiness
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)

    from telespine.web.templating import make_templates

    app.state.templates = make_templates(settings)
    from telespine.store.accounts import configure_hash_slots

    configure_hash_slots(settings.login_max_concurrent_hashes, settings.login_hash_wait_seconds)

    @app.middleware("http")
    async def session_cookie_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        ws: WebSession | None = getattr(request.state, "web_session", None)
        if ws is not None and ws.new_token:
            response.set_cookie(
                COOKIE_NAME,
                ws.new_token,
                max_age=settings.session_absolute_hours * 3600,
                httponly=True,
                samesite="lax",
                secure=settings.cookie_secure,
                path="/",
            )
        elif ws is not None and ws.clear_cookie:
            response.delete_cookie(
                COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
            )
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.env == "production":
            response.headers.setdefault("strict-transport-security", "max-age=31536000; includeSubDomains")
        if ws is not None and ws.row is not None:
            response.headers.setdefault("cache-control", "no-store")  # personal pages stay out of caches
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
            errors.append({"field": ".".join(loc) or "body", "problem": str(err.get("msg", "invalid"))})
        first = errors[0] if errors else {"field": "body", "problem": "invalid"}
        detail = f"Invalid request: {first['field']}: {first['problem']}"
        if _is_api(request):
            return SafeJSONResponse({"detail": detail, "errors": errors}, status_code=422)
        return _error_page(request, 422, "Some answers could not be read. Go back and check them.")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (403, 404):
            from telespine.web.denials import record_denial

            await record_denial(request, exc.status_code)  # who tried which object (ids only)
        if _is_api(request):
            body: dict[str, Any] = {"detail": exc.detail}
            errors = getattr(exc, "errors", None)
            if errors is None and exc.status_code == 422:
                errors = [{"field": "request", "problem": str(exc.detail)}]  # every 422 has the list
            if errors is not None:
                body["errors"] = errors
            return SafeJSONResponse(body, status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return _error_page(request, exc.status_code, safe_text(str(exc.detail)))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Only the type: exception messages can carry health data from the request.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        if _is_api(request):
            return SafeJSONResponse({"detail": "Something went wrong on our side."}, status_code=500)
        if request.url.path.startswith("/assess"):
            return _safety_net_page(request)  # never leave someone mid-assessment without advice
        return _error_page(request, 500, "Something went wrong on our side.")

    def _audience_of_draft(request: Request) -> str:
        """The audience of the assessment in progress: a child's check gets the parent's wording."""
        from telespine.web import clinical

        try:
            ws: WebSession | None = getattr(request.state, "web_session", None)
            draft = ws.data.get("assess") if ws is not None else None
            if not isinstance(draft, dict):
                return "adult"
            hint = "pediatric" if draft.get("who") == "child" else "adult"
            answers = draft.get("answers")
            return clinical.audience_of(answers if isinstance(answers, dict) else {}, hint)
        except Exception:
            return "adult"

    def _safety_net_page(request: Request) -> Response:
        from telespine.web import clinical

        templates: Jinja2Templates = app.state.templates
        audience = _audience_of_draft(request)
        try:
            return templates.TemplateResponse(
                request,
                "emergency.html",
                {
                    "user": None,
                    "csrf_token": "",
                    "result": None,
                    "safety_net": True,
                    "for_child": audience == "pediatric",
                    "guide": clinical.guide_for(audience, settings.emergency_number),
                    "advice": clinical.advice_for(audience, settings.emergency_number),
                    "last_question": "",
                },
                status_code=500,
            )
        except Exception:
            number = html.escape(settings.emergency_number)
            signs = "".join(f"<li>{html.escape(s)}</li>" for s in builtin_signs(audience))
            return HTMLResponse(
                "<!doctype html><html lang='en'><title>Get help</title>"
                "<h1>We could not finish the check.</h1>"
                f"<p>{html.escape(builtin_line(audience, settings.emergency_number))}</p>"
                f"<ul>{signs}</ul><p><a href='tel:{number}'>Call {number}</a></p>",
                status_code=500,
            )

    def _error_page(request: Request, status: int, message: str) -> Response:
        templates: Jinja2Templates = app.state.templates
        try:
            return templates.TemplateResponse(
                request,
                "error.html",
                {"status": status, "message": message, "user": None, "csrf_token": ""},
                status_code=status,
            )
        except Exception:
            return HTMLResponse(f"<h1>{status}</h1>", status_code=status)

    from telespine.web import cds
    from telespine.web.api.care import router as care_api_router
    from telespine.web.api.fhir import router as fhir_router
    from telespine.web.api.program import router as program_api_router
    from telespine.web.api.routes import router as api_router
    from telespine.web.health import router as health_router
    from telespine.web.pages.care import router as care_pages_router
    from telespine.web.pages.program import router as program_pages_router
    from telespine.web.pages.routes import router as pages_router

    add_routes(app, health_router)
    from telespine.web.metrics import router as metrics_router

    add_routes(app, metrics_router)
    add_routes(app, api_router)
    add_routes(app, program_api_router)
    add_routes(app, care_api_router)
    from telespine.web.api.checkin import router as checkin_api_router

    add_routes(app, checkin_api_router)  # issue 14: check-ins and wearable uploads
    from telespine.web.api.medicines import router as medicines_api_router

    add_routes(app, medicines_api_router)  # issue 14: medicine diary and lessons
    from telespine.web.api.accounts import router as accounts_api_router

    add_routes(app, accounts_api_router)
    add_routes(app, fhir_router)
    cds.install(app, settings)
    add_routes(app, pages_router)
    from telespine.web.pages.accounts import router as account_pages_router

    add_routes(app, account_pages_router)
    add_routes(app, program_pages_router)
    add_routes(app, care_pages_router)
    from telespine.web.pages.checkin import router as checkin_pages_router

    add_routes(app, checkin_pages_router)  # issue 14: check-ins, progress, uploads
    from telespine.web.pages.lessons import router as lessons_pages_router
    from telespine.web.pages.medicines import router as medicines_pages_router

    add_routes(app, medicines_pages_router)  # issue 14: medicine diary
    add_routes(app, lessons_pages_router)  # issue 14: lessons and "read"
    from telespine.web.pages.exercises import router as exercise_pictures_router

    add_routes(app, exercise_pictures_router)  # issue 14: exercise pictures for the program page
    from telespine.web import visits

    visits.install(app)  # the video visit and scheduling (issue 11)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    from telespine.web.idempotency import IdempotencyMiddleware

    idempotent: Any = IdempotencyMiddleware  # innermost: sees the body as the routes do
    app.add_middleware(idempotent, factory=app.state.sessionmaker)
    from telespine.web.write_slots import FollowupSlotsMiddleware

    slots: Any = FollowupSlotsMiddleware  # message/diary posts: a few at once, others wait or 503
    app.add_middleware(slots, emergency_number=settings.emergency_number)
    json_checks: Any = JsonBodyMiddleware
    app.add_middleware(json_checks)
    wrapped: Any = BodyLimitMiddleware
    app.add_middleware(wrapped, max_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    from telespine.web import metrics
    from telespine.web.logs import AccessLogMiddleware, CatchAllMiddleware

    catch_all: Any = CatchAllMiddleware  # an error never reaches uvicorn's traceback log
    app.add_middleware(catch_all, handler=server_error)
    access: Any = AccessLogMiddleware  # added last: runs first (paths without query strings)
    app.add_middleware(access, enabled=settings.access_log, observe=metrics.observe_request)
    return app
