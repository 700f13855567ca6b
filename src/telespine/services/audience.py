"""Whose voice a saved assessment's texts are in: the one rule every service and page uses.

Pediatric (the parent's voice, no adult doses, never aspirin under 16) when the profile is a
child's or the latest findings give an age under 18; adult otherwise. A child's age entered on an
adult profile (a parent answering on their own profile) is never read as an adult.
"""

from __future__ import annotations

from typing import Protocol

from telespine.triage.types import Audience


class _Profile(Protocol):
    @property
    def is_child(self) -> bool: ...


class _Version(Protocol):
    @property
    def findings(self) -> dict[str, object]: ...


class _Assessment(Protocol):
    @property
    def profile(self) -> _Profile: ...

    @property
    def latest(self) -> _Version: ...


def assessment_audience(assessment: _Assessment) -> Audience:
    """Pediatric for a child profile or an age under 18 in the latest findings."""
    age = assessment.latest.findings.get("age_years")
    child = assessment.profile.is_child or (
        isinstance(age, int | float) and not isinstance(age, bool) and age < 18
    )
    return "pediatric" if child else "adult"
