"""The data files of issue 14 never write out an emergency number and cite only known sources."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from telespine.content.loader import load_sources
from telespine.triage.emergency import hard_coded_number

FILES = [
    ("telespine.care", "data/medicine_diary.yaml"),
    ("telespine.care", "data/activity.yaml"),
    ("telespine.program", "data/exercises.yaml"),
    ("telespine.program", "data/lessons.yaml"),
    ("telespine.program", "data/medicine_plan.yaml"),
]


def strings(node: Any) -> list[str]:
    """Every text in the document, except source keys (seed-000 is not a phone number)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() if k != "sources" for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return []


def source_lists(node: Any) -> list[list[str]]:
    found: list[list[str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "sources" and isinstance(value, list):
                found.append(value)
            else:
                found += source_lists(value)
    elif isinstance(node, list):
        for value in node:
            found += source_lists(value)
    return found


@pytest.mark.parametrize(("package", "name"), FILES)
def test_no_written_out_emergency_number_and_known_sources(package: str, name: str) -> None:
    doc = yaml.safe_load(resources.files(package).joinpath(name).read_text(encoding="utf-8"))
    for text in strings(doc):
        assert hard_coded_number(text) is None, text
    known = set(load_sources().sources)
    lists = source_lists(doc)
    assert lists
    for keys in lists:
        assert set(keys) <= known, keys
