"""The one base class of telespine's domain errors.

Every error a domain package raises on purpose (a rule file the loader refuses, a guide that
does not load, findings that fail validation, a data file with a duplicate key ...) derives from
`TelespineError`, so an adapter has one failure boundary: catch `TelespineError` for the errors
the domain means, and anything else is a bug that still ends in the emergency safety net.
"""

from __future__ import annotations


class TelespineError(Exception):
    """Base class of every error a telespine domain package raises on purpose."""


class DataFileError(TelespineError, ValueError):
    """A data file (YAML) that cannot be read or parsed strictly."""


class ClinicalFailure(TelespineError, RuntimeError):
    """A domain package failed where no answer is safe: the caller shows the emergency safety net."""
