"""The plan to cut down and stop medicine: dated steps, ask-first and avoid lines, no child doses."""

from __future__ import annotations

import datetime as dt
import io
from datetime import UTC, datetime

from pypdf import PdfReader

from telespine.content.checks import aspirin_problems, dose_problems
from telespine.content.readability import MAX_GRADE, reading_grade
from telespine.program.medicine_plan import stop_plan
from telespine.program.medicines import MedicineAnswers, medicine_advice
from telespine.program.plan import build_plan, parse_answers, render_pdf
from telespine.triage import triage

START = dt.date(2026, 5, 4)
ALL_NO = MedicineAnswers(**dict.fromkeys(MedicineAnswers.model_fields, "no"))


def test_adult_with_doses_gets_dated_steps_to_cut_down_and_stop() -> None:
    plan = stop_plan(medicine_advice(ALL_NO, {"age_years": 40}, "adult"), START)
    ibuprofen = next(m for m in plan.medicines if m.medicine == "ibuprofen")
    assert ibuprofen.status == "dose" and len(ibuprofen.lines) == 4
    assert ibuprofen.lines[0].startswith("Mon 04 May to Wed 06 May")
    assert "cut down" in ibuprofen.lines[1] and ibuprofen.lines[-1].startswith("From Mon 11 May: stop")
    assert plan.stop_by == dt.date(2026, 5, 11)
    assert "10 days" in plan.nsaid_limit
    assert any("Black" in w for w in plan.watch_for) and any("Vomiting blood" in w for w in plan.watch_for)


def test_caution_or_pregnancy_gives_ask_first_or_avoid_and_no_steps() -> None:
    kidney = stop_plan(
        medicine_advice(ALL_NO.model_copy(update={"kidney_disease": "yes"}), {"age_years": 40}, "adult"),
        START,
    )
    ib = next(m for m in kidney.medicines if m.medicine == "ibuprofen")
    assert ib.status == "ask_first" and len(ib.lines) == 1 and "pharmacist" in ib.lines[0]
    pregnant = stop_plan(
        medicine_advice(ALL_NO.model_copy(update={"pregnancy": "trimester_2"}), {"age_years": 30}, "adult"),
        START,
    )
    assert next(m for m in pregnant.medicines if m.medicine == "ibuprofen").lines == [
        "Do not take ibuprofen."
    ]


def test_child_plan_speaks_to_the_parent_names_no_amount_and_stops_sooner() -> None:
    for answers in (ALL_NO, MedicineAnswers()):
        plan = stop_plan(
            medicine_advice(answers, {"age_years": 9}, "adult"), START
        )  # age wins over the caller
        assert plan.audience == "pediatric"
        text = " ".join(plan.texts())
        assert not dose_problems(text) and not aspirin_problems(text)
        assert "3 days" in plan.nsaid_limit and "child" in plan.nsaid_limit
        assert all(m.status != "dose" for m in plan.medicines)
        assert plan.stop_by == dt.date(2026, 5, 7)


def test_stop_plan_texts_read_at_grade_8() -> None:
    for age, audience in ((40, "adult"), (9, "pediatric")):
        plan = stop_plan(medicine_advice(ALL_NO, {"age_years": age}, audience), START)  # type: ignore[arg-type]
        joined = " ".join(t if t.endswith(".") else t + "." for t in plan.texts())
        assert reading_grade(joined) <= MAX_GRADE, audience


def test_written_plan_includes_the_stop_plan() -> None:
    findings = {
        "age_years": 40,
        "location": "low_back",
        "onset": "gradual",
        "duration_days": 6,
        "pain_score": 5,
    }
    answers = parse_answers({"medicines": ALL_NO.model_dump()})
    plan = build_plan(findings, triage(findings), answers, datetime(2026, 5, 4, 9, tzinfo=UTC))
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(plan))).pages).split())
    assert "Cutting down and stopping" in text and "From Mon 11 May: stop" in text
    assert "Side effects to watch for" in text and "tar-like poo" in text
