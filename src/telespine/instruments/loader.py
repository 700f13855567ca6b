"""Strict loader of the questionnaire data files in instruments/data/."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from importlib import resources

from pydantic import ValidationError

from telespine.datafile import load_yaml_text
from telespine.errors import DataFileError, TelespineError
from telespine.instruments.models import Instrument

INSTRUMENT_IDS = ("nrs", "peg", "startback", "phq2", "gad2")


class InstrumentError(TelespineError):
    """A questionnaire data file or a set of responses is invalid."""


class InstrumentDisabledError(InstrumentError):
    """The deployment has switched this instrument off (enabled_instruments)."""


def parse_instrument(text: str, name: str = "<string>") -> Instrument:
    """Validate the YAML text of one instrument; raise InstrumentError on any problem."""
    try:
        doc = load_yaml_text(text, name)
    except DataFileError as exc:
        raise InstrumentError(f"{name}: not valid YAML: {exc}") from exc
    try:
        return Instrument.model_validate(doc)
    except ValidationError as exc:
        raise InstrumentError(f"{name}: {exc}") from exc


@cache
def load_instrument(instrument_id: str) -> Instrument:
    """Load one instrument by id from the package data (cached)."""
    if instrument_id not in INSTRUMENT_IDS:
        raise InstrumentError(f"unknown instrument {instrument_id!r}")
    name = f"{instrument_id}.yaml"
    text = resources.files("telespine.instruments").joinpath("data", name).read_text(encoding="utf-8")
    inst = parse_instrument(text, name)
    if inst.id != instrument_id:
        raise InstrumentError(f"{name}: id {inst.id!r} does not match the file name")
    return inst


def list_instruments(enabled_instruments: Collection[str] | None = None) -> list[Instrument]:
    """All instruments, or only those a deployment has enabled (None means all)."""
    return [
        load_instrument(i) for i in INSTRUMENT_IDS if enabled_instruments is None or i in enabled_instruments
    ]


def check_enabled(instrument_id: str, enabled_instruments: Collection[str] | None) -> None:
    """Raise InstrumentDisabledError when a deployment has switched this instrument off."""
    if enabled_instruments is not None and instrument_id not in enabled_instruments:
        raise InstrumentDisabledError(f"instrument {instrument_id!r} is switched off in this deployment")
