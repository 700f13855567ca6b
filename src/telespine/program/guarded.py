"""The program's entry points for adapters, each guarded so a failure gives the safety-net plan.

Which questionnaires each audience answers, whether a result gets a program, scoring a plan
questionnaire, checking plan answers, building and rendering the written plan. Invalid answers
raise InvalidPlanAnswers (the person corrects them); a broken part raises ClinicalFailure or
falls back to the emergency safety-net plan, never to a partial program.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from telespine.errors import ClinicalFailure, TelespineError
from telespine.instruments import Instrument, ScoreRecord
from telespine.program.exercises import Progress
from telespine.program.plan import Plan, PlanAnswers
from telespine.triage.types import Audience, TriageResult

log = logging.getLogger("telespine.program")

# Adults answer these (STarT Back first: it decides the kind of care); children only the pain score.
PLAN_INSTRUMENTS: dict[Audience, tuple[str, ...]] = {
    "adult": ("startback", "peg", "phq2", "gad2"),
    "pediatric": ("nrs",),
}


class InvalidPlanAnswers(TelespineError, ValueError):
    """Plan answers the person must correct (e.g. a questionnaire item left out)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def audience(value: str | None) -> Audience:
    """A known audience; anything else is read as adult (the adult text never goes to a child:
    callers pass "pediatric" for every check about a child)."""
    return "pediatric" if value == "pediatric" else "adult"


def gets_program(result: TriageResult) -> bool:
    """Only telemedicine and routine results get a program; never after a safety net."""
    return not result.safety_net and result.disposition.allows_telemedicine


def plan_instruments(audience_: str, enabled: frozenset[str] | None) -> list[Instrument]:
    """The questionnaires to ask this audience, in order, without switched-off ones."""
    from telespine.instruments import load_instrument

    ids = PLAN_INSTRUMENTS[audience(audience_)]
    return [load_instrument(i) for i in ids if enabled is None or i in enabled]


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "invalid"


def score_instrument(
    instrument_id: str,
    responses: dict[str, Any],
    taken_at: datetime | None,
    enabled: frozenset[str] | None,
    audience_: str | None = None,
) -> ScoreRecord:
    """A ScoreRecord (taken now when no time is given, as in the plan builder); InvalidPlanAnswers
    for responses that do not fit, LookupError for an unknown or switched-off instrument,
    ClinicalFailure when the instrument data itself is broken."""
    from telespine.instruments import (
        INSTRUMENT_IDS,
        InstrumentDisabledError,
        InstrumentError,
        load_instrument,
        score,
    )

    if instrument_id not in INSTRUMENT_IDS:
        raise LookupError(instrument_id)
    try:
        inst = load_instrument(instrument_id)
    except Exception as exc:
        log.error("instrument %s unavailable: %s", instrument_id, type(exc).__name__)
        raise ClinicalFailure(type(exc).__name__) from None
    if audience_ is not None and audience_ not in inst.audiences:
        raise InvalidPlanAnswers("instrument", f"{instrument_id} is not used for the {audience_} audience")
    try:
        return score(instrument_id, responses, taken_at or datetime.now(UTC), enabled_instruments=enabled)
    except InstrumentDisabledError:
        raise LookupError(instrument_id) from None
    except InstrumentError as exc:
        raise InvalidPlanAnswers("responses", _first_line(str(exc))) from None
    except Exception as exc:
        log.error("scoring %s failed: %s", instrument_id, type(exc).__name__)
        raise ClinicalFailure(type(exc).__name__) from None


def parse_plan_answers(doc: object) -> PlanAnswers:
    """PlanAnswers from a document; InvalidPlanAnswers naming the first field that does not fit."""
    from pydantic import ValidationError

    try:
        return PlanAnswers.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ())) or "answers"
        raise InvalidPlanAnswers(field, str(err.get("msg", "invalid"))) from None


def _plan_builder() -> Any:
    """Indirection so tests can make the plan builder raise (through telespine.program's name)."""
    from telespine.program import build_plan

    return build_plan


def make_plan(
    findings: Mapping[str, Any] | None,
    result: TriageResult,
    answers: PlanAnswers | None,
    audience_: str,
    enabled: frozenset[str] | None,
    *,
    week: int = 1,
    progress: Progress = "unknown",
) -> tuple[Plan, bool]:
    """(plan, ok): the written plan, or the safety-net plan (ok False) when anything fails.

    Invalid questionnaire answers raise InvalidPlanAnswers (the person corrects them); any other
    failure of the program code gives the emergency safety-net plan, never a partial program.
    """
    from telespine.program import PlanAnswersError, safety_net_plan

    now = datetime.now(UTC)
    try:
        if findings is None or result.safety_net:
            raise ValueError("no findings to plan from")
        plan: Plan = _plan_builder()(
            findings, result, answers, now, enabled_instruments=enabled, week=week, progress=progress
        )
        return plan, not plan.safety_net
    except PlanAnswersError as exc:
        raise InvalidPlanAnswers("questionnaires", _first_line(str(exc))) from None
    except Exception as exc:
        log.error("plan failed: %s; giving the safety-net plan", type(exc).__name__)
        try:
            return safety_net_plan(now, audience(audience_)), False
        except Exception as inner:
            raise ClinicalFailure(type(inner).__name__) from None


def plan_file(plan: Plan, fmt: str) -> bytes:
    """The plan as PDF or standalone HTML bytes; the safety-net plan if rendering fails."""
    from telespine.program import render_html, render_pdf, safety_net_plan

    try:
        return render_pdf(plan) if fmt == "pdf" else render_html(plan).encode("utf-8")
    except Exception as exc:
        log.error("plan rendering failed: %s; giving the safety-net plan", type(exc).__name__)
        fallback = safety_net_plan(datetime.now(UTC), audience(plan.audience))
        return render_pdf(fallback) if fmt == "pdf" else render_html(fallback).encode("utf-8")


def written_plan_pdf(findings: Mapping[str, Any] | None, result: TriageResult, audience_: str) -> bytes:
    """The written plan as PDF; the safety-net plan whenever the plan cannot be built safely."""
    from telespine.program import build_plan, render_pdf, safety_net_plan

    now = datetime.now(UTC)
    try:
        if findings is None or result.safety_net:
            raise ValueError("no findings to plan from")
        plan = build_plan(findings, result, PlanAnswers(), now)
    except Exception as exc:
        log.error("written plan failed: %s; giving the safety-net plan", type(exc).__name__)
        plan = safety_net_plan(now, audience(audience_))
    return render_pdf(plan)
