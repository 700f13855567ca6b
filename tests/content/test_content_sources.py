"""sources.yaml holds every key of CONTRACTS.md, and every `sources:` list in the package uses known keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from telespine.content.loader import GuideError, load_sources
from telespine.content.model import SourceRegistry

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "telespine"
CONTRACT_KEYS = [
    "seed-000",
    "seed-001",
    "seed-002",
    "seed-003",
    "seed-004",
    "nice-ng59",
    "nice-cg75",
    "nice-ng156",
    "nice-ng65",
    "bmj-bp-ces",
    "girft-ces-2023",
    "downie-bmj-2013",
    "ifompt-2020",
    "asas-2009",
    "yusuf-2019",
    "nhs-glos-infection",
    "pmm-paeds",
    "jfp-2020",
    "paeds-red-flags",
    "keele-startback",
]


def _source_lists(node: Any, where: str) -> list[tuple[str, list[str]]]:
    """Every list of strings stored under a key named `sources`, with where it is."""
    found: list[tuple[str, list[str]]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "sources" and isinstance(value, list) and all(isinstance(v, str) for v in value):
                found.append((f"{where}.sources", value))
            else:
                found += _source_lists(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _source_lists(value, f"{where}[{index}]")
    return found


def test_every_contract_key_has_a_full_reference() -> None:
    sources = load_sources().sources
    for key in CONTRACT_KEYS:
        assert key in sources, key
        assert sources[key].title and sources[key].publisher


def test_contract_keys_match_the_contracts_document() -> None:
    text = (ROOT / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
    for key in CONTRACT_KEYS:
        assert f"`{key}`" in text


def test_every_sources_list_in_the_package_uses_known_keys() -> None:
    known = set(load_sources().sources)
    checked = 0
    for path in sorted(PACKAGE.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for where, keys in _source_lists(doc, path.relative_to(ROOT).as_posix()):
            checked += 1
            unknown = [k for k in keys if k not in known]
            assert not unknown, f"{where}: unknown source keys {unknown}"
    assert checked > 20


def test_registry_is_strict(tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text(
        "version: '1'\nsources:\n  x:\n    title: T\n    publisher: P\n    doi: '10.1/x'\n", encoding="utf-8"
    )
    with pytest.raises(GuideError, match="unknown key 'doi'"):
        load_sources(bad)


def test_urls_are_https() -> None:
    with pytest.raises(ValueError, match="https"):
        SourceRegistry.model_validate(
            {"version": "1", "sources": {"x": {"title": "T", "publisher": "P", "url": "http://x.org"}}}
        )
