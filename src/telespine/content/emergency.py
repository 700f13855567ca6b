"""The emergency-number placeholder: guide data names no number, the caller's configured one fills it."""

from __future__ import annotations

from typing import Any

EMERGENCY_PLACEHOLDER = "{emergency_number}"
DEFAULT_EMERGENCY_NUMBER = "911"

# Emergency (and the UK non-emergency 111) numbers that must never be written into guide text:
# the service runs in one place with one configured number, so a list of numbers only confuses.
KNOWN_NUMBERS = frozenset({"911", "999", "112", "111", "000"})


def fill_number(text: str, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """The text with the placeholder replaced (str.replace: stray braces cannot break it)."""
    return text.replace(EMERGENCY_PLACEHOLDER, emergency_number)


def fill_all(node: Any, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> Any:
    """A copy of a JSON-like document with the placeholder filled in every string."""
    if isinstance(node, str):
        return fill_number(node, emergency_number)
    if isinstance(node, dict):
        return {key: fill_all(value, emergency_number) for key, value in node.items()}
    if isinstance(node, list):
        return [fill_all(value, emergency_number) for value in node]
    return node


def hard_coded_numbers(text: str) -> list[str]:
    """Known emergency numbers written out in text (as whole words), placeholder aside."""
    # Hyphens join: a source key such as seed-000 is a name, not a number.
    text = text.replace(EMERGENCY_PLACEHOLDER, " ")
    cleaned = "".join(ch if ch.isalnum() or ch == "-" else " " for ch in text)
    return [word for word in cleaned.split() if word in KNOWN_NUMBERS]
