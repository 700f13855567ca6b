"""Every patient text of the program, medicine advice and plan reads at grade 8 or lower."""

from __future__ import annotations

import pytest

from telespine.content.readability import MAX_GRADE, reading_grade
from telespine.program.exercises import load_library
from telespine.program.generate import load_rules
from telespine.program.medicines import (
    MedicineAnswers,
    load_medicine_questions,
    medicine_advice,
)
from telespine.program.plan import load_plan_texts

AUDIENCES = ("adult", "pediatric")


def sentences(texts: list[str]) -> str:
    """Join texts, ending each with a full stop so list items count as sentences."""
    return " ".join(t.strip() if t.strip().endswith((".", "?", "!", ":")) else t.strip() + "." for t in texts)


def program_groups() -> list[tuple[str, str]]:
    rules = load_rules()
    groups = [(f"{s.id}[{i}]", sentences(b.points)) for s in rules.sections for i, b in enumerate(s.blocks)]
    library = load_library()
    for e in library.exercises:
        texts = [e.name, *e.steps, *(d.text() for d in e.doses), e.easier, e.harder, *e.stop_if]
        groups.append((f"exercise {e.id}", sentences(texts)))
    for a in AUDIENCES:
        groups.append((f"exercise stop {a}", sentences(library.stop_when[a])))
        says = [r.say.for_(a) for r in library.progress.values()]
        groups.append((f"exercise progress {a}", sentences(says)))
    for a in AUDIENCES:
        ga = rules.graded_activity
        groups.append((f"graded {a}", sentences([ga.intro.for_(a), *(getattr(w, a) for w in ga.weeks)])))
        groups.append((f"stop {a}", rules.exercises.stop_if.for_(a)))
        groups.append(
            (f"framing {a}", sentences([rules.framing.telemedicine.for_(a), rules.framing.routine.for_(a)]))
        )
    return groups


def medicine_groups() -> list[tuple[str, str]]:
    groups = []
    for age, audience in ((40, "adult"), (70, "adult"), (10, "pediatric")):
        for answers in (
            MedicineAnswers(**dict.fromkeys(MedicineAnswers.model_fields, "no")),
            MedicineAnswers(),
        ):
            advice = medicine_advice(answers, {"age_years": age}, audience)  # type: ignore[arg-type]
            groups.append((f"medicines {audience} {age}", sentences(advice.texts())))
    for a in AUDIENCES:
        groups.append(
            (f"questions {a}", sentences([q.text.for_(a) for q in load_medicine_questions().questions]))
        )
    return groups


def plan_groups() -> list[tuple[str, str]]:
    t = load_plan_texts()
    groups = []
    for a in AUDIENCES:
        groups.append(
            (f"intro {a}", sentences([t.intro.for_(a), t.no_program.for_(a), t.safety_net.for_(a)]))
        )
        for d, text in t.dispositions.items():
            groups.append((f"disposition {d} {a}", sentences([text.headline.for_(a), text.action.for_(a)])))
        for i, g in enumerate(t.red_flags.for_(a)):
            groups.append((f"red flags {a} {i}", sentences([g.action + ":", *g.signs])))
        groups.append((f"seek care {a}", sentences(t.seek_care.for_(a))))
        held = t.held
        for name, text in (("emergency", held.emergency), ("urgent", held.urgent), ("prompt", held.prompt)):
            groups.append((f"held {name} {a}", sentences([text.for_(a)])))
        groups.append((f"held visit {a}", sentences([held.visit.for_(a)])))
    return groups


def test_held_texts_cite_known_sources_and_speak_to_the_parent() -> None:
    import datetime as dt

    from telespine.content.loader import load_sources
    from telespine.program import held_emergency_plan

    held = load_plan_texts().held
    assert held.sources and set(held.sources) <= set(load_sources().sources)
    assert set(held.sources) <= set(held_emergency_plan(dt.datetime.now(dt.UTC)).sources)
    for text in (held.emergency, held.urgent, held.prompt, held.visit):
        assert "your child" in text.pediatric.lower() and "your child" not in text.adult.lower()


@pytest.mark.parametrize(("name", "text"), program_groups() + medicine_groups() + plan_groups())
def test_reading_grade_at_most_8(name: str, text: str) -> None:
    assert reading_grade(text) <= MAX_GRADE, name
