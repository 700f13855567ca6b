"""The written plan: assessment summary, disposition and reasons, program, medicines, follow-up."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Literal

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from telespine.datafile import load_yaml_text
from telespine.errors import DataFileError, TelespineError
from telespine.instruments import InstrumentError, ScoreRecord, list_instruments, load_instrument, score
from telespine.program.exercises import Progress, build_up, load_picture
from telespine.program.generate import PROGRAM_DISPOSITIONS, generate_program
from telespine.program.medicine_plan import StopPlan, stop_plan
from telespine.program.medicines import MedicineAdvice, MedicineAnswers, medicine_advice
from telespine.program.models import ByAudience, Choices, Program
from telespine.triage.types import Audience, Disposition, TriageResult, audience_for_age


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- the answers file ----


class QuestionnaireResponse(_Strict):
    """One completed questionnaire in the answers file."""

    instrument: str
    responses: dict[str, StrictInt | StrictStr]
    taken_at: AwareDatetime | None = None


class PlanAnswers(_Strict):
    """The answers file of `telespine plan`: medicine answers, questionnaires and choices."""

    medicines: MedicineAnswers = MedicineAnswers()
    questionnaires: list[QuestionnaireResponse] = []
    choices: Choices = Choices()


class PlanAnswersError(TelespineError):
    """The answers do not fit the schema or the questionnaires."""


# ---- plan texts as data ----


class RedFlagGroup(_Strict):
    action: str
    signs: list[str] = Field(min_length=1)


class DispositionText(_Strict):
    headline: ByAudience
    action: ByAudience


class FollowUpRule(_Strict):
    day: int = Field(ge=1)
    what: ByAudience
    questionnaires: bool = False


class RedFlags(_Strict):
    adult: list[RedFlagGroup]
    pediatric: list[RedFlagGroup]

    def for_(self, audience: Audience) -> list[RedFlagGroup]:
        return self.adult if audience == "adult" else self.pediatric


class SeekCare(_Strict):
    adult: list[str]
    pediatric: list[str]

    def for_(self, audience: Audience) -> list[str]:
        return self.adult if audience == "adult" else self.pediatric


class FollowUpRules(_Strict):
    telemedicine: list[FollowUpRule]
    routine: list[FollowUpRule]


class HeldTexts(_Strict):
    """What a plan says when the case is held at a level that needs care in person."""

    emergency: ByAudience
    urgent: ByAudience
    prompt: ByAudience
    visit: ByAudience  # in place of a tele-visit's changes to the plan (web/pages/visits.py)
    sources: list[str]

    def for_level(self, level: Disposition) -> ByAudience:
        texts = {"emergency": self.emergency, "urgent": self.urgent, "prompt": self.prompt}
        return texts.get(level.value, self.emergency)


class PlanTexts(_Strict):
    """The plan text file."""

    version: str
    title: ByAudience
    intro: ByAudience
    dispositions: dict[Disposition, DispositionText]
    no_program: ByAudience
    safety_net: ByAudience
    held: HeldTexts
    red_flags: RedFlags
    seek_care: SeekCare
    followup: FollowUpRules
    finding_labels: dict[str, dict[str, str]]
    sources: list[str]


@cache
def load_plan_texts() -> PlanTexts:
    """The packaged plan texts (cached)."""
    text = resources.files("telespine.program").joinpath("data", "plan.yaml").read_text(encoding="utf-8")
    return PlanTexts.model_validate(load_yaml_text(text, "plan.yaml"))


# ---- the plan ----


class Reason(_Strict):
    title: str
    reason: str


class ScoreLine(_Strict):
    """A questionnaire result as shown in the plan."""

    title: str
    score: str
    category: str | None
    advice: str | None
    notice: str


class FollowUp(_Strict):
    day: int
    on: date
    what: str
    questionnaires: list[str]


class Plan(_Strict):
    """Everything the written plan shows."""

    created_at: AwareDatetime
    audience: Audience
    disposition: Disposition
    safety_net: bool
    title: str
    intro: str
    headline: str
    action: str
    note: str | None
    summary: list[str]
    reasons: list[Reason]
    unresolved: list[str]
    scores: list[ScoreLine]
    program: Program | None
    medicines: MedicineAdvice | None
    red_flags: list[RedFlagGroup]
    medicine_stop: StopPlan | None = None
    followup: list[FollowUp]
    seek_care: list[str]
    ruleset_version: str
    sources: list[str]
    # True only when a clinic has the case and a phone number is on record: only then may the
    # plan promise that a clinician will call (telespine stores no phone number yet)
    callback: bool = False


def _human(name: str) -> str:
    return name.replace("_", " ")


def _summary(findings: Mapping[str, object], audience: Audience, texts: PlanTexts) -> list[str]:
    """The assessment in a few plain lines."""
    out: list[str] = []
    age = findings.get("age_years")
    if isinstance(age, int | float):
        out.append(
            f"Age: {age:g}" + (" (this plan is for the parent or carer)" if audience == "pediatric" else "")
        )
    loc = findings.get("location")
    if isinstance(loc, str):
        out.append(f"Where it hurts: {texts.finding_labels.get('location', {}).get(loc, _human(loc))}")
    days = findings.get("duration_days")
    if isinstance(days, int | float):
        out.append(f"How long: {days:g} day{'s' if days != 1 else ''}")
    pain = findings.get("pain_score")
    if isinstance(pain, int | float):
        out.append(f"Worst pain in the last 24 hours: {pain:g} out of 10")
    if findings.get("leg_pain_below_knee") is True:
        out.append("Pain spreads down a leg below the knee")
    return out


def score_answers(
    answers: PlanAnswers,
    audience: Audience,
    now: datetime,
    enabled_instruments: Collection[str] | None = None,
) -> list[ScoreRecord]:
    """Score the questionnaires in the answers; raise PlanAnswersError when one does not fit."""
    records: list[ScoreRecord] = []
    for q in answers.questionnaires:
        try:
            inst = load_instrument(q.instrument)
            if audience not in inst.audiences:
                raise PlanAnswersError(f"{q.instrument} is not used for the {audience} audience")
            records.append(
                score(q.instrument, q.responses, q.taken_at or now, enabled_instruments=enabled_instruments)
            )
        except InstrumentError as exc:
            raise PlanAnswersError(str(exc)) from exc
    return records


def _score_line(rec: ScoreRecord) -> ScoreLine:
    inst = load_instrument(rec.instrument_id)
    scale = next(s for s in inst.scales if s.id == rec.primary_scale)
    extra = ""
    if rec.instrument_id == "startback":
        extra = f" (psychosocial {rec.scores['psychosocial']:g} out of 5)"
    return ScoreLine(
        title=inst.title,
        score=f"{rec.primary:.3g} out of {scale.max:g}{extra}",
        category=rec.category_label,
        advice=rec.advice,
        notice=inst.licence.notice,
    )


def _followup(
    disposition: Disposition,
    audience: Audience,
    now: datetime,
    texts: PlanTexts,
    enabled_instruments: Collection[str] | None,
) -> list[FollowUp]:
    if disposition == Disposition.TELEMEDICINE:
        rules = texts.followup.telemedicine
    elif disposition == Disposition.ROUTINE:
        rules = texts.followup.routine
    else:
        return []
    repeat = [i.title for i in list_instruments(enabled_instruments) if audience in i.audiences]
    return [
        FollowUp(
            day=r.day,
            on=(now + timedelta(days=r.day)).date(),
            what=r.what.for_(audience),
            questionnaires=repeat if r.questionnaires else [],
        )
        for r in rules
    ]


def build_plan(
    findings: Mapping[str, object],
    result: TriageResult,
    answers: PlanAnswers,
    now: datetime,
    enabled_instruments: Collection[str] | None = None,
    callback: bool = False,
    *,
    week: int = 1,
    progress: Progress = "unknown",
) -> Plan:
    """Assemble the plan from validated findings, the triage result and the answers.

    week and progress: where the person is in the program (from the check-ins,
    telespine.program.progress); a plan made at the start is week 1 with progress unknown.

    callback: a clinic has the case and a phone number is on record (the plan may then say that
    a clinician will call); never for a plan made without an account."""
    texts = load_plan_texts()
    age = findings.get("age_years")
    audience: Audience = result.audience or (
        audience_for_age(age) if isinstance(age, int | float) else "adult"
    )
    scores = score_answers(answers, audience, now, enabled_instruments)
    disposition = result.disposition
    gets_program = disposition in PROGRAM_DISPOSITIONS and not result.safety_net
    program = (
        generate_program(
            findings, scores, answers.choices, audience, disposition, week=week, progress=progress
        )
        if gets_program
        else None
    )
    medicines = medicine_advice(answers.medicines, findings, audience) if gets_program else None
    if result.safety_net:
        note: str | None = texts.safety_net.for_(audience)
    elif not gets_program:
        note = texts.no_program.for_(audience)
    else:
        note = None
    dtext = texts.dispositions[disposition]
    sources = set(texts.sources)
    for rule in result.rules:
        sources.update(rule.sources)
    if program:
        sources.update(program.sources)
    medicine_stop = stop_plan(medicines, now.date()) if medicines else None
    if medicines and medicine_stop:
        sources.update(medicines.sources)
        sources.update(medicine_stop.sources)
    for rec in scores:
        sources.update(load_instrument(rec.instrument_id).sources)
    return Plan(
        created_at=now,
        audience=audience,
        disposition=disposition,
        safety_net=result.safety_net,
        title=texts.title.for_(audience),
        intro=texts.intro.for_(audience),
        headline=dtext.headline.for_(audience),
        action=dtext.action.for_(audience),
        note=note,
        summary=_summary(findings, audience, texts),
        reasons=[Reason(title=r.title, reason=r.reason) for r in result.rules],
        unresolved=[_human(u) for u in result.unresolved],
        scores=[_score_line(r) for r in scores],
        program=program,
        medicines=medicines,
        medicine_stop=medicine_stop,
        red_flags=texts.red_flags.for_(audience),
        followup=_followup(disposition, audience, now, texts, enabled_instruments),
        seek_care=texts.seek_care.for_(audience),
        ruleset_version=result.ruleset.version,
        sources=sorted(sources),
        callback=callback,
    )


def _emergency_plan(
    now: datetime,
    audience: Audience,
    note: str,
    red_flags: list[RedFlagGroup],
    seek_care: list[str],
    sources: list[str],
) -> Plan:
    """An emergency plan with no summary, scores, program, medicines or follow-up."""
    texts = load_plan_texts()
    dtext = texts.dispositions[Disposition.EMERGENCY]
    return Plan(
        created_at=now,
        audience=audience,
        disposition=Disposition.EMERGENCY,
        safety_net=True,
        title=texts.title.for_(audience),
        intro=texts.intro.for_(audience),
        headline=dtext.headline.for_(audience),
        action=dtext.action.for_(audience),
        note=note,
        summary=[],
        reasons=[],
        unresolved=[],
        scores=[],
        program=None,
        medicines=None,
        red_flags=red_flags,
        followup=[],
        seek_care=seek_care,
        ruleset_version="unavailable",
        sources=sorted(set(sources)),
    )


def safety_net_plan(now: datetime, audience: Audience = "adult") -> Plan:
    """The emergency safety-net plan, shown when a plan cannot be built safely."""
    texts = load_plan_texts()
    return _emergency_plan(
        now,
        audience,
        texts.safety_net.for_(audience),
        texts.red_flags.for_(audience),
        texts.seek_care.for_(audience),
        texts.sources,
    )


def held_emergency_plan(now: datetime, audience: Audience = "adult") -> Plan:
    """The plan of a case held at emergency (a sign reported later, or a clinician's decision):
    only emergency things, in the audience's voice: what to do now, why (a sign needs emergency
    care now), the emergency warning signs; no summary, scores, program, follow-up or routine
    advice."""
    texts = load_plan_texts()
    groups = texts.red_flags.for_(audience)
    emergency = [g for g in groups if "emergency" in g.action.lower()] or groups[:1]
    return _emergency_plan(
        now,
        audience,
        texts.held.emergency.for_(audience),
        emergency,
        [],
        [*texts.sources, *texts.held.sources],
    )


# ---- rendering ----


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("telespine.program", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def source_titles() -> dict[str, str]:
    """Source key -> readable reference, from content/sources.yaml when it is there."""
    try:
        text = resources.files("telespine.content").joinpath("sources.yaml").read_text(encoding="utf-8")
        doc = load_yaml_text(text, "sources.yaml")
        return {k: f"{v['title']} ({v['publisher']})" for k, v in doc["sources"].items()}
    except (OSError, KeyError, TypeError, DataFileError):
        return {}


def picture_markup(name: str) -> Markup:
    """A packaged exercise picture as inline SVG (checked by exercises.load_picture)."""
    return Markup(load_picture(name))  # noqa: S704 - our own packaged file, checked when loaded


def render_html(plan: Plan) -> str:
    """The plan as a standalone HTML page (with the exercise sheet when there is a program)."""
    return (
        _env()
        .get_template("plan.html.j2")
        .render(
            plan=plan,
            source_titles=source_titles(),
            picture=picture_markup,
            build_up=build_up(plan.audience) if plan.program else [],
        )
    )


def render_pdf(plan: Plan) -> bytes:
    """The plan as PDF, made by WeasyPrint from the HTML (in a recycled helper process when the
    served app uses one: program/pdf_pool.py)."""
    from telespine.program.pdf_pool import html_to_pdf

    return html_to_pdf(render_html(plan))


def render_exercise_sheet(program: Program) -> Markup:
    """The exercise sheet alone (the <section> the plan shows), for a web page to include."""
    template = _env().get_template("exercise_sheet.html.j2")
    rows = build_up(program.audience)
    html = template.render(p=program, audience=program.audience, picture=picture_markup, build_up=rows)
    return Markup(html)  # noqa: S704 - rendered by our autoescaping template


PlanFormat = Literal["pdf", "html"]


def parse_answers(doc: object) -> PlanAnswers:
    """Validate an answers document; raise PlanAnswersError with the pydantic message."""
    try:
        return PlanAnswers.model_validate(doc)
    except ValidationError as exc:
        raise PlanAnswersError(str(exc)) from exc
