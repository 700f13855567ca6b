"""Tables of the CDS Hooks service (telespine.fhir): the feedback EHRs send on cards, and the
JWT ids already used (a replayed token is refused). Migration 0008_cds_hooks.

The feedback sits beside the rule-set feedback of clinicians (disposition_overrides): both say
whether the rules' advice was taken, and carry the rule-set version and hash it came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from telespine.store.models import AppendOnlyError, Base, utcnow

__all__ = ["Base", "CdsCardIssued", "CdsFeedback", "CdsTokenUse"]


class CdsCardIssued(Base):
    """A card telespine returned to an EHR: what it said rests on (rules, rule-set version)."""

    __tablename__ = "cds_cards_issued"

    uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(255))
    indicator: Mapped[str] = mapped_column(String(16))
    assessment_id: Mapped[str | None] = mapped_column(String(32), index=True)
    rule_ids: Mapped[list[Any]] = mapped_column(JSON)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    ruleset_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CdsFeedback(Base):
    """One feedback item of CDS Hooks 2.0: a card accepted or overridden, and why. Never updated."""

    __tablename__ = "cds_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    card_uuid: Mapped[str] = mapped_column(String(64), index=True)
    issuer: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_suggestions: Mapped[list[Any]] = mapped_column(JSON)
    override_reason_system: Mapped[str | None] = mapped_column(String(255))
    override_reason_code: Mapped[str | None] = mapped_column(String(64))
    override_reason_display: Mapped[str | None] = mapped_column(String(255))
    user_comment: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime]
    # From the issued card, when telespine still knows it (None for an unknown card uuid).
    rule_ids: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    ruleset_version: Mapped[str | None] = mapped_column(String(64))
    ruleset_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CdsTokenUse(Base):
    """A JWT id (jti) already accepted from an issuer, kept until the token expires."""

    __tablename__ = "cds_token_uses"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of issuer + jti
    expires_at: Mapped[datetime] = mapped_column(index=True)


@event.listens_for(CdsFeedback, "before_update")
def _refuse_feedback_update(*_: object) -> None:
    raise AppendOnlyError("CDS feedback is append-only")


@event.listens_for(CdsFeedback, "before_delete")
def _refuse_feedback_delete(*_: object) -> None:
    raise AppendOnlyError("CDS feedback is append-only")
