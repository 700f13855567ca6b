"""Emergency advice that is always available, even when guide data cannot be loaded."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from telespine.triage.emergency import BUILTIN_LINE, BUILTIN_SIGNS
from telespine.triage.types import Disposition

from .emergency import DEFAULT_EMERGENCY_NUMBER, fill_number
from .loader import load_guide

# The built-in emergency text (telespine.triage.emergency, one copy for all of telespine): what a
# person sees when the guide files themselves are broken (fail towards emergency safety-netting).
FALLBACK_LINE = BUILTIN_LINE["adult"]
FALLBACK_SIGNS = BUILTIN_SIGNS["adult"]
FALLBACK_LINE_PEDIATRIC = BUILTIN_LINE["pediatric"]
FALLBACK_SIGNS_PEDIATRIC = BUILTIN_SIGNS["pediatric"]


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
