"""QuestionnaireResponse <-> questionnaire answers for the assessment (shared by export and import)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponseItem,
    QuestionnaireResponseItemAnswer,
)

from telespine.fhir.questionnaires import answer_coding
from telespine.triage.findings import UNKNOWN
from telespine.triage.questionnaire import UNSURE, Question, load_questionnaire
from telespine.triage.types import Audience


def answers_from_findings(findings: Mapping[str, Any]) -> dict[str, object]:
    """Questionnaire answers that give these findings back (for findings sent without answers)."""
    qn = load_questionnaire()
    out: dict[str, object] = {}
    for q in qn.questions:
        if q.id not in findings:
            continue
        value = findings[q.id]
        if value == UNKNOWN:
            out[q.id] = UNSURE
        elif q.kind == "yes_no_unsure":
            out[q.id] = "yes" if value is True else "no"
        else:
            out[q.id] = value
    return out


def response_items(answers: Mapping[str, object], audience: Audience) -> list[QuestionnaireResponseItem]:
    """QuestionnaireResponse items for answers, in the Questionnaire's order."""
    qn = load_questionnaire()
    items: list[QuestionnaireResponseItem] = []
    for q in qn.order(audience):
        if q.id not in answers:
            continue
        items.append(
            QuestionnaireResponseItem(
                linkId=q.id, text=q.text_for(audience), answer=[_answer(q, answers[q.id], audience)]
            )
        )
    return items


def _answer(q: Question, value: object, audience: Audience) -> QuestionnaireResponseItemAnswer:
    if q.kind == "number":
        number = float(value) if isinstance(value, int | float | str) else 0.0
        return QuestionnaireResponseItemAnswer(valueDecimal=number)
    return QuestionnaireResponseItemAnswer(valueCoding=answer_coding(q, str(value), audience))
