"""A QuestionnaireResponse made by another form renderer -> answers -> findings -> triage.

Strict: a response that is not valid FHIR, answers another Questionnaire, or holds an answer
that does not fit its question is refused with an OperationOutcome (never a result). A
question the response leaves unanswered is never read as "no": when its answer could still
change the disposition it is recorded as "not sure" (unknown), exactly as if the person had
said so; a best-guess question (a number, location, onset, sex) that is still needed refuses
the response instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse, QuestionnaireResponseItem
from pydantic import ValidationError

from telespine.fhir import terms
from telespine.triage.questionnaire import (
    UNSURE,
    AnswerError,
    Question,
    findings_from_answers,
    load_questionnaire,
    next_question,
)
from telespine.triage.types import Audience

ACCEPTED_STATUS = frozenset({"completed", "amended"})


class ImportProblem(ValueError):
    """Why a response was refused: (location, problem) pairs, for an OperationOutcome."""

    def __init__(self, issues: list[tuple[str, str]], code: str = "invalid") -> None:
        super().__init__("; ".join(f"{where}: {what}" for where, what in issues))
        self.issues = issues
        self.code = code

    def outcome(self) -> OperationOutcome:
        return OperationOutcome(
            issue=[
                OperationOutcomeIssue(severity="error", code=self.code, diagnostics=what, expression=[where])
                for where, what in self.issues
            ]
        )


@dataclass
class Imported:
    """The answers read from a response, the findings made from them and the audience."""

    audience: Audience
    answers: dict[str, object]
    findings: dict[str, Any]
    filled_unknown: list[str] = field(default_factory=list)


def _audience_of(canonical: str) -> Audience:
    base = canonical.split("|", 1)[0]
    for aud in ("adult", "pediatric"):
        if base == terms.assessment_questionnaire_url(aud):
            return "adult" if aud == "adult" else "pediatric"
    raise ImportProblem(
        [
            (
                "QuestionnaireResponse.questionnaire",
                f"answers {base!r}, not a telespine assessment Questionnaire "
                f"({terms.assessment_questionnaire_url('adult')} or "
                f"{terms.assessment_questionnaire_url('pediatric')})",
            )
        ],
        code="not-supported",
    )


def parse_response(raw: bytes | str | dict[str, Any]) -> QuestionnaireResponse:
    """Parse and validate a QuestionnaireResponse strictly (unknown elements are refused)."""
    try:
        doc = json.loads(raw) if isinstance(raw, bytes | str) else raw
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportProblem([("(document)", f"not JSON: {exc}")], code="structure") from None
    if not isinstance(doc, dict) or doc.get("resourceType") != "QuestionnaireResponse":
        kind = doc.get("resourceType") if isinstance(doc, dict) else type(doc).__name__
        raise ImportProblem(
            [("resourceType", f"expected a QuestionnaireResponse, got {kind!r}")], code="structure"
        )
    try:
        return QuestionnaireResponse.model_validate(doc)
    except ValidationError as exc:
        issues = [
            (
                ".".join(str(p) for p in err.get("loc", ())) or "QuestionnaireResponse",
                str(err.get("msg", "invalid")),
            )
            for err in exc.errors()[:20]
        ]
        raise ImportProblem(issues, code="structure") from None
    except (ValueError, TypeError) as exc:
        raise ImportProblem([("QuestionnaireResponse", str(exc)[:300])], code="structure") from None


def _walk(items: list[QuestionnaireResponseItem] | None) -> list[QuestionnaireResponseItem]:
    out: list[QuestionnaireResponseItem] = []
    for item in items or []:
        out.append(item)
        out += _walk(item.item)
        for ans in item.answer or []:
            out += _walk(ans.item)
    return out


def _answer_value(q: Question, item: QuestionnaireResponseItem) -> object:
    answers = item.answer or []
    if len(answers) > 1:
        raise ImportProblem([(f"item[{q.id}]", "takes one answer")])
    ans = answers[0]
    if q.kind == "number":
        for value in (ans.valueDecimal, ans.valueInteger):
            if value is not None:
                return float(value) if not float(value).is_integer() else int(value)
        raise ImportProblem([(f"item[{q.id}]", "needs a number (valueDecimal or valueInteger)")])
    coding = ans.valueCoding
    if coding is None:
        raise ImportProblem([(f"item[{q.id}]", "needs a valueCoding from the Questionnaire's answerOption")])
    if coding.system not in (None, terms.ANSWER_SYSTEM):
        raise ImportProblem(
            [(f"item[{q.id}]", f"answer system {coding.system!r} is not {terms.ANSWER_SYSTEM}")]
        )
    if coding.code is None or q.option(coding.code) is None:
        allowed = ", ".join(o.value for o in q.options)
        raise ImportProblem(
            [(f"item[{q.id}]", f"{coding.code!r} is not an answer to this question; use {allowed}")]
        )
    return coding.code


def import_response(raw: bytes | str | dict[str, Any]) -> Imported:
    """Read a response into answers and findings; raises ImportProblem (never returns a guess)."""
    qr = parse_response(raw)
    if not qr.questionnaire:
        raise ImportProblem([("QuestionnaireResponse.questionnaire", "is missing")], code="required")
    audience = _audience_of(qr.questionnaire)
    if qr.status not in ACCEPTED_STATUS:
        raise ImportProblem(
            [("QuestionnaireResponse.status", f"is {qr.status!r}; only a completed response is triaged")]
        )
    qn = load_questionnaire()
    answers: dict[str, object] = {}
    problems: list[tuple[str, str]] = []
    for item in _walk(qr.item):
        link = str(item.linkId or "")
        if link.endswith(".help"):
            continue
        try:
            q = qn.by_id(link)
        except KeyError:
            problems.append((f"item[{item.linkId}]", "is not a question of this Questionnaire"))
            continue
        if q.id in answers:
            problems.append((f"item[{q.id}]", "appears twice"))
            continue
        if not item.answer:
            continue  # unanswered: handled below, never read as "no"
        try:
            answers[q.id] = _answer_value(q, item)
        except ImportProblem as exc:
            problems += exc.issues
    if problems:
        raise ImportProblem(problems)
    if "age_years" not in answers:
        raise ImportProblem([("item[age_years]", "age is needed")], code="required")
    filled: list[str] = []
    for _ in range(len(qn.questions) + 1):
        nxt = next_question(answers, audience)
        if nxt is None:
            break
        if nxt.option(UNSURE) is None:
            raise ImportProblem(
                [
                    (
                        f"item[{nxt.id}]",
                        "is needed to decide the result and has no 'not sure' answer; give a best guess",
                    )
                ],
                code="required",
            )
        answers[nxt.id] = UNSURE
        filled.append(nxt.id)
    try:
        findings = findings_from_answers(answers)
    except AnswerError as exc:
        raise ImportProblem([(f"item[{exc.question_id}]", exc.problem)]) from None
    return Imported(audience=audience, answers=answers, findings=findings, filled_unknown=filled)
