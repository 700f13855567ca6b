"""The video visit: the call page, signed join tokens, ICE servers with TURN REST credentials,
and the WebRTC signalling WebSocket (waiting room, admit, offer/answer/candidates, in-call chat,
"call me instead").

Who may join is decided by telespine.web.policy (visit_role, call_allowed); the socket also needs
a join token signed with the app secret, bound to one visit and one user, that expires. Media
never passes through the app (peer to peer, or through the TURN relay); nothing is recorded.
The rooms live in the memory of one worker process: run the signalling socket on one worker or
route a visit's sockets to the same worker (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from telespine.services import visits as visit_service
from telespine.settings import Settings
from telespine.store import repo_care
from telespine.store.models import User
from telespine.store.models_care import CareCase, VisitBooking
from telespine.store.models_visits import VisitPhone
from telespine.web import policy, sessions
from telespine.web.deps import DbDep, RequiredUser, WebSessionDep
from telespine.web.jsonbody import clean_control
from telespine.web.policy import JoinableBooking
from telespine.web.routing import add_routes
from telespine.web.sessions import COOKIE_NAME

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["visits"])
log = logging.getLogger("telespine.visits")

TOKEN_CONTEXT = b"telespine visit join token v1"
MAX_FRAME = 64 * 1024  # an SDP offer is a few KiB; anything larger is refused
MAX_CHAT = 4000
PHONE = re.compile(r"^\+?[0-9 ()\-.]{6,30}$")
CLOSE_REFUSED = 4403
CLOSE_REPLACED = 4409


# --- join tokens and TURN credentials -----------------------------------------------------------


class BadToken(Exception):
    """A join token that is malformed, forged, expired, or for another visit or user."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _token_key(secret: str) -> bytes:
    # A key of its own (derived from the app secret), so a join token is never a valid session
    # token, CSRF token or TURN credential.
    return hmac.new(secret.encode("utf-8"), TOKEN_CONTEXT, hashlib.sha256).digest()


def make_join_token(secret: str, booking_id: str, user_id: str, now: dt.datetime, ttl_seconds: int) -> str:
    """'<visit>.<user>.<expiry>.<HMAC-SHA256>' (ids are hex, so the dots are unambiguous)."""
    payload = f"{booking_id}.{user_id}.{int(now.timestamp()) + ttl_seconds}"
    mac = hmac.new(_token_key(secret), payload.encode("ascii"), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def check_join_token(secret: str, token: str, booking_id: str, user_id: str, now: dt.datetime) -> None:
    """Raises BadToken unless the token was made by this app for this visit and user and is unexpired."""
    parts = token.split(".")
    if len(parts) != 4 or len(token) > 256:
        raise BadToken("malformed")
    payload = ".".join(parts[:3])
    try:
        expected = _b64(hmac.new(_token_key(secret), payload.encode("ascii"), hashlib.sha256).digest())
    except UnicodeEncodeError:
        raise BadToken("malformed") from None
    if not hmac.compare_digest(expected.encode("ascii"), parts[3].encode("utf-8", "replace")):
        raise BadToken("signature")
    if not hmac.compare_digest(parts[0].encode(), booking_id.encode()) or parts[1] != user_id:
        raise BadToken("another visit or user")
    try:
        expires = int(parts[2])
    except ValueError:
        raise BadToken("malformed") from None
    if expires < now.timestamp():
        raise BadToken("expired")


def turn_credentials(secret: str, user_id: str, now: dt.datetime, ttl_seconds: int) -> tuple[str, str]:
    """The TURN REST API scheme that coturn checks with use-auth-secret: username
    '<unix expiry>:<user>', credential base64(HMAC-SHA1(shared secret, username))."""
    username = f"{int(now.timestamp()) + ttl_seconds}:{user_id}"
    mac = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(mac).decode("ascii")


def ice_servers(settings: Settings, user_id: str, now: dt.datetime) -> list[dict[str, Any]]:
    """RTCPeerConnection iceServers from the settings; TURN entries carry fresh credentials."""
    servers: list[dict[str, Any]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret is not None:
        username, credential = turn_credentials(
            settings.turn_secret.get_secret_value(), user_id, now, settings.turn_ttl_seconds
        )
        servers.append({"urls": list(settings.turn_urls), "username": username, "credential": credential})
    return servers


def join_info(settings: Settings, booking: VisitBooking, user: User, role: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "visit": booking.id,
        "role": role,
        "token": make_join_token(
            settings.secret_key.get_secret_value(), booking.id, user.id, now, settings.visit_join_seconds
        ),
        "ws_path": f"/ws/visits/{booking.id}",
        "ice_servers": ice_servers(settings, user.id, now),
        "ice_transport_policy": settings.ice_transport_policy,
    }


# --- rooms --------------------------------------------------------------------------------------


@dataclass
class Peer:
    socket: WebSocket
    user_id: str
    name: str


@dataclass
class Room:
    peers: dict[str, Peer] = field(default_factory=dict)  # role -> peer
    admitted: bool = False


class Hub:
    """The rooms of this worker: at most one clinician and one patient (or parent) socket each."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.lock = asyncio.Lock()

    @property
    def connections(self) -> int:
        return sum(len(r.peers) for r in self.rooms.values())

    async def join(self, visit: str, role: str, peer: Peer) -> Peer | None:
        async with self.lock:
            room = self.rooms.setdefault(visit, Room())
            old = room.peers.get(role)
            room.peers[role] = peer
            if role == "patient" and old is None:
                room.admitted = room.admitted and "clinician" in room.peers
            return old

    async def leave(self, visit: str, role: str, peer: Peer) -> None:
        async with self.lock:
            room = self.rooms.get(visit)
            if room is None or room.peers.get(role) is not peer:
                return
            del room.peers[role]
            if role == "patient":
                room.admitted = False  # a patient who comes back waits to be let in again
            if not room.peers:
                del self.rooms[visit]

    def room(self, visit: str) -> Room:
        return self.rooms.get(visit) or Room()


def hub_of(app: Any) -> Hub:
    hub: Hub | None = getattr(app.state, "visit_hub", None)
    if hub is None:
        hub = app.state.visit_hub = Hub()
    return hub


async def _send(peer: Peer | None, message: dict[str, Any]) -> None:
    if peer is None:
        return
    try:
        await peer.socket.send_text(json.dumps(message))
    except Exception:  # the other side went away mid-send; its own loop cleans up
        log.debug("send to a closed visit socket")


# --- authorization of a socket (sync, in the threadpool) ----------------------------------------


@dataclass
class Joiner:
    user_id: str
    role: str
    name: str
    case_id: str


def authorize_socket(
    factory: sessionmaker[Session],
    settings: Settings,
    cookie: str | None,
    booking_id: str,
    token: str,
    now: dt.datetime,
) -> Joiner | None:
    """The joiner, or None: signed in, allowed by the policy for this visit, and holding a valid
    join token for this visit and this user. Refusals are audited without health data."""
    db = factory()
    try:
        user = sessions.load(db, settings, cookie).user
        booking = repo_care.get_booking(db, booking_id)
        case = repo_care.get_case(db, booking.case_id) if booking is not None else None
        role = policy.visit_role(user, booking, case) if user and booking and case else None
        ok = role is not None and booking is not None and booking.status == "booked"
        if ok and user is not None:
            try:
                check_join_token(settings.secret_key.get_secret_value(), token, booking_id, user.id, now)
            except BadToken:
                ok = False
        if ok and role == "patient" and case is not None and not policy.call_allowed(case):
            ok = False
        if user is not None:
            visit_service.record_join(db, user, booking_id, case, ok)
        if not ok or user is None or case is None or role is None:
            return None
        return Joiner(user_id=user.id, role=role, name=user.display_name, case_id=case.id)
    finally:
        db.close()


def _post_chat(
    factory: sessionmaker[Session], settings: Settings, case_id: str, user_id: str, text: str
) -> dict[str, Any]:
    """An in-call chat line becomes a case message through the follow-up service (screened like
    any message); what the sender must be shown comes back."""
    from telespine.services import followup

    db = factory()
    try:
        case = repo_care.get_case(db, case_id)
        user = db.get(User, user_id)
        if case is None or user is None:
            return {"failed": True, "safety_net": True, "emergency": True, "signs": []}
        out = followup.post_message(db, case, user, text, emergency_number=settings.emergency_number)
        return {
            "failed": out.failed,
            "flagged": out.flagged,
            "safety_net": out.safety_net,
            "emergency": out.emergency,
            "signs": out.signs,
            "id": out.message.id if out.message is not None else None,
            "reply": out.reply.body if out.reply is not None else None,
        }
    finally:
        db.close()


def _save_phone(factory: sessionmaker[Session], user_id: str, phone: str, booking_id: str) -> None:
    db = factory()
    try:
        visit_service.save_call_me_phone(db, user_id, phone, booking_id)
    finally:
        db.close()


def phone_of(db: Session, user_id: str) -> str:
    row = db.get(VisitPhone, user_id)
    return row.phone if row is not None else ""


# --- the socket -----------------------------------------------------------------------------------


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: the cookie and the token decide
    host = websocket.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


@router.websocket("/ws/visits/{booking_id}")
async def signalling(websocket: WebSocket, booking_id: str, token: str = "") -> None:
    app = websocket.app
    settings: Settings = app.state.settings
    factory: sessionmaker[Session] = app.state.sessionmaker
    joiner = None
    if _same_origin(websocket):
        joiner = await run_in_threadpool(
            authorize_socket,
            factory,
            settings,
            websocket.cookies.get(COOKIE_NAME),
            booking_id[:64],
            token[:256],
            dt.datetime.now(dt.UTC),
        )
    if joiner is None:
        await websocket.close(code=CLOSE_REFUSED)  # before accept: the handshake answers 403
        return
    await websocket.accept()
    hub = hub_of(app)
    me = Peer(socket=websocket, user_id=joiner.user_id, name=joiner.name)
    other_role = "patient" if joiner.role == "clinician" else "clinician"
    old = await hub.join(booking_id, joiner.role, me)
    if old is not None:
        await _send(old, {"type": "replaced"})
        try:
            await old.socket.close(code=CLOSE_REPLACED)
        except Exception:  # already closed
            log.debug("closing a replaced visit socket")
    await _announce(hub, booking_id, joiner.role)
    try:
        while True:
            raw = await websocket.receive_text()
            if len(raw) > MAX_FRAME:
                await _send(me, {"type": "error", "error": "too large"})
                continue
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            await _handle(app, hub, booking_id, joiner, me, other_role, msg)
    except WebSocketDisconnect:
        pass
    finally:
        await hub.leave(booking_id, joiner.role, me)
        room = hub.room(booking_id)
        await _send(room.peers.get(other_role), {"type": "peer-left", "role": joiner.role})
        if joiner.role == "patient":
            await _send(room.peers.get("clinician"), {"type": "waiting-room", "waiting": False, "name": ""})


async def _announce(hub: Hub, visit: str, role: str) -> None:
    """After a join: the patient waits (or is back in the call); the clinician sees the waiting room."""
    room = hub.room(visit)
    clinician, patient = room.peers.get("clinician"), room.peers.get("patient")
    await _send(room.peers.get(role), {"type": "joined", "role": role})
    if patient is not None and not room.admitted:
        if role == "patient":
            await _send(patient, {"type": "waiting"})
        await _send(clinician, {"type": "waiting-room", "waiting": True, "name": patient.name})
    elif patient is not None and clinician is not None and room.admitted:
        await _start(room)
    elif patient is None:
        await _send(clinician, {"type": "waiting-room", "waiting": False, "name": ""})


async def _start(room: Room) -> None:
    # The clinician makes the offer; each start resets both peer connections.
    await _send(room.peers.get("clinician"), {"type": "start", "offerer": True})
    await _send(room.peers.get("patient"), {"type": "start", "offerer": False})


async def _handle(
    app: Any, hub: Hub, visit: str, joiner: Joiner, me: Peer, other_role: str, msg: dict[str, Any]
) -> None:
    kind = msg.get("type")
    room = hub.room(visit)
    other = room.peers.get(other_role)
    if kind == "ping":
        await _send(me, {"type": "pong", "t": msg.get("t")})
    elif kind == "admit" and joiner.role == "clinician":
        if room.peers.get("patient") is not None:
            room.admitted = True
            await _send(room.peers.get("patient"), {"type": "admitted"})
            await _start(room)
    elif kind == "signal":
        if room.admitted and isinstance(msg.get("data"), dict):
            await _send(other, {"type": "signal", "data": msg["data"]})
    elif kind == "media" and isinstance(msg.get("state"), dict):
        state = {k: bool(v) for k, v in msg["state"].items() if k in ("audio", "video", "audio_only")}
        await _send(other, {"type": "media", "state": state})
    elif kind == "chat":
        await _chat(app, visit, joiner, me, other, msg.get("text"))
    elif kind == "call-me" and joiner.role == "patient":
        phone = msg.get("phone")
        if not isinstance(phone, str) or not PHONE.match(phone.strip()):
            await _send(me, {"type": "error", "error": "phone"})
            return
        phone = phone.strip()
        await run_in_threadpool(_save_phone, app.state.sessionmaker, joiner.user_id, phone, visit)
        await _send(me, {"type": "call-me-sent"})
        await _send(room.peers.get("clinician"), {"type": "call-me", "phone": phone, "name": joiner.name})


async def _chat(app: Any, visit: str, joiner: Joiner, me: Peer, other: Peer | None, text: Any) -> None:
    if not isinstance(text, str) or not text.strip():
        return
    text = clean_control(text.strip())[:MAX_CHAT]
    try:
        out = await run_in_threadpool(
            _post_chat, app.state.sessionmaker, app.state.settings, joiner.case_id, joiner.user_id, text
        )
    except Exception:
        log.exception("in-call chat could not be stored")
        out = {"failed": True, "safety_net": True, "emergency": True, "signs": []}
    line = {
        "type": "chat",
        "from": joiner.role,
        "name": joiner.name,
        "text": text,
        "flagged": out.get("flagged"),
    }
    if out.get("failed"):
        await _send(me, {"type": "chat-failed"})
    else:
        await _send(me, line)
        await _send(other, line)
    if joiner.role == "patient" and out.get("safety_net"):
        await _send(
            me, {"type": "safety", "emergency": bool(out.get("emergency")), "signs": out.get("signs")}
        )
    if joiner.role == "patient" and out.get("flagged"):
        await _send(other, {"type": "flagged"})


# --- the call page and the join API ------------------------------------------------------------


def _case_of(db: Session, booking: VisitBooking) -> CareCase:
    case = repo_care.get_case(db, booking.case_id)
    if case is None:
        raise HTTPException(status_code=404, detail=policy.NOT_FOUND)
    return case


@router.get("/care/visits/{booking_id}/call", response_class=HTMLResponse)
def call_page(
    request: Request,
    booking: JoinableBooking,
    user: RequiredUser,
    db: DbDep,
    ws: WebSessionDep,
    relay: Annotated[bool, Query()] = False,
) -> Response:
    """The call: a camera and microphone check, then the waiting room (patient) or the admit
    button (clinician), then the call with mute, camera, audio-only, chat and 'call me instead'."""
    from telespine.web.pages import visits as visit_pages

    case = _case_of(db, booking)
    role = policy.visit_role(user, booking, case) or ""
    templates: Jinja2Templates = request.app.state.templates
    if role == "patient" and not policy.call_allowed(case):
        return templates.TemplateResponse(
            request,
            "error.html",
            {"user": ws.user, "csrf_token": ws.csrf_token, "status": 409, "message": policy.VISIT_REFUSED},
            status_code=409,
        )
    profile = case.assessment.profile
    return templates.TemplateResponse(
        request,
        "visit_call.html",
        {
            "user": ws.user,
            "csrf_token": ws.csrf_token,
            "booking": booking,
            "case": case,
            "role": role,
            "patient_name": profile.display_name,
            "child": profile.is_child,
            "parent_name": profile.owner.display_name if profile.is_child else "",
            "phone": phone_of(db, profile.owner_id),
            "when": visit_pages.viewer_label(db, user, case, booking.slot_start),
            "config": {"join": f"/api/v1/visits/{booking.id}/join", "role": role, "relay": relay},
        },
    )


@api_router.get("/visits/{booking_id}/join")
def join(request: Request, booking: JoinableBooking, user: RequiredUser, db: DbDep) -> dict[str, Any]:
    """A fresh join token and the ICE servers (with TURN credentials) for the caller."""
    case = _case_of(db, booking)
    role = policy.visit_role(user, booking, case) or ""
    if role == "patient" and not policy.call_allowed(case):
        raise HTTPException(status_code=409, detail=policy.VISIT_REFUSED)
    return join_info(request.app.state.settings, booking, user, role)


def install(app: Any) -> None:
    """The visit routes: the call page, the join API, the signalling socket, scheduling pages."""
    from telespine.visits import local_label
    from telespine.web.pages import visits as visit_pages

    app.state.visit_hub = Hub()
    # {{ when | local_time(zone) }}: a stored UTC time in the viewer's zone
    app.state.templates.env.filters["local_time"] = lambda when, zone="UTC": local_label(when, zone or "UTC")
    add_routes(app, api_router)
    add_routes(app, router)
    add_routes(app, visit_pages.router)
