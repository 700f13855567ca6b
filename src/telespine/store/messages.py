"""Messages of a case: patient and care-team messages, their screening, automatic replies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from telespine.store.models import User, utcnow
from telespine.store.models_care import CareCase, CareMessage


def messages_for_case(db: Session, case: CareCase) -> list[CareMessage]:
    return list(
        db.scalars(
            select(CareMessage)
            .where(CareMessage.case_id == case.id)
            .options(selectinload(CareMessage.author))
            .order_by(CareMessage.created_at, CareMessage.id)
        ).all()
    )


def add_message(
    db: Session, case: CareCase, author: User, body: str, now: dt.datetime | None = None
) -> CareMessage:
    """Store a message as sent, before any screening (so a screening failure loses nothing)."""
    msg = CareMessage(
        case_id=case.id,
        author_id=author.id,
        from_patient=author.role in ("patient", "parent"),
        body=body[:4000],
    )
    msg.created_at = now or utcnow()
    db.add(msg)
    db.flush()
    return msg


def set_screening(db: Session, msg: CareMessage, screening: dict[str, Any], flagged: bool) -> None:
    msg.screening = screening
    msg.flagged = flagged
    db.flush()


def add_auto_reply(
    db: Session, msg: CareMessage, body: str, offers_check: bool, now: dt.datetime | None = None
) -> CareMessage:
    """telespine's automatic reply to a patient's message, stored in the case's messages."""
    reply = CareMessage(
        case_id=msg.case_id,
        author_id=None,
        from_patient=False,
        body=body,
        automatic=True,
        reply_to_id=msg.id,
        offers_check=offers_check,
    )
    reply.created_at = (now or utcnow()) + dt.timedelta(microseconds=1)
    db.add(reply)
    db.flush()
    return reply


def get_message(db: Session, case: CareCase, message_id: str) -> CareMessage | None:
    msg = db.get(CareMessage, message_id[:64])
    return msg if msg is not None and msg.case_id == case.id else None


def reply_to(db: Session, msg: CareMessage) -> CareMessage | None:
    return db.scalar(select(CareMessage).where(CareMessage.reply_to_id == msg.id, CareMessage.automatic))
