"""Strict reading of JSON request bodies: no duplicate keys, bounded nesting (audit S3 and a 500).

Python's json module keeps the last of two equal keys, so {"saddle_numbness": true,
"saddle_numbness": false} would silently drop a red flag; and very deep nesting raises
RecursionError. Every JSON body under /api/ passes through `JsonBodyMiddleware` before a route sees
it, so the rule holds for every endpoint, also those whose body FastAPI parses itself.
"""

from __future__ import annotations

import json
from typing import Any

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
    return doc


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: bytes = value.split(b";")[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class JsonBodyMiddleware:
    """Refuse API JSON bodies with duplicate keys (422) or too deep nesting (400) before routing.

    Bodies that are not JSON at all pass through: the routes answer those (400 or 422) themselves.
    Runs inside the body-size limit, so at most max_body_bytes are read here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_api = str(scope.get("path", "")).startswith("/api/")
        if scope["type"] != "http" or not is_api or not _is_json(scope):
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
        if body.strip():
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
