"""Emergency advice that is always available, even when guide data cannot be loaded."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from telespine.triage.types import Disposition

from .emergency import DEFAULT_EMERGENCY_NUMBER, fill_number
from .loader import load_guide

# Kept in code on purpose: this is what a person sees when the data files themselves are broken,
# so it cannot live only in those files (house rule: fail towards emergency safety-netting).
# The line names the number through the placeholder, filled with the caller's configured number.
FALLBACK_LINE = "In an emergency, call {emergency_number} or go to the nearest emergency department now."
FALLBACK_SIGNS = [
    "New numbness between the legs or around the bottom, or new trouble controlling the bladder or bowels.",
    "A leg that suddenly goes weak or numb, or weakness in both legs that keeps getting worse.",
    "Very bad back pain that came on suddenly and does not ease, or back pain after a big accident.",
    "Chest pain, trouble breathing, fainting, or a fever with a weak arm or leg.",
]
# The same for a parent or carer: pediatric text speaks to them about "your child".
FALLBACK_LINE_PEDIATRIC = (
    "In an emergency, call {emergency_number} or take your child to the nearest emergency department now."
)
FALLBACK_SIGNS_PEDIATRIC = [
    "Your child has new numbness around the bottom, or new trouble controlling the bladder or bowels.",
    "Your child's leg suddenly goes weak or numb, or weakness in both legs keeps getting worse.",
    "Your child has very bad back pain that came on suddenly, or back pain after a big accident.",
    "Your child has chest pain, trouble breathing, faints, or has a fever with a weak arm or leg.",
]


class EmergencyAdvice(BaseModel):
    """The emergency line and the signs that call for emergency care."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: str
    signs: list[str]
    from_guide: bool  # False when the built-in fallback was used


def emergency_advice(
    audience: str,
    condition: str = "back-pain",
    guides_dir: Path | None = None,
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER,
) -> EmergencyAdvice:
    """Emergency advice from the guide; the built-in fallback if the guide cannot be loaded. Never raises."""
    try:
        guide = load_guide(condition, audience, guides_dir, emergency_number)
        signs = [f.text for f in guide.red_flags.flags if f.action is Disposition.EMERGENCY]
        if signs:
            return EmergencyAdvice(line=guide.emergency_line, signs=signs, from_guide=True)
    except Exception:  # noqa: S110 -- any failure here must still end in emergency advice
        pass
    if audience == "pediatric":
        line, signs = FALLBACK_LINE_PEDIATRIC, FALLBACK_SIGNS_PEDIATRIC
    else:
        line, signs = FALLBACK_LINE, FALLBACK_SIGNS
    return EmergencyAdvice(line=fill_number(line, emergency_number), signs=list(signs), from_guide=False)
