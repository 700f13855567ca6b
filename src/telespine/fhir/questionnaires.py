"""SDC Questionnaires: the adaptive assessment (adult, pediatric) and each instrument.

The assessment's order and skipping are computed from the rules at run time
(telespine.triage.questionnaire); FHIR cannot say "ask this only if an answer could still change
the disposition", so every question is offered and optional except those always asked. What
FHIR can say is said: `ask_when` conditions become enableWhen, and instrument scores are
calculatedExpression (FHIRPath) items.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.expression import Expression
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.questionnaire import (
    Questionnaire,
    QuestionnaireItem,
    QuestionnaireItemAnswerOption,
    QuestionnaireItemEnableWhen,
)

from telespine.fhir import terms
from telespine.instruments import Instrument, load_instrument
from telespine.triage import rules as tr
from telespine.triage.questionnaire import Question, load_questionnaire
from telespine.triage.types import Audience

PUBLISHER = "telespine"
AUDIENCES: tuple[Audience, ...] = ("adult", "pediatric")


class UnknownQuestionnaire(LookupError):
    """No such Questionnaire (audience or instrument id)."""


def _help_item(parent: str, text: str) -> QuestionnaireItem:
    control = CodeableConcept(
        coding=[Coding(system="http://hl7.org/fhir/questionnaire-item-control", code="help")]
    )
    return QuestionnaireItem(
        linkId=f"{parent}.help",
        type="display",
        text=text,
        extension=[Extension(url=terms.ITEM_CONTROL, valueCodeableConcept=control)],
    )


def answer_coding(question: Question, value: str, audience: Audience) -> Coding:
    option = question.option(value)
    display = option.label_for(audience) if option is not None else value
    return Coding(system=terms.ANSWER_SYSTEM, code=value, display=display)


def _number_answer(value: float) -> dict[str, Any]:
    return {"answerDecimal": float(value)}


def _enable_when(
    cond: Any, qn_by_id: dict[str, Question], audience: Audience
) -> tuple[list[QuestionnaireItemEnableWhen], str] | None:
    """enableWhen items and behaviour for a condition FHIR can express, else None."""

    def one(c: Any) -> list[QuestionnaireItemEnableWhen] | None:
        if isinstance(c, tr.Gte | tr.Gt | tr.Lt):
            args = c.gte if isinstance(c, tr.Gte) else c.gt if isinstance(c, tr.Gt) else c.lt
            op = ">=" if isinstance(c, tr.Gte) else ">" if isinstance(c, tr.Gt) else "<"
            return [
                QuestionnaireItemEnableWhen(question=args.finding, operator=op, **_number_answer(args.value))
            ]
        if isinstance(c, tr.IsTrue):
            q = qn_by_id[c.is_true]
            return [
                QuestionnaireItemEnableWhen(
                    question=q.id, operator="=", answerCoding=answer_coding(q, "yes", audience)
                )
            ]
        if isinstance(c, tr.Equals):
            q = qn_by_id[c.equals.finding]
            return [
                QuestionnaireItemEnableWhen(
                    question=q.id, operator="=", answerCoding=answer_coding(q, c.equals.value, audience)
                )
            ]
        if isinstance(c, tr.In):
            q = qn_by_id[c.in_.finding]
            wanted = set(c.in_.values)
            if len(wanted) == 1:
                return [
                    QuestionnaireItemEnableWhen(
                        question=q.id,
                        operator="=",
                        answerCoding=answer_coding(q, next(iter(wanted)), audience),
                    )
                ]
            # "one of several" inside an AND: say it as "none of the others" (the options are finite)
            others = [o.value for o in q.options if o.value not in wanted]
            return [
                QuestionnaireItemEnableWhen(
                    question=q.id, operator="!=", answerCoding=answer_coding(q, v, audience)
                )
                for v in others
            ]
        return None

    if isinstance(cond, tr.All):
        parts: list[QuestionnaireItemEnableWhen] = []
        for c in cond.all:
            got = one(c)
            if got is None:
                return None
            parts += got
        return parts, "all"
    got = one(cond)
    if got is None:
        return None
    if isinstance(cond, tr.In) and len(got) > 1:
        return got, "all"
    return got, "all"


def _question_item(q: Question, audience: Audience, by_id: dict[str, Question]) -> QuestionnaireItem:
    fields: dict[str, Any] = {
        "linkId": q.id,
        "text": q.text_for(audience),
        "code": [Coding(system=terms.QUESTION_SYSTEM, code=q.id)],
        "required": q.always_ask,
    }
    ext: list[Extension] = []
    if q.kind == "number":
        fields["type"] = "decimal"
        if q.minimum is not None:
            ext.append(Extension(url=terms.MIN_VALUE, valueDecimal=q.minimum))
        if q.maximum is not None:
            ext.append(Extension(url=terms.MAX_VALUE, valueDecimal=q.maximum))
    else:
        fields["type"] = "choice"
        fields["answerOption"] = [
            QuestionnaireItemAnswerOption(valueCoding=answer_coding(q, o.value, audience)) for o in q.options
        ]
    if ext:
        fields["extension"] = ext
    if q.ask_when is not None:
        converted = _enable_when(q.ask_when, by_id, audience)
        if converted is not None:
            fields["enableWhen"], fields["enableBehavior"] = converted
    help_text = q.help_for(audience)
    if help_text:
        fields["item"] = [_help_item(q.id, help_text)]
    return QuestionnaireItem(**fields)


def assessment_questionnaire(audience: str) -> Questionnaire:
    """The back-pain assessment for an audience ("adult" or "pediatric") as an SDC Questionnaire."""
    if audience not in AUDIENCES:
        raise UnknownQuestionnaire(audience)
    aud: Audience = "adult" if audience == "adult" else "pediatric"
    qn = load_questionnaire()
    by_id = {q.id: q for q in qn.questions}
    title = (
        "Back pain check" if aud == "adult" else "Back pain check for a child (answered by a parent or carer)"
    )
    return Questionnaire(
        id=f"assessment-{aud}",
        url=terms.assessment_questionnaire_url(aud),
        version=f"{qn.version}+rules.{qn.ruleset.version}",
        name=f"TelespineAssessment{aud.capitalize()}",
        title=title,
        status="active",
        publisher=PUBLISHER,
        subjectType=["Patient"],
        description=(
            "Red flags first. telespine asks a question only when its answer could still change the "
            "result; a form renderer shows them all. 'Not sure' is recorded as unknown, never as no."
        ),
        item=[_question_item(q, aud, by_id) for q in qn.order(aud)],
    )


# ---- instruments ------------------------------------------------------------------------------


def _item_coding(inst: Instrument, item_id: str) -> list[Coding]:
    codes = terms.load_terms().instrument(inst.id)
    out = [Coding(system=terms.instrument_item_system(inst.id), code=item_id)]
    known = codes.items.get(item_id)
    if known is not None:
        out.insert(
            0, Coding(system=terms.load_terms().system("loinc"), code=known.code, display=known.display)
        )
    return out


def instrument_answer_coding(inst: Instrument, option_code: str, label: str) -> Coding:
    known = terms.load_terms().instrument(inst.id).answers.get(option_code)
    if known is not None:
        return Coding(system=terms.load_terms().system("loinc"), code=known.code, display=known.display)
    return Coding(system=terms.instrument_answer_system(inst.id), code=option_code, display=label)


def _score_expression(inst: Instrument, scale_id: str) -> str:
    scale = next(s for s in inst.scales if s.id == scale_id)
    parts = []
    for item_id in scale.items:
        item = next(i for i in inst.items if i.id == item_id)
        kind = inst.response_sets[item.response].kind
        value = "answer.value.ordinal()" if kind == "choice" else "answer.value"
        parts.append(f"%resource.repeat(item).where(linkId='{item_id}').{value}")
    total = " + ".join(parts)
    if scale.method == "mean":
        return f"(({total}) / {len(parts)}).round(1)"
    return total


def score_link_id(scale_id: str) -> str:
    return f"score.{scale_id}"


def instrument_questionnaire(instrument_id: str) -> Questionnaire:
    """An instrument (telespine.instruments) as an SDC Questionnaire with calculated scores."""
    try:
        inst = load_instrument(instrument_id)
    except Exception as exc:  # unknown id or a broken file: no Questionnaire
        raise UnknownQuestionnaire(instrument_id) from exc
    codes = terms.load_terms().instrument(inst.id)
    loinc = terms.load_terms().system("loinc")
    items: list[QuestionnaireItem] = []
    for item in inst.items:
        rs = inst.response_sets[item.response]
        fields: dict[str, Any] = {
            "linkId": item.id,
            "text": item.text,
            "code": _item_coding(inst, item.id),
            "required": True,
        }
        if rs.kind == "choice":
            fields["type"] = "choice"
            fields["answerOption"] = [
                QuestionnaireItemAnswerOption(
                    valueCoding=instrument_answer_coding(inst, o.code, o.label),
                    extension=[Extension(url=terms.ORDINAL_VALUE, valueDecimal=o.points)],
                )
                for o in rs.options
            ]
        else:
            fields["type"] = "integer"
            fields["extension"] = [
                Extension(url=terms.MIN_VALUE, valueInteger=rs.min),
                Extension(url=terms.MAX_VALUE, valueInteger=rs.max),
            ]
        items.append(QuestionnaireItem(**fields))
    for scale in inst.scales:
        scale_code = codes.scales.get(scale.id)
        coding = [Coding(system=terms.INSTRUMENT_SYSTEM, code=f"{inst.id}.{scale.id}", display=scale.label)]
        if scale_code is not None:
            coding.insert(0, Coding(system=loinc, code=scale_code.code, display=scale_code.display))
        expression = Expression(language="text/fhirpath", expression=_score_expression(inst, scale.id))
        items.append(
            QuestionnaireItem(
                linkId=score_link_id(scale.id),
                text=scale.label,
                type="decimal",
                readOnly=True,
                code=coding,
                extension=[Extension(url=terms.SDC_CALCULATED, valueExpression=expression)],
            )
        )
    code = None
    if codes.panel is not None:
        code = [Coding(system=loinc, code=codes.panel.code, display=codes.panel.display)]
    return Questionnaire(
        id=f"instrument-{inst.id}",
        url=terms.instrument_questionnaire_url(inst.id),
        version=inst.version,
        name=f"TelespineInstrument{inst.id.capitalize()}",
        title=inst.title,
        status="active",
        publisher=PUBLISHER,
        subjectType=["Patient"],
        description=f"{inst.purpose} {inst.instructions}",
        copyright=inst.licence.notice,
        code=code,
        item=items,
    )


def to_json(resource: Any) -> str:
    """A resource as FHIR JSON (no empty elements)."""
    text: str = resource.model_dump_json(exclude_none=True)
    return text
