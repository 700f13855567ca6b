"""Core triage types shared by the engine and every adapter (CLI, web, FHIR, care)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, TypeGuard, get_args

from pydantic import BaseModel, ConfigDict

Audience = Literal["adult", "pediatric"]
# Every audience, in one place: "adult" (the person) and "pediatric" (a parent or carer for a child).
AUDIENCES: tuple[Audience, ...] = get_args(Audience)


def is_audience(value: object) -> TypeGuard[Audience]:
    """True for "adult" and "pediatric", the only audiences."""
    return value in AUDIENCES


class Disposition(StrEnum):
    """The five dispositions of the policy, most urgent first."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    PROMPT = "prompt"
    ROUTINE = "routine"
    TELEMEDICINE = "telemedicine"

    @property
    def level(self) -> int:
        """1 (emergency) to 5 (telemedicine): a lower number is more urgent."""
        return _LEVELS[self]

    @classmethod
    def from_level(cls, level: int) -> Disposition:
        return _BY_LEVEL[level]

    def more_urgent_than(self, other: Disposition) -> bool:
        return self.level < other.level

    @property
    def allows_telemedicine(self) -> bool:
        """Telemedicine can help now (a program, a tele-visit): telemedicine and routine only.

        A routine result books an in-person visit too, but telemedicine can support the person
        meanwhile (POLICY.md, dispositions table); every more urgent level sends them in person.
        """
        return self in _TELEMEDICINE_OK

    @classmethod
    def most_urgent(cls, items: list[Disposition]) -> Disposition:
        """The most urgent of items; telemedicine when items is empty."""
        return min(items, key=lambda d: d.level, default=cls.TELEMEDICINE)


_LEVELS = {
    Disposition.EMERGENCY: 1,
    Disposition.URGENT: 2,
    Disposition.PROMPT: 3,
    Disposition.ROUTINE: 4,
    Disposition.TELEMEDICINE: 5,
}
_BY_LEVEL = {v: k for k, v in _LEVELS.items()}
_TELEMEDICINE_OK = frozenset({Disposition.TELEMEDICINE, Disposition.ROUTINE})


def audience_for_age(age_years: float) -> Audience:
    """Under 18 is the pediatric audience (POLICY.md)."""
    return "pediatric" if age_years < 18 else "adult"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FiredRule(_Frozen):
    """One rule that fired, with what the person and the clinician are told and why."""

    id: str
    level: Disposition
    title: str
    reason: str
    rationale: str
    sources: list[str]


class RulesetRef(_Frozen):
    version: str
    sha256: str


class TriageResult(_Frozen):
    """What the engine returns: a disposition that carries its reasons.

    safety_net is True when the engine could not evaluate (bad rules, a crash, invalid input
    that slipped through): the disposition is then emergency and error says what went wrong.
    """

    disposition: Disposition
    audience: Audience | None
    rules: list[FiredRule]
    unresolved: list[str]
    ruleset: RulesetRef
    safety_net: bool = False
    error: str | None = None
