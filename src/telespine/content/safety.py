"""Emergency advice that is always available, even when guide data cannot be loaded."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from telespine.triage.types import Disposition

from .loader import load_guide

# Kept in code on purpose: this is what a person sees when the data files themselves are broken,
# so it cannot live only in those files (house rule: fail towards emergency safety-netting).
FALLBACK_LINE = (
    "In an emergency, call your local emergency number (such as 911, 999, 112 or 111) or go to the "
    "nearest emergency department now."
)
FALLBACK_SIGNS = [
    "New numbness between the legs or around the bottom, or new trouble controlling the bladder or bowels.",
    "A leg that suddenly goes weak or numb, or weakness in both legs that keeps getting worse.",
    "Very bad back pain that came on suddenly and does not ease, or back pain after a big accident.",
    "Chest pain, trouble breathing, fainting, or a fever with a weak arm or leg.",
]


class EmergencyAdvice(BaseModel):
    """The emergency line and the signs that call for emergency care."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: str
    signs: list[str]
    from_guide: bool  # False when the built-in fallback was used


def emergency_advice(
    audience: str, condition: str = "back-pain", guides_dir: Path | None = None
) -> EmergencyAdvice:
    """Emergency advice from the guide; the built-in fallback if the guide cannot be loaded. Never raises."""
    try:
        guide = load_guide(condition, audience, guides_dir)
        signs = [f.text for f in guide.red_flags.flags if f.action is Disposition.EMERGENCY]
        if signs:
            return EmergencyAdvice(line=guide.emergency_line, signs=signs, from_guide=True)
    except Exception:  # noqa: S110 -- any failure here must still end in emergency advice
        pass
    return EmergencyAdvice(line=FALLBACK_LINE, signs=list(FALLBACK_SIGNS), from_guide=False)
