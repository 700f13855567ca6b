"""The symptom diary entry and the case state that the follow-up rules read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Answer = Literal["yes", "no", "unknown"]
MedicineUse = Literal["none", "less_than_usual", "as_usual", "more_than_usual"]


class DiaryEntry(BaseModel):
    """One day's diary: pain and function (0-10), medicine use and the short red-flag check.

    function: 0 means none of the usual daily activities were possible, 10 means all of them.
    red_flag_check: an answer to every question of the check (see escalation.yaml); the loader
    of the rules checks the question ids (check_answers).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    day: dt.date
    pain: int = Field(ge=0, le=10)
    function: int = Field(ge=0, le=10)
    medicine_use: MedicineUse
    red_flag_check: dict[str, Answer]
    note: str | None = Field(default=None, max_length=4000)


class CaseState(BaseModel):
    """What the follow-up rules need to know about a case.

    findings: the case's current findings document (the latest stored triage snapshot).
    baseline_pain: pain 0-10 at the start of treatment; when None the first diary entry is used.

    What a clinician has already reviewed is decided by the caller (services.followup): by the
    time each report was stored, never by the day it is for; the rules see no review date.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str = Field(min_length=1, max_length=200)
    findings: dict[str, Any]
    treatment_started_on: dt.date
    timezone: str = "UTC"
    baseline_pain: float | None = Field(default=None, ge=0, le=10)
    # The patient's day the findings were given (their duration_days counts to that day);
    # None when unknown, and then the pain-duration rule does not run
    findings_on: dt.date | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _has_age(self) -> CaseState:
        age = self.findings.get("age_years")
        if isinstance(age, bool) or not isinstance(age, int | float):
            raise ValueError("findings must hold age_years")
        return self

    def local_date(self, now: dt.datetime) -> dt.date:
        """The patient's calendar day at the instant now (which must carry a time zone)."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        return now.astimezone(ZoneInfo(self.timezone)).date()


def duration_given_at(versions: Sequence[Any]) -> dt.datetime:
    """When the latest version's duration_days was given (versions: oldest first, each with
    `findings` and `created_at`, naive times read as UTC): the earliest version of the unbroken
    run of latest versions with that same duration. Versions the follow-up rules write copy the
    findings (the duration unchanged), so they must not restart the count; a patient who gives
    the same duration again counts from the earlier answer (earlier, the safe side)."""
    latest = versions[-1]
    given = latest
    for version in reversed(versions[:-1]):
        if version.findings.get("duration_days") != latest.findings.get("duration_days"):
            break
        given = version
    at: dt.datetime = given.created_at
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)
