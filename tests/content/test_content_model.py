"""The guide schema and the strict loader: unknown keys, missing sections and bad sources fail clearly."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telespine.content.loader import GUIDES_DIR, GuideError, load_guide_file
from telespine.content.model import REQUIRED_SECTIONS, is_slug
from telespine.content.schema import SCHEMA_FILE, guide_json_schema, schema_text


def _doc(guides: Path, audience: str = "adult") -> dict[str, Any]:
    doc = yaml.safe_load((guides / f"back-pain.{audience}.yaml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _write(guides: Path, doc: dict[str, Any], name: str = "back-pain.adult.yaml") -> Path:
    path = guides / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_schema_file_matches_the_model() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "guide.schema.json is stale: run python -m telespine.content.schema"
    )


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_json_schema_accepts_the_guides_and_rejects_unknown_keys(guides_copy: Path, audience: str) -> None:
    validator = jsonschema.Draft202012Validator(guide_json_schema())
    doc = _doc(guides_copy, audience)
    validator.validate(doc)
    doc["sections"][0]["colour"] = "red"
    assert not validator.is_valid(doc)


def test_unknown_top_level_key_names_file_and_key(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    doc["summery"] = "typo"
    path = _write(guides_copy, doc)
    with pytest.raises(GuideError) as info:
        load_guide_file(path)
    assert info.value.path == str(path)
    assert "unknown key 'summery'" in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_nested_key_names_where_it_is(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    flags_index = next(i for i, s in enumerate(doc["sections"]) if s["id"] == "red-flags")
    doc["sections"][flags_index]["flags"][2]["urgency"] = "high"
    path = _write(guides_copy, doc)
    with pytest.raises(GuideError) as info:
        load_guide_file(path)
    assert info.value.key is not None
    assert f"sections[{flags_index}]" in info.value.key
    assert "flags[2]" in info.value.key
    assert "unknown key 'urgency'" in info.value.problem


@pytest.mark.parametrize("section_id", list(REQUIRED_SECTIONS))
def test_every_required_section_is_required(guides_copy: Path, section_id: str) -> None:
    doc = _doc(guides_copy)
    doc["sections"] = [s for s in doc["sections"] if s["id"] != section_id]
    # Keep the list long enough that only the missing id can be the complaint.
    doc["sections"].append(
        {"id": "extra", "kind": "text", "title": "X", "sources": ["seed-000"], "paragraphs": ["Text."]}
    )
    path = _write(guides_copy, doc)
    with pytest.raises(GuideError, match=f"missing sections: {section_id}"):
        load_guide_file(path)


def test_duplicate_section_id_is_rejected(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    doc["sections"].append(dict(doc["sections"][0]))
    with pytest.raises(GuideError, match="appears twice"):
        load_guide_file(_write(guides_copy, doc))


def test_section_of_the_wrong_kind_is_rejected(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    summary = doc["sections"][0]
    assert summary["id"] == "summary"
    doc["sections"][0] = {
        "id": "summary",
        "kind": "list",
        "title": "S",
        "sources": ["seed-000"],
        "items": ["One."],
    }
    with pytest.raises(GuideError, match="must be of kind 'text'"):
        load_guide_file(_write(guides_copy, doc))


def test_unknown_source_key_is_rejected(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    doc["sections"][3]["sources"] = ["seed-000", "made-up-2099"]
    with pytest.raises(GuideError, match="unknown source 'made-up-2099'") as info:
        load_guide_file(_write(guides_copy, doc))
    assert info.value.key == "sections[3].sources"


def test_section_without_sources_is_rejected(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    doc["sections"][4]["sources"] = []
    with pytest.raises(GuideError, match="sources"):
        load_guide_file(_write(guides_copy, doc))


def test_red_flag_cannot_call_for_telemedicine(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    flags = next(s for s in doc["sections"] if s["id"] == "red-flags")["flags"]
    flags[0]["action"] = "telemedicine"
    with pytest.raises(GuideError, match="cannot call for telemedicine"):
        load_guide_file(_write(guides_copy, doc))


def test_red_flag_action_must_be_a_disposition(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    flags = next(s for s in doc["sections"] if s["id"] == "red-flags")["flags"]
    flags[0]["action"] = "soon"
    with pytest.raises(GuideError, match="action"):
        load_guide_file(_write(guides_copy, doc))


def test_red_flag_needs_a_rule_id_of_the_policy_form(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    flags = next(s for s in doc["sections"] if s["id"] == "red-flags")["flags"]
    flags[0]["rules"] = ["cauda_equina"]
    with pytest.raises(GuideError, match=r"not an adult\.\* or child\.\* rule id"):
        load_guide_file(_write(guides_copy, doc))
    flags[0]["rules"] = []
    with pytest.raises(GuideError, match="rules"):
        load_guide_file(_write(guides_copy, doc))


def test_file_name_must_match_condition_and_audience(guides_copy: Path) -> None:
    doc = _doc(guides_copy)
    path = _write(guides_copy, doc, "neck-pain.adult.yaml")
    with pytest.raises(GuideError, match=r"file name must be 'back-pain\.adult\.yaml'"):
        load_guide_file(path)


@pytest.mark.parametrize("text", ["sections: [unclosed", "- just\n- a list\n", ""])
def test_broken_yaml_or_wrong_shape_is_a_guide_error(guides_copy: Path, text: str) -> None:
    path = guides_copy / "back-pain.adult.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GuideError) as info:
        load_guide_file(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("red-flags", True),
        ("back-pain", True),
        ("a1", True),
        ("Red-flags", False),
        ("red--flags", False),
        ("-x", False),
        ("x_y", False),
        ("", False),
        ("é", False),
    ],
)
def test_slug_rule(value: str, ok: bool) -> None:
    assert is_slug(value) is ok


def test_schema_file_is_valid_json_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False


_ORIGINAL = yaml.safe_load((GUIDES_DIR / "back-pain.adult.yaml").read_text(encoding="utf-8"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    section=st.integers(min_value=0, max_value=len(REQUIRED_SECTIONS) - 1),
    key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
)
def test_any_unknown_section_key_is_rejected_by_name(guides_copy: Path, section: int, key: str) -> None:
    doc = copy.deepcopy(_ORIGINAL)  # the fixture's folder is shared by all examples: start clean
    if key in doc["sections"][section] or key in {
        "id",
        "kind",
        "title",
        "sources",
        "paragraphs",
        "intro",
        "items",
        "outro",
        "flags",
    }:
        return  # a known key: not what this test is about
    doc["sections"][section][key] = "x"
    with pytest.raises(GuideError) as info:
        load_guide_file(_write(guides_copy, doc))
    assert info.value.problem == f"unknown key {key!r}"
    assert info.value.key is not None and info.value.key.startswith(f"sections[{section}]")
