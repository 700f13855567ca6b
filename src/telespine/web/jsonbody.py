"""Strict reading of JSON request bodies: no duplicate keys, bounded nesting (audit S3 and a 500).

Python's json module keeps the last of two equal keys, so {"saddle_numbness": true,
"saddle_numbness": false} would silently drop a red flag; and very deep nesting raises
RecursionError. Every JSON body under /api/ passes through `JsonBodyMiddleware` before a route sees
it, so the rule holds for every endpoint, also those whose body FastAPI parses itself.

Control characters: PostgreSQL cannot store NUL (psycopg raises DataError), and the other C0
controls are never real patient text. But refusing them lost red-flag messages ("I wet
myself" plus a stray NUL got 422 and was never screened), so in every JSON body (any path) and
every url-encoded or multipart form body each control character in a text VALUE is replaced by a
space (tab, line feed and carriage return are kept); a KEY (field name) holding one is refused
with 422. Lone surrogates ("\ud800" in JSON) cannot be encoded or stored: a key or value holding
one is refused with 422, and every error body is encoded with backslashreplace, so no error
message can fail to encode (it was a 500 and a reset connection).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Findings and every other API body are a few levels deep; 32 leaves room and stops recursion
# in the validators long before Python's own limit.
MAX_DEPTH = 32


def safe_text(text: str) -> str:
    """Text that always encodes as UTF-8: lone surrogates become backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class SafeJSONResponse(JSONResponse):
    """A JSON response that never fails to encode: a lone surrogate is written as its escape."""

    def render(self, content: Any) -> bytes:
        """Like JSONResponse, but with backslashreplace instead of a UnicodeEncodeError (a 500)."""
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8", "backslashreplace")


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
        return SafeJSONResponse(
            {"detail": self.detail, "errors": [{"field": self.field, "problem": self.problem}]},
            status_code=self.status_code,
        )


# C0 controls and DEL that no patient or clinician text needs; \t \n \r are kept.
_FORBIDDEN = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r") | {"\x7f"}
_TO_SPACE = {ord(c): " " for c in _FORBIDDEN}
_FORBIDDEN_BYTES = bytes(ord(c) for c in sorted(_FORBIDDEN))
# In UTF-8 these bytes are never part of a longer character, so bytes can be cleaned in place.
_BYTES_TO_SPACE = bytes.maketrans(_FORBIDDEN_BYTES, b" " * len(_FORBIDDEN_BYTES))


def bad_control(text: str) -> bool:
    """True when text holds a control character we refuse (NUL and other C0 except tab/newlines)."""
    return not _FORBIDDEN.isdisjoint(text)


def clean_control(text: str) -> str:
    """Text with every forbidden control character replaced by a space (free text is never lost)."""
    return text.translate(_TO_SPACE)


def has_surrogate(text: str) -> bool:
    """True when text holds a lone surrogate, which cannot be encoded or stored."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _char_problem(field: str, problem: str, what: str) -> JsonBodyProblem:
    """422 for a field holding a character that cannot be stored; a key that holds one is not shown."""
    shown = field if not bad_control(field) and not has_surrogate(field) else "(a key)"
    return JsonBodyProblem(422, f'The field "{shown}" holds {what} that cannot be stored.', shown, problem)


def _control_problem(field: str) -> JsonBodyProblem:
    return _char_problem(field, "control character", "a control character (such as NUL)")


def _surrogate_problem(field: str) -> JsonBodyProblem:
    return _char_problem(field, "invalid character", "an invalid character (a lone surrogate)")


def _clean_text(doc: Any) -> tuple[Any, bool]:
    """Iterative walk: refuse keys with a control character and any lone surrogate; replace control
    characters in string values by spaces in place. Returns the document and whether it changed."""
    if isinstance(doc, str):
        if has_surrogate(doc):
            raise _surrogate_problem("body")
        cleaned = clean_control(doc)
        return cleaned, cleaned != doc
    changed = False
    stack: list[tuple[Any, str]] = [(doc, "body")]
    while stack:
        node, field = stack.pop()
        if isinstance(node, dict):
            items: list[tuple[Any, Any, str]] = []
            for key in node:
                if bad_control(key):
                    raise _control_problem(key)
                if has_surrogate(key):
                    raise _surrogate_problem(key)
                items.append((key, node[key], key))
        elif isinstance(node, list):
            items = [(i, item, field) for i, item in enumerate(node)]
        else:
            continue
        for slot, value, name in items:
            if isinstance(value, str):
                if has_surrogate(value):
                    raise _surrogate_problem(name)
                if bad_control(value):
                    node[slot] = clean_control(value)
                    changed = True
            elif isinstance(value, dict | list):
                stack.append((value, name))
    return doc, changed


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


def strict_loads_cleaned(raw: bytes | str) -> tuple[Any, bool]:
    """strict_loads, and whether control characters in string values were replaced by spaces."""
    try:
        doc = json.loads(raw, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise _too_deep() from None
    _check_depth(doc)
    return _clean_text(doc)


def strict_loads(raw: bytes | str) -> Any:
    """Parse JSON; JsonBodyProblem for duplicate keys, too deep nesting, a control character in a key
    or a lone surrogate anywhere; ValueError if not JSON. Control characters in values become spaces."""
    return strict_loads_cleaned(raw)[0]


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


def _options(value: bytes) -> dict[bytes, bytes]:
    """A header's parameters, parsed as Starlette's form parser parses them (python-multipart)."""
    try:
        from python_multipart.multipart import parse_options_header
    except ImportError:  # pragma: no cover - older python-multipart
        from multipart.multipart import parse_options_header  # type: ignore[import-untyped,no-redef]
    return parse_options_header(value)[1]


def _boundary(scope: Scope) -> bytes | None:
    """The multipart delimiter (CRLF, "--", boundary) as Starlette reads the first Content-Type."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            boundary = _options(value).get(b"boundary")
            return b"\r\n--" + boundary if boundary else None
    return None


def _disposition(head: bytes) -> dict[bytes, bytes] | None:
    """The parameters of a part's (last) Content-Disposition header; None when it has none."""
    found: dict[bytes, bytes] | None = None
    for line in head.split(b"\r\n"):
        key, colon, value = line.partition(b":")
        if colon and key.lower() == b"content-disposition":
            found = _options(value.strip())
    return found


def clean_form(body: bytes, media: bytes, delimiter: bytes | None = None) -> tuple[bytes, str | None]:
    """The form body with control characters in text values replaced by spaces, and the name of
    the first field whose NAME holds a control character or a lone surrogate (None when all fit)."""
    if media == b"application/x-www-form-urlencoded":
        text = body.decode("latin-1")  # decoding never fails; percent escapes are decoded below
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")
        for key, _value in pairs:
            if bad_control(key):
                return body, "(a field name)"
        if not any(bad_control(value) for _key, value in pairs):
            return body, None
        return urlencode([(k, clean_control(v)) for k, v in pairs]).encode("ascii"), None
    # multipart: a NUL may sit in a file, so only text parts (no filename) are cleaned, as raw
    # bytes (same length, so Content-Length stays right). Parts are split on the real delimiter
    # (CRLF, "--", boundary: "--boundary" alone may sit inside a value) and a part is a file only
    # when its Content-Disposition has a filename, exactly as Starlette decides.
    separator = delimiter or b"\r\n--"
    parts = body.split(separator)
    for index, part in enumerate(parts):
        head, sep, raw = part.partition(b"\r\n\r\n")
        options = _disposition(head) if sep else None
        if options is None:
            continue
        if bad_control(options.get(b"name", b"").decode("utf-8", "replace")):
            return body, "(a field name)"
        if b"filename" in options:
            continue
        parts[index] = head + sep + raw.translate(_BYTES_TO_SPACE)
    return separator.join(parts), None


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


# Wearable exports (issue 14): the page and the API upload of daily steps, streamed to the route.
UPLOAD_PATH = re.compile(r"^/(?:api/v1|care)/cases/[A-Za-z0-9]{1,64}/steps$")


class JsonBodyMiddleware:
    """Refuse API JSON bodies with duplicate keys (422) or too deep nesting (400) before routing,
    and any JSON or form body with a control character in a key or a lone surrogate (422 naming the
    field); control characters in text values are replaced by spaces before the route reads them.

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
            await SafeJSONResponse(
                {
                    "detail": "The address holds a control character.",
                    "errors": [{"field": "url", "problem": "control character"}],
                },
                status_code=400,
            )(scope, receive, send)
            return
        media = _media(scope)
        is_form = media in (b"application/x-www-form-urlencoded", b"multipart/form-data")
        if media == b"multipart/form-data" and UPLOAD_PATH.match(str(scope.get("path", ""))):
            # A wearable export of hundreds of MB: never held in memory here. The route reads
            # only the file (a spooled temporary file) and the CSRF token, compared as it is.
            await self.app(scope, receive, send)
            return
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
        original = body
        if is_form:
            delimiter = _boundary(scope) if media == b"multipart/form-data" else None
            body, field = clean_form(body, media, delimiter)
            if field is not None:
                if str(scope.get("path", "")).startswith("/api/"):
                    await _control_problem(field).response()(scope, receive, send)
                else:
                    await _form_refusal(scope, field)(scope, receive, send)
                return
        elif body.strip():
            try:
                doc, changed = strict_loads_cleaned(body)
            except JsonBodyProblem as exc:
                await exc.response()(scope, receive, send)
                return
            except (ValueError, UnicodeDecodeError):
                pass  # not JSON: the route's own parsing answers
            else:
                if changed:
                    # ASCII JSON: every route reads it the same, and nothing else in it changed meaning
                    body = json.dumps(doc).encode("ascii")
        if body != original:
            headers = [(k, v) for k, v in scope.get("headers", []) if k != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
