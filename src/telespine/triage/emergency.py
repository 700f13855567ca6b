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
