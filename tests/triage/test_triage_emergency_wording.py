"""An emergency says only emergency things (issue 10, part 6): no emergency rule reason or
emergency advice text speaks of "today", "1 to 3 days" or another later time."""

from __future__ import annotations

import re

import pytest

from telespine.triage import load_ruleset
from telespine.triage.advice import load_advice
from telespine.triage.types import Disposition

SOFTER = re.compile(r"\btoday\b|\b1 to 3\b|\bwithin\b|\bdays?\b|\bweeks?\b|tele-?visit", re.IGNORECASE)


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_emergency_reasons_and_advice_say_only_now(audience: str) -> None:
    for rule in load_ruleset().rules:
        if rule.level is Disposition.EMERGENCY:
            assert not SOFTER.search(rule.reason_for(audience)), (rule.id, audience)
    advice = load_advice().for_(Disposition.EMERGENCY)
    for text in (advice.headline, advice.what, advice.by_when):
        assert not SOFTER.search(text.for_(audience)), text.for_(audience)
