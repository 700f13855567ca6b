"""The emergency number in patient text: data holds a placeholder, the caller gives the number."""

from __future__ import annotations

import re

EMERGENCY_NUMBER_PLACEHOLDER = "{emergency_number}"
DEFAULT_EMERGENCY_NUMBER = "911"
EMERGENCY_NUMBER_ENV = "TELESPINE_EMERGENCY_NUMBER"

# Emergency (and look-alike) numbers that data must never spell out: 111 is the UK non-urgent line.
_KNOWN_NUMBERS = re.compile(r"(?<!\d)(911|999|112|111|000)(?!\d)")


def with_emergency_number(text: str, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """Put the configured emergency number into a text's {emergency_number} placeholder."""
    # str.replace, not str.format: a stray brace in data must never crash the safety net
    return text.replace(EMERGENCY_NUMBER_PLACEHOLDER, emergency_number)


def hard_coded_number(text: str) -> str | None:
    """The first emergency-like number written out in text (outside the placeholder), or None."""
    found = _KNOWN_NUMBERS.search(text)
    return found.group(1) if found else None


# ---- the one built-in emergency text -----------------------------------------------------------
# Kept in code on purpose, in this small module that imports nothing: it is what a person sees
# when the data files themselves (rules, guides, advice) are broken or a part of the app fails.
# Every fallback in telespine (the engine's safety-net rule, the guide fallback, the web's last-
# resort page, the CLI) is built from these texts, so they cannot drift apart. The line names the
# number through the placeholder; rule reasons never name it ("call your emergency number").
# Sources: seed-004 and seed-000 (the emergency signs of back pain).

BUILTIN_LINE = {
    "adult": "In an emergency, call {emergency_number} or go to the nearest emergency department now.",
    "pediatric": (
        "In an emergency, call {emergency_number} or take your child to the nearest emergency department now."
    ),
}
BUILTIN_SIGNS = {
    "adult": [
        (
            "New numbness between the legs or around the bottom, or new trouble controlling the "
            "bladder or bowels."
        ),
        "A leg that suddenly goes weak or numb, or weakness in both legs that keeps getting worse.",
        "Very bad back pain that came on suddenly and does not ease, or back pain after a big accident.",
        "Chest pain, trouble breathing, fainting, or a fever with a weak arm or leg.",
    ],
    "pediatric": [
        "Your child has new numbness around the bottom, or new trouble controlling the bladder or bowels.",
        "Your child's leg suddenly goes weak or numb, or weakness in both legs keeps getting worse.",
        "Your child has very bad back pain that came on suddenly, or back pain after a big accident.",
        "Your child has chest pain, trouble breathing, faints, or has a fever with a weak arm or leg.",
    ],
}
_IF_ANY = {
    "adult": (
        "To be safe, go to an emergency department now or call your emergency number if you have "
        "any of these signs:"
    ),
    "pediatric": (
        "To be safe, take your child to an emergency department now or call your emergency number "
        "if your child has any of these signs:"
    ),
}
_IF_NONE = {
    "adult": "If you have none of these, contact a doctor today.",
    "pediatric": "If your child has none of these, contact your child's doctor today.",
}


def _voice(audience: str | None) -> str:
    return "pediatric" if audience == "pediatric" else "adult"


def builtin_line(audience: str | None, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """The built-in emergency line with the number filled in (adult wording when unknown)."""
    return with_emergency_number(BUILTIN_LINE[_voice(audience)], emergency_number)


def builtin_signs(audience: str | None) -> list[str]:
    """The built-in emergency warning signs in the audience's voice (adult when unknown)."""
    return list(BUILTIN_SIGNS[_voice(audience)])


def builtin_safety_net(audience: str | None, intro: str = "") -> str:
    """One paragraph: intro, the signs that need emergency care now, and what to do otherwise.

    It names no number ("your emergency number"), like every rule reason: the caller adds the
    configured number (builtin_line) where the text is shown.
    """
    voice = _voice(audience)
    signs = " ".join(BUILTIN_SIGNS[voice])
    return " ".join(part for part in (intro, _IF_ANY[voice], signs, _IF_NONE[voice]) if part)
