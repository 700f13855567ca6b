"""The self-care program, safe medicine advice and the written plan (HTML, PDF)."""

from telespine.program.generate import (
    PROGRAM_DISPOSITIONS,
    ProgramRulesError,
    generate_program,
    load_rules,
    risk_level,
)
from telespine.program.medicines import (
    MedicineAdvice,
    MedicineAnswers,
    load_medicine_questions,
    medicine_advice,
)
from telespine.program.models import Choices, Program
from telespine.program.plan import (
    Plan,
    PlanAnswers,
    PlanAnswersError,
    build_plan,
    held_emergency_plan,
    parse_answers,
    render_html,
    render_pdf,
    safety_net_plan,
)

__all__ = [
    "PROGRAM_DISPOSITIONS",
    "Choices",
    "MedicineAdvice",
    "MedicineAnswers",
    "Plan",
    "PlanAnswers",
    "PlanAnswersError",
    "Program",
    "ProgramRulesError",
    "build_plan",
    "generate_program",
    "held_emergency_plan",
    "load_medicine_questions",
    "load_rules",
    "medicine_advice",
    "parse_answers",
    "render_html",
    "render_pdf",
    "risk_level",
    "safety_net_plan",
]
