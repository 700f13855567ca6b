"""The web's only door to the clinical packages: every call is wrapped so a failure safety-nets."""

from __future__ import annotations

import logging
from typing import Any

from telespine.care.diary_form import DiaryProblem as DiaryProblem
from telespine.care.diary_form import diary_entry as diary_entry
from telespine.care.diary_form import diary_questions as diary_questions
from telespine.errors import ClinicalFailure as ClinicalFailure
from telespine.program.guarded import InvalidPlanAnswers as InvalidPlanAnswers
from telespine.program.guarded import gets_program as gets_program
from telespine.program.guarded import make_plan as make_plan
from telespine.program.guarded import parse_plan_answers as parse_plan_answers
from telespine.program.guarded import plan_file as plan_file
from telespine.program.guarded import plan_instruments as plan_instruments
from telespine.program.guarded import score_instrument as score_instrument
from telespine.program.guarded import written_plan_pdf as written_plan_pdf
from telespine.triage.emergency import builtin_line, builtin_signs
from telespine.triage.guarded import InvalidFindings as InvalidFindings
from telespine.triage.guarded import audience_for_answers as _audience
from telespine.triage.guarded import audience_of as audience_of
from telespine.triage.guarded import result_from_answers as result_from_answers
from telespine.triage.guarded import run_triage as run_triage
from telespine.triage.safety import safety_net_result as safety_net_result
from telespine.triage.types import Disposition, RulesetRef

log = logging.getLogger("telespine.web")

# Data texts name the emergency number only through this placeholder (the S7 decision); the web
# fills in settings.emergency_number.
EMERGENCY_PLACEHOLDER = "{emergency_number}"


def parse_findings_json(raw: bytes) -> object:
    """A findings body parsed strictly (triage's loads_findings: no duplicate keys, no deep nesting).

    InvalidFindings names the problem; field "(document)" means the body is not a usable JSON document.
    """
    try:
        from telespine.triage import FindingsError, loads_findings
    except Exception as exc:  # the engine call that follows safety-nets; parse strictly here meanwhile
        log.error("triage parser unavailable: %s", type(exc).__name__)
        from telespine.web.jsonbody import JsonBodyProblem, strict_loads

        try:
            return strict_loads(raw)
        except JsonBodyProblem as problem:
            raise InvalidFindings(problem.field, problem.problem) from None
        except (ValueError, UnicodeDecodeError):
            raise InvalidFindings("(document)", "not valid JSON") from None
    try:
        return loads_findings(raw)
    except FindingsError as exc:
        raise InvalidFindings(str(exc.field), str(exc.problem)) from None


def ruleset_ref() -> RulesetRef:
    try:
        from telespine.triage import load_ruleset

        rs = load_ruleset()
        return RulesetRef(version=rs.version, sha256=rs.sha256)
    except Exception:
        return RulesetRef(version="unavailable", sha256="unavailable")


def findings_schema() -> dict[str, Any]:
    """The findings JSON Schema with its $defs inlined, for the OpenAPI document."""
    import json
    from importlib import resources

    doc: dict[str, Any] = json.loads(
        resources.files("telespine.triage").joinpath("findings.schema.json").read_text("utf-8")
    )
    defs = doc.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                merged = dict(defs[ref.removeprefix("#/$defs/")])
                merged.update({k: v for k, v in node.items() if k != "$ref"})
                return inline(merged)
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    out: dict[str, Any] = inline(doc)
    for key in ("$schema", "$id"):
        out.pop(key, None)
    return out


# --- guides (telespine.content) -------------------------------------------------------------


class GuideNotFound(LookupError):
    """No guide for this condition and audience (only discovered guides are ever served)."""


def list_guides() -> list[tuple[str, str]]:
    from telespine.content import loader

    return [(c, a) for c, a in loader.discover()]


def _number(emergency_number: str | None) -> str:
    """The number to fill in; None keeps the placeholder for the page templates to fill."""
    return emergency_number or EMERGENCY_PLACEHOLDER


def load_guide(condition: str, audience: str, emergency_number: str | None = None) -> Any:
    """The guide, only for a (condition, audience) pair that exists: nothing else reaches the loader."""
    from telespine.content import loader

    if (condition, audience) not in set(list_guides()):
        raise GuideNotFound(f"{condition}/{audience}")
    return loader.load_guide(condition, audience, emergency_number=_number(emergency_number))


def guide_title(condition: str, audience: str) -> str:
    try:
        return str(load_guide(condition, audience).title)
    except Exception:
        return condition.replace("-", " ").capitalize()


def guide_document(guide: Any, emergency_number: str | None = None) -> dict[str, Any]:
    from telespine.content import render

    doc: dict[str, Any] = render.guide_document(guide, _number(emergency_number))
    return doc


def guide_sections_html(guide: Any, level: int = 2, emergency_number: str | None = None) -> str:
    """The guide's sections as HTML (content's own escaping templates render them)."""
    from telespine.content import render

    return render.render_html_sections(guide, level, emergency_number=_number(emergency_number))


def guide_references(guide: Any) -> dict[str, Any]:
    """Source key -> reference (title, short title, address) of every source the guide cites."""
    try:
        from telespine.content import render

        return dict(render.references(guide))
    except Exception as exc:  # citations are helpful, never a reason to fail a page
        log.error("guide references unavailable: %s", type(exc).__name__)
        return {}


def search_guides(query: str, limit: int = 10, emergency_number: str | None = None) -> list[Any]:
    from telespine.content import search

    if not query.strip():
        return []
    return list(search.search_guides(query[:200], limit=limit, emergency_number=_number(emergency_number)))


# --- the adaptive questionnaire (telespine.triage.questionnaire) ----------------------------


class QuestionView(dict[str, Any]):
    """What a template needs to show one question: id, kind, text, help, options, number bounds."""


class Step:
    """What the assessment shows next: a question, the emergency page, the result, or the safety net."""

    def __init__(
        self,
        kind: str,
        question: QuestionView | None = None,
        progress: tuple[int, int] = (0, 0),
        error: str | None = None,
    ) -> None:
        self.kind = kind  # "question" | "emergency" | "done" | "failed"
        self.question = question
        self.progress = progress
        self.error = error


def _view(question: Any, audience: str) -> QuestionView:
    options = [{"value": o.value, "label": o.label_for(audience)} for o in question.options]
    return QuestionView(
        id=question.id,
        kind=question.kind,
        text=question.text_for(audience),
        help=question.help_for(audience),
        options=options,
        minimum=question.minimum,
        maximum=question.maximum,
        unit=question.unit,
    )


def next_step(answers: dict[str, Any], audience_hint: str | None = None) -> Step:
    """The next thing to show; any exception becomes the safety net (kind "failed")."""
    try:
        from telespine.triage import questionnaire as q

        audience = _audience(answers, audience_hint)
        if q.emergency_certain(answers):
            return Step("emergency")
        question = q.next_question(answers, audience=audience)
        done, total = q.progress(answers, audience=audience)
        if question is None:
            return Step("done", progress=(done, total))
        return Step("question", _view(question, audience), (done, total))
    except Exception as exc:
        log.error("questionnaire failed: %s", type(exc).__name__)
        return Step("failed", error=type(exc).__name__)


def question_view(
    question_id: str, answers: dict[str, Any], audience_hint: str | None = None
) -> QuestionView | None:
    """A specific question (for going back to it), or None when the id is unknown."""
    try:
        from telespine.triage import questionnaire as q

        question = q.load_questionnaire().by_id(question_id)
        return _view(question, _audience(answers, audience_hint))
    except Exception:
        return None


def parse_answer(question_id: str, raw: str) -> tuple[object | None, str | None]:
    """(value, None) for a good answer, (None, problem) for one the person must correct."""
    from telespine.triage import questionnaire as q

    try:
        question = q.load_questionnaire().by_id(question_id)
    except Exception:
        return None, "This question is not part of the assessment."
    try:
        return q.parse_answer(question, raw), None
    except q.AnswerError as exc:
        return None, str(getattr(exc, "problem", exc))
    except Exception as exc:  # a broken questionnaire, not a wrong answer: the caller safety-nets
        log.error("parse_answer failed: %s", type(exc).__name__)
        raise ClinicalFailure(type(exc).__name__) from None


def guide_for(audience: str, emergency_number: str | None = None) -> Any | None:
    """The back-pain guide for this audience; never the adult guide for a child (doses, wording)."""
    try:
        return load_guide("back-pain", audience, emergency_number)
    except Exception:
        return None


def advice_for(audience: str, emergency_number: str | None = None) -> dict[str, Any]:
    """Per disposition: headline, what to do, by when and guide sections (triage's dispositions.yaml).

    Texts get the configured emergency number; without one they keep the {emergency_number}
    placeholder, which the page templates fill in (telespine.web.templating), never a default.
    """
    try:
        from telespine.triage.advice import load_advice

        data = load_advice()
        aud: Any = "pediatric" if audience == "pediatric" else "adult"
        number = emergency_number or EMERGENCY_PLACEHOLDER
        out: dict[str, Any] = {
            d.value: {
                "headline": data.for_(d).headline.for_(aud, number),
                "what": data.for_(d).what.for_(aud, number),
                "by_when": data.for_(d).by_when.for_(aud, number),
                "guide_sections": list(data.for_(d).guide_sections),
            }
            for d in Disposition
        }
        out["footer"] = data.safety_net_footer.for_(aud, number)
        return out
    except Exception as exc:
        log.error("disposition advice unavailable: %s", type(exc).__name__)
        return {}


# --- questionnaires, the self-care program and the written plan (telespine.program) -------------


def enabled_instruments(state: Any) -> frozenset[str] | None:
    """The enabled instruments of one app (Settings.disabled_instruments, checked at start)."""
    return state.settings.enabled_instruments  # type: ignore[no-any-return]


def instrument_view(
    instrument_id: str, audience: str, enabled: frozenset[str] | None
) -> dict[str, Any] | None:
    """What a form needs to show one questionnaire; None when it is not asked of this audience."""
    wanted = [i for i in plan_instruments(audience, enabled) if i.id == instrument_id]
    if not wanted:
        return None
    inst = wanted[0]
    aud: Any = "pediatric" if audience == "pediatric" else "adult"
    items = []
    for item in inst.items:
        rs = inst.response_sets[item.response]
        items.append(
            {
                "id": item.id,
                "text": item.text_for(aud),
                "kind": rs.kind,
                "options": [{"value": o.code, "label": o.label} for o in rs.options],
                "min": rs.min,
                "max": rs.max,
                "anchors": dict(rs.anchors),
            }
        )
    instructions = (
        inst.instructions_pediatric
        if aud == "pediatric" and inst.instructions_pediatric
        else inst.instructions
    )
    return {
        "id": inst.id,
        "title": inst.title,
        "instructions": instructions,
        "items": items,
        "notice": inst.licence.notice if inst.id == "startback" else "",
    }


def medicine_questions(audience: str) -> list[dict[str, Any]]:
    """The medicine questions in the wording for this audience."""
    from telespine.program import load_medicine_questions

    aud: Any = "pediatric" if audience == "pediatric" else "adult"
    return [
        {
            "field": q.field,
            "text": q.text.for_(aud),
            "options": [{"value": o.value, "label": o.label} for o in q.options],
        }
        for q in load_medicine_questions().questions
    ]


# --- the safety-net panel (telespine.content) ---------------------------------------------


def emergency_signs(audience: str, emergency_number: str) -> dict[str, Any]:
    """The emergency line and warning signs for a safety-net panel; built-in text if content fails."""
    try:
        from telespine.content import emergency_advice

        adv = emergency_advice(
            "pediatric" if audience == "pediatric" else "adult", emergency_number=emergency_number
        )
        return {"line": adv.line, "signs": list(adv.signs)}
    except Exception as exc:
        log.error("emergency advice unavailable: %s", type(exc).__name__)
        return {"line": builtin_line(audience, emergency_number), "signs": builtin_signs(audience)}
