"""Which level a case shows: the engine's result, escalation floors and a clinician's override.

Pure. A floor is a level raised by a red flag (a message, a diary entry, the red-flag check, a
re-survey, an exam) or by a clinician's override. While a floor is not cleared, no view shows a
less urgent level than it: a patient's new answers are stored, but cannot lower the case, open
a tele-visit request or move the case down the queue. Only a clinician clears a floor, with a
reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from telespine.triage.types import Disposition

FloorSource = Literal["message", "diary", "check", "resurvey", "assessment", "exam", "override"]
FLOOR_SOURCES: tuple[str, ...] = ("message", "diary", "check", "resurvey", "assessment", "exam", "override")

# Levels a red flag raises a case to: each needs care in person (no tele-visit).
RED_FLAG_LEVELS = frozenset({Disposition.EMERGENCY, Disposition.URGENT, Disposition.PROMPT})

LEVEL = {d.value: d.level for d in Disposition}


def level_of(disposition: str) -> int:
    """1 (emergency) to 5; an unknown value counts as emergency."""
    return LEVEL.get(disposition, 1)


def more_urgent(a: str, b: str) -> str:
    """The more urgent of two dispositions (an unknown value counts as emergency)."""
    return a if level_of(a) <= level_of(b) else b


def is_red_flag_level(disposition: str) -> bool:
    """True for emergency, urgent and prompt (and any unknown value)."""
    return level_of(disposition) <= Disposition.PROMPT.level


@dataclass(frozen=True)
class FloorView:
    """What the rule needs of a stored floor."""

    level: str
    source: str
    raised_at: dt.datetime
    cleared: bool = False


@dataclass(frozen=True)
class OverrideView:
    """A clinician's latest override: its level, and whether it was set on the latest version."""

    level: str
    on_latest_version: bool


@dataclass(frozen=True)
class ShownLevels:
    """The level each view shows.

    patient: what the patient or parent is told, what the visit gate and patient API reads use.
    clinician: the queue, the chart and the clinicians' API reads. Both are at least the floor.
    """

    engine: str
    patient: str
    clinician: str
    floor: FloorView | None

    @property
    def held_by_floor(self) -> bool:
        """True when the floor, not the engine's latest result, sets what the patient sees."""
        return self.floor is not None and level_of(self.floor.level) < level_of(self.engine)


def active_floor(floors: Iterable[FloorView]) -> FloorView | None:
    """The most urgent floor not cleared (the earliest raised of equals), else None."""
    live = [f for f in floors if not f.cleared]
    if not live:
        return None
    return min(live, key=lambda f: (level_of(f.level), f.raised_at))


def shown_levels(engine: str, floors: Iterable[FloorView], override: OverrideView | None) -> ShownLevels:
    """The level of every view.

    - The patient sees the most urgent of: the engine's latest result, a clinician's override of
      the latest version, and the active floor. A clinician can raise it, never lower it below
      the engine's result.
    - The clinician sees their own override of the latest version (which may be less urgent than
      the engine's result: their clinical judgement), else the engine's result; never less
      urgent than the active floor. To go below a floor, a clinician clears it first.
    """
    floor = active_floor(floors)
    current = override if override is not None and override.on_latest_version else None
    patient = engine if current is None else more_urgent(engine, current.level)
    clinician = engine if current is None else current.level
    if floor is not None:
        patient = more_urgent(patient, floor.level)
        clinician = more_urgent(clinician, floor.level)
    return ShownLevels(engine=engine, patient=patient, clinician=clinician, floor=floor)
