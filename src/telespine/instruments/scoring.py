"""Scorers for the questionnaires, and helpers to compare scores over time."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from telespine.instruments.loader import InstrumentError, check_enabled, load_instrument
from telespine.instruments.models import Condition, Instrument, ScoreRecord

_OPS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "eq": operator.eq,
    "ge": operator.ge,
    "gt": operator.gt,
}

# Pain and PEG: a change of 2 points or 30% from baseline is clinically important
# (Farrar et al. 2001; Krebs et al. 2009).
IMPROVEMENT_POINTS = 2.0
IMPROVEMENT_FRACTION = 0.30
IMPROVEMENT_INSTRUMENTS = ("nrs", "peg")
_EPS = 1e-9


def item_points(inst: Instrument, responses: Mapping[str, object]) -> dict[str, int]:
    """Check every response against its item and return the points each scores."""
    expected = {i.id for i in inst.items}
    missing = expected - set(responses)
    extra = set(responses) - expected
    if missing or extra:
        raise InstrumentError(
            f"{inst.id}: missing answers {sorted(missing)}, unexpected answers {sorted(extra)}"
        )
    points: dict[str, int] = {}
    for item in inst.items:
        rs = inst.response_sets[item.response]
        answer = responses[item.id]
        if rs.kind == "numeric":
            # bool is an int in Python; a True answer is a bug, not a score of 1.
            if isinstance(answer, bool) or not isinstance(answer, int):
                raise InstrumentError(f"{inst.id}.{item.id}: expected a whole number, got {answer!r}")
            if rs.min is None or rs.max is None or not rs.min <= answer <= rs.max:
                raise InstrumentError(f"{inst.id}.{item.id}: {answer} is outside {rs.min}-{rs.max}")
            points[item.id] = answer
        else:
            by_code = {o.code: o.points for o in rs.options}
            if not isinstance(answer, str) or answer not in by_code:
                raise InstrumentError(f"{inst.id}.{item.id}: {answer!r} is not one of {sorted(by_code)}")
            points[item.id] = by_code[answer]
    return points


def _holds(cond: Condition, scores: Mapping[str, float]) -> bool:
    return _OPS[cond.op](scores[cond.scale], cond.value)


def score(
    instrument_id: str,
    responses: Mapping[str, int | str],
    taken_at: datetime,
    *,
    enabled_instruments: Collection[str] | None = None,
) -> ScoreRecord:
    """Score one completed questionnaire taken at taken_at (a timezone-aware time)."""
    check_enabled(instrument_id, enabled_instruments)
    if taken_at.tzinfo is None:
        raise InstrumentError("taken_at must carry a time zone")
    inst = load_instrument(instrument_id)
    points = item_points(inst, responses)
    scores: dict[str, float] = {}
    for scale in inst.scales:
        total = float(sum(points[i] for i in scale.items))
        scores[scale.id] = total / len(scale.items) if scale.method == "mean" else total
    category = next((c for c in inst.categories if all(_holds(w, scores) for w in c.when)), None)
    return ScoreRecord(
        instrument_id=inst.id,
        version=inst.version,
        scores=scores,
        primary_scale=inst.primary_scale,
        category=category.id if category else None,
        category_label=category.label if category else None,
        advice=category.advice if category else None,
        responses=dict(responses),
        taken_at=taken_at,
    )


class Change(BaseModel):
    """How a score moved between a baseline and a later record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instrument_id: str
    scale: str
    baseline: float
    current: float
    delta: float
    percent_change: float | None
    days: float


def compare(baseline: ScoreRecord, current: ScoreRecord, scale: str | None = None) -> Change:
    """Compare two records of the same instrument on one scale (the primary scale by default)."""
    if baseline.instrument_id != current.instrument_id:
        raise ValueError("cannot compare scores of different instruments")
    if current.taken_at < baseline.taken_at:
        raise ValueError("the baseline must be taken before the current record")
    name = scale or baseline.primary_scale
    before, after = baseline.scores[name], current.scores[name]
    delta = after - before
    return Change(
        instrument_id=baseline.instrument_id,
        scale=name,
        baseline=before,
        current=after,
        delta=delta,
        percent_change=None if before == 0 else 100.0 * delta / before,
        days=(current.taken_at - baseline.taken_at).total_seconds() / 86400.0,
    )


def trend(
    records: Iterable[ScoreRecord], instrument_id: str, scale: str | None = None
) -> list[tuple[datetime, float]]:
    """The scores of one instrument over time, oldest first."""
    chosen = sorted((r for r in records if r.instrument_id == instrument_id), key=lambda r: r.taken_at)
    return [(r.taken_at, r.scores[scale or r.primary_scale]) for r in chosen]


def clinically_important_improvement(baseline: ScoreRecord, current: ScoreRecord) -> bool:
    """True when pain or PEG fell by at least 2 points or at least 30% from baseline."""
    if baseline.instrument_id not in IMPROVEMENT_INSTRUMENTS:
        raise ValueError(f"no improvement threshold is defined for {baseline.instrument_id!r}")
    change = compare(baseline, current)
    fall = -change.delta
    if fall <= 0 or math.isclose(fall, 0.0, abs_tol=_EPS):
        return False
    # A small tolerance keeps 30% of e.g. 10/3 from failing on float rounding.
    if fall + _EPS >= IMPROVEMENT_POINTS:
        return True
    return fall + _EPS >= IMPROVEMENT_FRACTION * change.baseline
