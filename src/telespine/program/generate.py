"""The self-care program as a pure function of findings, scores, choices, audience and disposition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from string import Template

from pydantic import ValidationError

from telespine.datafile import load_yaml_text
from telespine.errors import DataFileError, TelespineError
from telespine.instruments import ScoreRecord
from telespine.program.exercises import Progress, load_library, picture_title, stage_for
from telespine.program.models import (
    Block,
    Choices,
    Exercise,
    Program,
    ProgramRules,
    ProgramSection,
    RiskLevel,
)
from telespine.triage.types import Audience, Disposition

# Only these dispositions get a program; the others get safety advice only (issue 5).
PROGRAM_DISPOSITIONS = tuple(d for d in Disposition if d.allows_telemedicine)
MOOD_INSTRUMENTS = ("phq2", "gad2")
_STARTBACK_RISK: dict[str, RiskLevel] = {"low": "low", "medium": "medium", "high": "high"}


class ProgramRulesError(TelespineError):
    """The program rule file is invalid."""


def parse_rules(text: str) -> ProgramRules:
    """Validate the text of a program rule file; raise ProgramRulesError on any problem."""
    try:
        return ProgramRules.model_validate(load_yaml_text(text, "program.yaml"))
    except (DataFileError, ValidationError) as exc:
        raise ProgramRulesError(str(exc)) from exc


@cache
def load_rules() -> ProgramRules:
    """Load the packaged program rules (cached)."""
    text = resources.files("telespine.program").joinpath("data", "program.yaml").read_text(encoding="utf-8")
    return parse_rules(text)


def latest(scores: Sequence[ScoreRecord], instrument_id: str) -> ScoreRecord | None:
    """The most recent record of one instrument, if any."""
    chosen = [s for s in scores if s.instrument_id == instrument_id]
    return max(chosen, key=lambda s: s.taken_at) if chosen else None


def risk_level(scores: Sequence[ScoreRecord], audience: Audience) -> RiskLevel:
    """STarT Back risk from the latest record; not_assessed for children or when it was not taken."""
    rec = latest(scores, "startback")
    if audience != "adult" or rec is None or rec.category is None:
        return "not_assessed"
    return _STARTBACK_RISK.get(rec.category, "not_assessed")


def mood_flag(scores: Sequence[ScoreRecord]) -> bool:
    """True when the latest PHQ-2 or GAD-2 suggests talking about mood or anxiety."""
    for inst in MOOD_INSTRUMENTS:
        rec = latest(scores, inst)
        if rec is not None and rec.category == "talk_to_clinician":
            return True
    return False


def _applies(
    block: Block,
    audience: Audience,
    risk: RiskLevel,
    choices: Choices,
    mood: bool,
    findings: Mapping[str, object],
) -> bool:
    w = block.when
    if audience not in w.audiences or risk not in w.risks:
        return False
    if w.work_or_school is not None and choices.work_or_school not in w.work_or_school:
        return False
    # Smoking advice only for people who said they smoke (issue 5).
    if w.smokes is not None and (choices.smokes == "yes") != w.smokes:
        return False
    if w.mood_flag is not None and mood != w.mood_flag:
        return False
    return all(findings.get(name) is True for name in w.findings_true)


def generate_program(
    findings: Mapping[str, object],
    scores: Sequence[ScoreRecord],
    choices: Choices,
    audience: Audience,
    disposition: Disposition,
    rules: ProgramRules | None = None,
    *,
    week: int = 1,
    progress: Progress = "unknown",
) -> Program | None:
    """Build the program; None when the disposition is emergency, urgent or prompt.

    week (1 = the first week of the plan) and progress (what the person reported at the last
    check-in) set the exercise level (telespine.program.exercises.stage_for).
    """
    if disposition not in PROGRAM_DISPOSITIONS:
        return None
    rules = rules or load_rules()
    risk = risk_level(scores, audience)
    mood = mood_flag(scores)
    sources: set[str] = set()
    sections: list[ProgramSection] = []
    for sec in rules.sections:
        blocks = [b for b in sec.blocks if _applies(b, audience, risk, choices, mood, findings)]
        if not blocks:
            continue
        sec_sources = sorted({s for b in blocks for s in b.sources})
        sources.update(sec_sources)
        sections.append(
            ProgramSection(
                id=sec.id,
                title=sec.title.for_(audience),
                points=[p for b in blocks for p in b.points],
                sources=sec_sources,
            )
        )
    ga = rules.graded_activity
    activity = (
        " or ".join(choices.favourite_activities[:2])
        if choices.favourite_activities
        else ga.default_activity.for_(audience)
    )
    # safe_substitute: a person's own words never act as template syntax.
    weeks = [Template(w.adult if audience == "adult" else w.pediatric) for w in ga.weeks]
    graded = [t.safe_substitute(activity=activity) for t in weeks]
    goal = Template(ga.goal.for_(audience)).safe_substitute(goal=choices.goal) if choices.goal else None
    sources.update(ga.sources)
    library = load_library()
    stage = stage_for(week, progress, audience, library)
    chosen = library.for_audience(audience)
    exercises = [
        Exercise(
            id=e.id,
            name=e.name,
            how=list(e.steps),
            dose=e.dose_at(stage.level).text(),
            picture=e.picture,
            picture_alt=picture_title(e.picture),
            level=stage.level,
            easier=e.easier,
            harder=e.harder,
            stop_if=list(e.stop_if),
        )
        for e in chosen
    ]
    sources.update(library.sources)
    sources.update(s for e in chosen for s in e.sources)
    framing = rules.framing.telemedicine if disposition == Disposition.TELEMEDICINE else rules.framing.routine
    return Program(
        version=rules.version,
        audience=audience,
        disposition=disposition,
        risk=risk,
        framing=framing.for_(audience),
        sections=sections,
        activity_intro=ga.intro.for_(audience),
        graded_plan=graded,
        goal=goal,
        exercises=exercises,
        exercise_stop_if=rules.exercises.stop_if.for_(audience),
        sources=sorted(sources),
        exercise_week=week,
        exercise_level=stage.level,
        exercise_level_name=stage.level_name,
        exercise_progress_note=stage.say if week > 1 else "",
        exercise_stop_when=list(library.stop_when[audience]),
        activity_this_week=graded[min(stage.activity_week, len(graded)) - 1] if graded else "",
    )
