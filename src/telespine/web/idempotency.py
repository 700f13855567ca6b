"""Idempotency-Key on creating API requests (issue 13): a client that retries after a crash or a
lost answer gets the stored answer, never a second copy.

An ASGI middleware for every `POST /api/v1/...` (sign-in excepted) that carries the header:
- the first request with a key claims a row of `idempotency_records` (primary key: account, key)
  BEFORE the route runs, so of two parallel requests with one key only one runs (the other gets
  409 with Retry-After while the first is running);
- its answer (status, type, body) is stored when it is below 500 and not 401, 403, 408, 409 or
  429; those, a 5xx or a failure free the key, so a retry runs again;
- the same key again with the same method, path and body returns the stored answer (with
  `Idempotent-Replayed: true`); with a different one, 422.
A claim left by a process that died mid-request is freed after STALE_AFTER (the request may
then run twice: the one case this cannot cover, as the route's own commit and the stored answer
are two transactions).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telespine.store.models import UserSession, utcnow
from telespine.store.models_accounts import IdempotencyRecord
from telespine.web.jsonbody import UPLOAD_PATH
from telespine.web.sessions import COOKIE_NAME, hash_token

HEADER = b"idempotency-key"
MAX_KEY = 200
STALE_AFTER = timedelta(minutes=5)
EXCLUDED = ("/api/v1/auth/",)
# Answers that say "not now" or "not you", not "done": a retry must run again (an expired session
# would otherwise replay its 401 after the person signed in again).
RETRYABLE = frozenset({401, 403, 408, 409, 429})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _token(scope: Scope) -> str | None:
    auth = _header(scope, b"authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = _header(scope, b"cookie") or ""
    for part in cookie.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME and value:
            return value
    return None


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        {"detail": detail, "errors": [{"field": "Idempotency-Key", "problem": detail}]},
        status_code=status,
        headers=headers,
    )


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, factory: sessionmaker[Session]) -> None:
        self.app = app
        self.factory = factory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        key = _header(scope, HEADER) if scope["type"] == "http" else None
        if (
            key is None
            or scope["method"] != "POST"
            or not path.startswith("/api/v1/")
            or path.startswith(EXCLUDED)
            # A wearable export (hundreds of MB) is never held in memory to hash it; storing the
            # same export twice gives the same days, so a retry needs no stored answer.
            or UPLOAD_PATH.match(path) is not None
        ):
            await self.app(scope, receive, send)
            return
        key = key.strip()
        if not key or len(key) > MAX_KEY or not key.isprintable():
            await _problem(422, f"Idempotency-Key must be 1 to {MAX_KEY} printable characters.")(
                scope, receive, send
            )
            return
        token = _token(scope)
        user_id = await anyio.to_thread.run_sync(self._user_id, token) if token else None
        if user_id is None:  # not signed in: the route answers 401 itself
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        digest = hashlib.sha256(body).hexdigest()
        outcome, record = await anyio.to_thread.run_sync(self._claim, user_id, key, path, digest)
        if outcome == "different":
            await _problem(422, "This Idempotency-Key was used for a different request.")(
                scope, receive, send
            )
            return
        if outcome == "running":
            busy = "A request with this Idempotency-Key is still running. Try again shortly."
            await _problem(409, busy, {"Retry-After": "1"})(scope, receive, send)
            return
        if outcome == "replay" and record is not None:
            await self._replay(record)(scope, receive, send)
            return
        await self._run(scope, body, send, user_id, key)

    def _user_id(self, token: str) -> str | None:
        if len(token) > 128:
            return None
        with self.factory() as db:
            return db.scalar(select(UserSession.user_id).where(UserSession.token_hash == hash_token(token)))

    def _claim(self, user_id: str, key: str, path: str, digest: str) -> tuple[str, dict[str, Any] | None]:
        """'new' (this request runs), 'replay', 'running' or 'different'."""
        with self.factory() as db:
            for _ in range(2):
                db.add(
                    IdempotencyRecord(
                        user_id=user_id, key=key, method="POST", path=path[:300], body_sha256=digest
                    )
                )
                try:
                    db.commit()
                    return "new", None
                except IntegrityError:
                    db.rollback()
                row = db.get(IdempotencyRecord, (user_id, key), populate_existing=True)
                if row is None:
                    continue  # freed in between: claim again
                if row.path != path[:300] or row.body_sha256 != digest:
                    return "different", None
                if row.status_code is not None:
                    return "replay", {"status": row.status_code, "response": row.response}
                if utcnow() - row.created_at > STALE_AFTER:  # its process died: free it, claim again
                    db.execute(
                        delete(IdempotencyRecord).where(
                            IdempotencyRecord.user_id == user_id,
                            IdempotencyRecord.key == key,
                            IdempotencyRecord.status_code.is_(None),
                        )
                    )
                    db.commit()
                    continue
                return "running", None
        return "running", None

    def _replay(self, record: dict[str, Any]) -> Response:
        stored = record["response"] or {}
        return Response(
            content=str(stored.get("body", "")).encode("utf-8"),
            status_code=int(record["status"]),
            media_type=str(stored.get("media_type") or "application/json"),
            headers={"idempotent-replayed": "true"},
        )

    async def _run(self, scope: Scope, body: bytes, send: Send, user_id: str, key: str) -> None:
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        status = 500
        media_type = "application/json"
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, media_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name == b"content-type":
                        media_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await anyio.to_thread.run_sync(self._free, user_id, key)
            raise
        if status >= 500 or status in RETRYABLE:
            await anyio.to_thread.run_sync(self._free, user_id, key)
            return
        text = b"".join(chunks).decode("utf-8", "replace")
        await anyio.to_thread.run_sync(self._store, user_id, key, status, media_type, text)

    def _free(self, user_id: str, key: str) -> None:
        with self.factory() as db:
            db.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
                )
            )
            db.commit()

    def _store(self, user_id: str, key: str, status: int, media_type: str, text: str) -> None:
        with self.factory() as db:
            db.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
                .values(status_code=status, response={"media_type": media_type, "body": text})
            )
            db.commit()


def stored_json(text: str) -> Any:
    """The stored body as JSON (tests and tools)."""
    return json.loads(text)
