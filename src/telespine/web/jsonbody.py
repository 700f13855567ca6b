"""Strict reading of JSON request bodies: no duplicate keys, bounded nesting (audit S3 and a 500).

Python's json module keeps the last of two equal keys, so {"saddle_numbness": true,
"saddle_numbness": false} would silently drop a red flag; and very deep nesting raises
RecursionError. Every JSON body under /api/ passes through `JsonBodyMiddleware` before a route sees
it, so the rule holds for every endpoint, also those whose body FastAPI parses itself.

Control characters: PostgreSQL cannot store NUL (psycopg raises DataError, a 500 that lost a
red-flag message), and the other C0 controls are never real patient text. Every JSON body (any
path) and every url-encoded or multipart form body is refused with 422 naming the field when a
key or a text value holds one, except tab, line feed and carriage return.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Findings and every other API body are a few levels deep; 32 leaves room and stops recursion
# in the validators long before Python's own limit.
MAX_DEPTH = 32


class JsonBodyProblem(ValueError):
    """A JSON body that parses but must be refused; status 422 (duplicate key) or 400 (too deep)."""

    def __init__(self, status_code: int, detail: str, field: str, problem: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.field = field
        self.problem = problem

    def response(self) -> JSONResponse:
        """The API error body: detail plus the errors list every 422 carries."""
        return JSONResponse(
            {"detail": self.detail, "errors": [{"field": self.field, "problem": self.problem}]},
            status_code=self.status_code,
        )


# C0 controls and DEL that no patient or clinician text needs; \t \n \r are kept.
_FORBIDDEN = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r") | {"\x7f"}


def bad_control(text: str) -> bool:
    """True when text holds a control character we refuse (NUL and other C0 except tab/newlines)."""
    return not _FORBIDDEN.isdisjoint(text)


def _control_problem(field: str) -> JsonBodyProblem:
    shown = field if not bad_control(field) else "(a key)"
    return JsonBodyProblem(
        422,
        f'The field "{shown}" holds a control character (such as NUL) that cannot be stored.',
        shown,
        "control character",
    )


def _check_text(doc: Any) -> None:
    """Iterative walk: refuse keys and strings with a forbidden control character."""
    stack: list[tuple[Any, str]] = [(doc, "body")]
    while stack:
        node, field = stack.pop()
        if isinstance(node, str):
            if bad_control(node):
                raise _control_problem(field)
        elif isinstance(node, dict):
            for key, value in node.items():
                if bad_control(key):
                    raise _control_problem(key)
                stack.append((value, key))
        elif isinstance(node, list):
            stack.extend((item, field) for item in node)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonBodyProblem(422, f'Invalid JSON: the key "{key}" appears twice.', key, "duplicate key")
        out[key] = value
    return out


def _too_deep() -> JsonBodyProblem:
    return JsonBodyProblem(
        400,
        f"The JSON body is nested more than {MAX_DEPTH} levels deep.",
        "body",
        f"nested more than {MAX_DEPTH} levels",
    )


def _check_depth(doc: Any) -> None:
    """Iterative (no recursion of its own): refuse documents nested deeper than MAX_DEPTH."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > MAX_DEPTH:
            raise _too_deep()
        stack.extend((child, depth + 1) for child in children)


def strict_loads(raw: bytes | str) -> Any:
    """Parse JSON; JsonBodyProblem for duplicate keys or too deep nesting, ValueError if not JSON."""
    try:
        doc = json.loads(raw, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise _too_deep() from None
    _check_depth(doc)
    _check_text(doc)
    return doc


def _media(scope: Scope) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: bytes = value.split(b";")[0].strip().lower()
            return media
    return b""


def _is_json(media: bytes) -> bool:
    return media == b"application/json" or media.endswith(b"+json")


def _address_has_control(scope: Scope) -> bool:
    """True when the (decoded) path or a query parameter holds a forbidden control character."""
    if bad_control(str(scope.get("path", ""))):
        return True
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    return any(
        bad_control(k) or bad_control(v)
        for k, v in parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="replace")
    )


def form_control_field(body: bytes, media: bytes) -> str | None:
    """The name of the first form field whose name or value holds a forbidden control character."""
    if media == b"application/x-www-form-urlencoded":
        text = body.decode("latin-1")  # decoding never fails; percent escapes are decoded below
        for key, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"):
            if bad_control(key):
                return "(a field name)"
            if bad_control(value):
                return key
        return None
    # multipart: a NUL may sit in a file, so only text parts (no filename) are checked, as raw bytes
    for part in body.split(b"\r\n--"):
        head, sep, raw = part.partition(b"\r\n\r\n")
        if not sep or b"filename=" in head.lower() or b"content-disposition" not in head.lower():
            continue
        if bad_control(raw.decode("utf-8", "replace")):
            name = head.lower().split(b'name="', 1)[-1].split(b'"', 1)[0]
            return name.decode("utf-8", "replace") or "(a field)"
    return None


def _form_refusal(scope: Scope, field: str) -> Any:
    """The 422 page for a form with a control character: what to do, and the emergency number."""
    from starlette.responses import HTMLResponse

    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    number = html.escape(str(getattr(settings, "emergency_number", "911")))
    shown = html.escape(field)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Please check your text'
        '</title><meta name="viewport" content="width=device-width, initial-scale=1"></head><body>'
        "<main><h1>Please check your text</h1>"
        f"<p>The field <strong>{shown}</strong> has a hidden control character that we cannot save. "
        "Nothing was saved. Go back, type the text again and send it.</p>"
        f"<p><strong>If you have a warning sign or feel very unwell, call {number} now.</strong> "
        "Do not wait for an answer from the clinic.</p>"
        '<p><a href="javascript:history.back()">Go back</a></p></main></body></html>'
    )
    return HTMLResponse(page, status_code=422)


class JsonBodyMiddleware:
    """Refuse API JSON bodies with duplicate keys (422) or too deep nesting (400) before routing,
    and any JSON or form body with a control character (422 naming the field).

    Bodies that are not JSON at all pass through: the routes answer those (400 or 422) themselves.
    Runs inside the body-size limit, so at most max_body_bytes are read here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _address_has_control(scope):
            # An id or query with NUL reached PostgreSQL as a query parameter: a DataError (500).
            await JSONResponse(
                {
                    "detail": "The address holds a control character.",
                    "errors": [{"field": "url", "problem": "control character"}],
                },
                status_code=400,
            )(scope, receive, send)
            return
        media = _media(scope)
        is_form = media in (b"application/x-www-form-urlencoded", b"multipart/form-data")
        if not (_is_json(media) or is_form):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if is_form:
            field = form_control_field(body, media)
            if field is not None:
                if str(scope.get("path", "")).startswith("/api/"):
                    await _control_problem(field).response()(scope, receive, send)
                else:
                    await _form_refusal(scope, field)(scope, receive, send)
                return
        elif body.strip():
            try:
                strict_loads(body)
            except JsonBodyProblem as exc:
                await exc.response()(scope, receive, send)
                return
            except (ValueError, UnicodeDecodeError):
                pass  # not JSON: the route's own parsing answers
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
