"""What each disposition tells the person to do and by when (dispositions.yaml, strict)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from telespine.datafile import load_yaml_text
from telespine.triage.emergency import DEFAULT_EMERGENCY_NUMBER, hard_coded_number, with_emergency_number
from telespine.triage.types import Audience, Disposition


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Wording(_Strict):
    """One text per audience."""

    adult: str = Field(min_length=1)
    pediatric: str = Field(min_length=1)

    def for_(self, audience: Audience, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
        """The text for this audience, with the configured emergency number filled in."""
        return with_emergency_number(self.adult if audience == "adult" else self.pediatric, emergency_number)


class DispositionAdvice(_Strict):
    """The advice for one disposition."""

    headline: Wording
    what: Wording
    by_when: Wording
    guide_sections: list[str] = Field(min_length=1)


class AdviceFile(_Strict):
    """dispositions.yaml."""

    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    dispositions: dict[Disposition, DispositionAdvice]
    safety_net_footer: Wording

    def for_(self, disposition: Disposition) -> DispositionAdvice:
        """The advice for a disposition."""
        return self.dispositions[disposition]


@cache
def load_advice() -> AdviceFile:
    """Load dispositions.yaml; every disposition must be covered."""
    return parse_advice(resources.files("telespine.triage").joinpath("dispositions.yaml").read_text("utf-8"))


def parse_advice(text: str) -> AdviceFile:
    """Check the text of a dispositions file (strict model, all dispositions, no written-out number)."""
    advice = AdviceFile.model_validate(load_yaml_text(text, "dispositions.yaml"))
    missing = [d.value for d in Disposition if d not in advice.dispositions]
    if missing:
        raise ValueError(f"dispositions.yaml: missing {missing}")
    wordings = [
        (f"{d.value}.{part}", getattr(item, part))
        for d, item in advice.dispositions.items()
        for part in ("headline", "what", "by_when")
    ]
    wordings.append(("safety_net_footer", advice.safety_net_footer))
    for where, wording in wordings:
        for text in (wording.adult, wording.pediatric):
            number = hard_coded_number(text)
            if number is not None:  # one configured number everywhere (never a list of countries' numbers)
                raise ValueError(f"dispositions.yaml: {where}: write {{emergency_number}}, not {number!r}")
    return advice
