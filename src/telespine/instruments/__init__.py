"""Validated questionnaires as data (YAML), their scorers and score comparisons."""

from telespine.instruments.loader import (
    INSTRUMENT_IDS,
    InstrumentDisabledError,
    InstrumentError,
    list_instruments,
    load_instrument,
    parse_instrument,
)
from telespine.instruments.models import Instrument, ScoreRecord
from telespine.instruments.scoring import (
    Change,
    clinically_important_improvement,
    compare,
    score,
    trend,
)

__all__ = [
    "INSTRUMENT_IDS",
    "Change",
    "Instrument",
    "InstrumentDisabledError",
    "InstrumentError",
    "ScoreRecord",
    "clinically_important_improvement",
    "compare",
    "list_instruments",
    "load_instrument",
    "parse_instrument",
    "score",
    "trend",
]
