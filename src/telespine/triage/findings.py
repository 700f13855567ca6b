"""Findings: the JSON schema, what kind each finding is, and strict validation."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from telespine.errors import TelespineError

if TYPE_CHECKING:  # jsonschema is imported only when a document fails the fast check
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

FindingKind = Literal["flag", "course", "enum", "number"]

# Values that mean "not present"; a rule may never test for them because an absent key means the same.
ABSENCE_VALUES = frozenset({"none", "normal"})
UNKNOWN = "unknown"


class FindingsError(TelespineError, ValueError):
    """A findings document that breaks the schema; names the field and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class FindingSpec:
    """One finding of the schema: its kind and, for enums and courses, the allowed values."""

    name: str
    kind: FindingKind
    values: tuple[str, ...] = ()


@cache
def findings_schema() -> dict[str, Any]:
    """The packaged copy of findings.schema.json."""
    text = resources.files("telespine.triage").joinpath("findings.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    """The reference validator (Python jsonschema): its errors give the detailed messages."""
    from jsonschema import Draft202012Validator

    schema = findings_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def _fast_is_valid() -> Callable[[object], bool] | None:
    """jsonschema-rs compiled from the same schema (its is_valid only); None when not installed.

    Only a "valid" answer is trusted: anything it rejects, or cannot convert (a non-string key),
    goes to the reference validator, which decides and words the error. Tests check on generated
    documents that it never accepts what the reference rejects.
    """
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a dependency; the reference path still works
        return None
    return jsonschema_rs.Draft202012Validator(findings_schema()).is_valid


@cache
def finding_specs() -> dict[str, FindingSpec]:
    """Every finding of the schema, in schema order, with its kind."""
    schema = findings_schema()
    specs: dict[str, FindingSpec] = {}
    for name, prop in schema["properties"].items():
        ref = prop.get("$ref", "")
        if ref == "#/$defs/flag":
            specs[name] = FindingSpec(name, "flag")
        elif ref == "#/$defs/course":
            values = tuple(str(v) for v in schema["$defs"]["course"]["enum"])
            specs[name] = FindingSpec(name, "course", values)
        elif "enum" in prop:
            specs[name] = FindingSpec(name, "enum", tuple(str(v) for v in prop["enum"]))
        elif prop.get("type") == "number":
            specs[name] = FindingSpec(name, "number")
        else:  # a schema change this module does not understand must not pass silently
            raise RuntimeError(f"findings schema: unsupported property {name!r}")
    return specs


def _field_of(err: ValidationError) -> str:
    error: Any = err  # the stubs type these attributes as maybe-unset; they are set for iter_errors()
    if error.validator == "additionalProperties":
        # str keys: a dict from Python code may mix in other key types, which do not sort with str
        extra = sorted(map(str, set(error.instance) - set(error.schema.get("properties", {}))))
        return extra[0] if extra else "(document)"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return missing[0] if missing else "(document)"
    return ".".join(str(p) for p in error.absolute_path) or "(document)"


def _problem_of(err: ValidationError) -> str:
    error: Any = err
    if error.validator == "additionalProperties":
        return "unknown finding (not in the findings schema)"
    if error.validator == "required":
        return "required finding is missing"
    if error.validator == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        return f"value {json.dumps(error.instance)} is not allowed; use one of {allowed}"
    if error.validator in {"minimum", "maximum"}:
        word = "below the minimum" if error.validator == "minimum" else "above the maximum"
        return f"value {error.instance} is {word} {error.validator_value}"
    if error.validator == "type":
        return f"value {json.dumps(error.instance)} must be of type {error.validator_value}"
    return str(error.message)


def validate_findings(doc: object) -> dict[str, Any]:
    """Check doc against the findings schema and return a copy; raise FindingsError otherwise."""
    if not isinstance(doc, dict):
        raise FindingsError("(document)", "findings must be a JSON object")
    fast = _fast_is_valid()
    if fast is not None:
        try:
            valid = fast(doc)
        except Exception:  # e.g. a key that is not a string: let the reference validator judge it
            valid = False
        if valid:
            for key, value in doc.items():
                if isinstance(value, float) and not math.isfinite(value):
                    raise FindingsError(key, "value must be a finite number")
            return dict(doc)
    return _validate_reference(doc)


def _validate_reference(doc: dict[Any, Any]) -> dict[str, Any]:
    """The detailed check with Python jsonschema: the first problem, in a stable order."""
    errors = sorted(
        _validator().iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), str(e.validator))
    )
    if errors:
        error = errors[0]
        field = _field_of(error)
        raise FindingsError(field, _problem_of(error))
    for key, value in doc.items():
        # JSON allows NaN/Infinity through Python's parser and the schema's range checks miss them.
        if isinstance(value, float) and not math.isfinite(value):
            raise FindingsError(key, "value must be a finite number")
    return dict(doc)


MAX_DEPTH = 8


class _Rejected(Exception):
    """Raised inside the JSON parser's hooks; turned into FindingsError by loads_findings."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class _NonFinite:
    """Stands in for NaN/Infinity/1e999 while parsing so the error can name the key that held it."""

    literal: str


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:  # Python's default keeps the last one, which can hide a "yes" behind a "no"
            raise _Rejected(key, "duplicate key in the JSON object")
        if isinstance(value, _NonFinite):
            raise _Rejected(key, f"{value.literal} is not a finite number")
        out[key] = value
    return out


def _too_deep(value: object, limit: int) -> bool:
    """True when containers nest deeper than limit (iterative: no recursion on hostile input)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def loads_findings(text: str | bytes, max_depth: int = MAX_DEPTH) -> object:
    """Parse one JSON value strictly: no duplicate keys, NaN/Infinity or deep nesting; BOM allowed."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FindingsError("(document)", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    leftover: list[str] = []  # non-finite numbers outside any object member (in a list, or alone)

    def finite(literal: str) -> float | _NonFinite:
        number = float(literal)
        if math.isfinite(number):
            return number
        leftover.append(literal)  # 1e999 parses to infinity, which no range check can judge
        return _NonFinite(literal)

    too_deep = FindingsError("(document)", f"JSON nested more than {max_depth} levels deep")
    try:
        value: object = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=finite, parse_float=finite
        )
    except _Rejected as exc:
        raise FindingsError(exc.field, exc.problem) from None
    except json.JSONDecodeError as exc:
        raise FindingsError(
            "(document)", f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:  # the C parser stops hostile nesting (about 1,000 deep) by itself
        raise too_deep from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise FindingsError("(document)", f"not valid JSON ({exc})") from None
    if leftover:
        raise FindingsError("(document)", f"{leftover[0]} is not a finite number")
    # Counting brackets is C speed; only a document with more of them than the limit is walked.
    if text.count("[") + text.count("{") > max_depth and _too_deep(value, max_depth):
        raise too_deep
    return value
