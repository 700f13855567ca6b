"""Merge new findings into a findings document, only ever making it more urgent."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from telespine.datafile import load_yaml_text
from telespine.errors import TelespineError

FindingValue = bool | str | int | float


class MergeOrder(BaseModel):
    """Per finding, its values from least to most urgent (the data file merge_order.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    sources: list[str] = Field(min_length=1)
    kinds: dict[str, list[bool | str]]
    findings: dict[str, str]
    numeric: list[str]

    @model_validator(mode="after")
    def _kinds_exist(self) -> MergeOrder:
        for name, kind in self.findings.items():
            if kind not in self.kinds:
                raise ValueError(f"finding {name!r} uses unknown kind {kind!r}")
        for kind, values in self.kinds.items():
            if len(set(map(repr, values))) != len(values):
                raise ValueError(f"kind {kind!r} repeats a value")
        return self

    def order_of(self, finding: str) -> list[bool | str]:
        """The least-to-most urgent values of a finding; KeyError for a finding we may not merge."""
        return self.kinds[self.findings[finding]]


class MergeError(TelespineError, ValueError):
    """An update names a finding or value that cannot be merged safely."""


@cache
def load_merge_order() -> MergeOrder:
    """The packaged merge order (cached)."""
    text = resources.files("telespine.care").joinpath("data/merge_order.yaml").read_text(encoding="utf-8")
    return MergeOrder.model_validate(load_yaml_text(text, "merge_order.yaml"))


def _rank(order: list[bool | str], value: object, finding: str) -> int:
    # `True == 1` in Python, so compare type and value to keep flags and numbers apart.
    for index, candidate in enumerate(order):
        if type(candidate) is type(value) and candidate == value:
            return index
    raise MergeError(f"{finding}: value {value!r} is not one of {order!r}")


def merge_findings(
    base: Mapping[str, Any], updates: Mapping[str, FindingValue], order: MergeOrder | None = None
) -> dict[str, Any]:
    """Return base with updates applied where they are more urgent; never lowers any finding.

    An absent finding counts as its least urgent value ("asked and not present").
    """
    rules = order if order is not None else load_merge_order()
    merged = dict(base)
    for name, new in updates.items():
        if name in rules.numeric:
            if isinstance(new, bool) or not isinstance(new, int | float):
                raise MergeError(f"{name}: expected a number, got {new!r}")
            old = merged.get(name)
            if not isinstance(old, int | float) or isinstance(old, bool) or new > old:
                merged[name] = new
            continue
        if name not in rules.findings:
            raise MergeError(f"{name}: not a finding that follow-up data may change")
        values = rules.order_of(name)
        new_rank = _rank(values, new, name)
        old_rank = _rank(values, merged[name], name) if name in merged else 0
        if new_rank > old_rank:
            merged[name] = new
    return merged
