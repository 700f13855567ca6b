"""S5: guide safety is checked when a guide loads, for every guide, not only by tests on the shipped files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from telespine.content import emergency_advice, list_guides, load_guide
from telespine.content.checks import aspirin_problems, check_guide, dose_problems
from telespine.content.loader import GUIDES_DIR, GuideError, load_guide_file

GUIDES = list_guides()
runner = CliRunner()


def _doc(folder: Path, audience: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((folder / f"back-pain.{audience}.yaml").read_text(encoding="utf-8"))
    return doc


def _write(folder: Path, doc: dict[str, Any]) -> Path:
    path = folder / f"{doc['condition']}.{doc['audience']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _section(doc: dict[str, Any], section_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in doc["sections"] if s["id"] == section_id)
    return found


def _flag(doc: dict[str, Any], flag_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in _section(doc, "red-flags")["flags"] if f["id"] == flag_id)
    return found


@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_every_discovered_guide_passes_the_load_checks(condition: str, audience: str) -> None:
    path = GUIDES_DIR / f"{condition}.{audience}.yaml"
    guide = load_guide_file(path)
    check_guide(path, guide)  # raises GuideError on any problem
    assert load_guide(condition, audience).red_flags.flags


def test_a_red_flag_softer_than_its_rule_is_rejected(guides_copy: Path) -> None:
    doc = _doc(guides_copy, "adult")
    _flag(doc, "saddle-numbness")["action"] = "routine"
    path = _write(guides_copy, doc)
    with pytest.raises(GuideError, match=r"says routine but rule adult\.cauda_equina is emergency") as info:
        load_guide_file(path)
    assert info.value.key is not None and info.value.key.endswith(".action")


def test_a_softer_red_flag_gives_safety_netting_not_the_guide(
    guides_copy: Path, guide_app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _doc(guides_copy, "adult")
    _flag(doc, "saddle-numbness")["action"] = "routine"
    _write(guides_copy, doc)
    monkeypatch.setenv("TELESPINE_GUIDES_DIR", str(guides_copy))
    result = runner.invoke(guide_app, ["guide", "back-pain", "--format", "md"])
    assert result.exit_code == 1
    assert "less urgent than the triage rules" in result.stderr
    assert "emergency department" in result.stderr and result.stdout == ""
    advice = emergency_advice("adult", guides_dir=guides_copy)
    assert not advice.from_guide


def test_a_red_flag_naming_an_unknown_rule_is_rejected(guides_copy: Path) -> None:
    doc = _doc(guides_copy, "adult")
    _flag(doc, "saddle-numbness")["rules"] = ["adult.cauda_equina", "adult.no_such_rule"]
    with pytest.raises(GuideError, match=r"names unknown rule 'adult\.no_such_rule'"):
        load_guide_file(_write(guides_copy, doc))


def test_an_adult_guide_may_not_name_a_child_only_rule(guides_copy: Path) -> None:
    doc = _doc(guides_copy, "adult")
    _flag(doc, "saddle-numbness")["rules"] = ["adult.cauda_equina", "child.neurology"]
    with pytest.raises(GuideError, match=r"child\.neurology applies to children only"):
        load_guide_file(_write(guides_copy, doc))


def test_broken_triage_rules_make_the_guide_unusable(
    guides_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-rules"
    empty.mkdir()
    monkeypatch.setenv("TELESPINE_RULES_DIR", str(empty))
    with pytest.raises(GuideError, match="the triage rules do not load"):
        load_guide_file(guides_copy / "back-pain.adult.yaml")


def test_a_section_citing_a_source_missing_from_the_reference_list_is_rejected(guides_copy: Path) -> None:
    doc = _doc(guides_copy, "adult")
    _section(doc, "summary")["sources"].append("pmm-paeds")  # known key, but not in this guide's list
    with pytest.raises(GuideError, match="cites pmm-paeds, which the 'sources' section does not list"):
        load_guide_file(_write(guides_copy, doc))


@pytest.mark.parametrize(
    "sentence",
    [
        "Give 400 mg ibuprofen.",
        "Give your child 400mg of ibuprofen.",
        "Two tablets of paracetamol can help.",
        "Give 5 ml of the syrup.",
        "Use 10 mg/kg of the medicine.",
        "Give the medicine every 6 hours.",
        "Give ibuprofen every 4 to 6 hours if needed.",
        "Paracetamol can be given 4 times a day.",
        "Give the painkiller twice a day.",
        "Half a tablet is enough for a small child.",
    ],
)
def test_pediatric_guides_reject_doses(guides_copy: Path, sentence: str) -> None:
    doc = _doc(guides_copy, "pediatric")
    _section(doc, "summary")["paragraphs"].append(sentence)
    with pytest.raises(GuideError, match="must not give a dose") as info:
        load_guide_file(_write(guides_copy, doc))
    assert info.value.key is not None and info.value.key.startswith("sections[0].paragraphs")


@pytest.mark.parametrize(
    "sentence",
    [
        "Give 400 mg ibuprofen, or aspirin.",
        "Aspirin is a good choice for back pain.",
        "If a medicine does not help, try aspirin.",
        "You can use aspirin or ibuprofen.",
    ],
)
def test_aspirin_suggestions_are_found(sentence: str) -> None:
    assert aspirin_problems(sentence), sentence


@pytest.mark.parametrize(
    ("sentence", "problem"),
    [
        ("Give 400 mg ibuprofen, or aspirin.", "must not give a dose"),
        ("Aspirin works well for a sore back.", "aspirin only to warn"),
    ],
)
def test_the_auditors_pediatric_edits_are_rejected_at_load(
    guides_copy: Path, sentence: str, problem: str
) -> None:
    doc = _doc(guides_copy, "pediatric")
    _section(doc, "summary")["paragraphs"].append(sentence)
    with pytest.raises(GuideError, match=problem):
        load_guide_file(_write(guides_copy, doc))


@pytest.mark.parametrize(
    "sentence",
    [
        "Never give aspirin to anyone under 16.",
        "Do not give your child aspirin.",
        "Aspirin is not safe for children.",
        "Contact your child's doctor in the next 1 to 3 days.",
        "Most children feel better within 2 weeks.",
        "Ask how much medicine to give for your child's age and weight.",
        "Get up and move every 30 minutes.",
        "Stretch 3 times a day.",
    ],
)
def test_safe_pediatric_text_passes(guides_copy: Path, sentence: str) -> None:
    assert dose_problems(sentence) == [] and aspirin_problems(sentence) == []
    doc = _doc(guides_copy, "pediatric")
    _section(doc, "summary")["paragraphs"].append(sentence)
    assert load_guide_file(_write(guides_copy, doc)).audience == "pediatric"


def test_adult_guides_may_talk_about_doses_with_a_professional(guides_copy: Path) -> None:
    doc = _doc(guides_copy, "adult")
    _section(doc, "summary")["paragraphs"].append("Take no more than 2 tablets at a time.")
    assert load_guide_file(_write(guides_copy, doc)).audience == "adult"


@pytest.mark.parametrize("number", ["911", "999", "112", "111", "000"])
@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_a_written_out_emergency_number_is_rejected(guides_copy: Path, audience: str, number: str) -> None:
    doc = _doc(guides_copy, audience)
    doc["emergency_line"] = f"In an emergency, call {number} or go to an emergency department."
    with pytest.raises(GuideError, match=f"names the emergency number {number}") as info:
        load_guide_file(_write(guides_copy, doc))
    assert info.value.key == "emergency_line"


# Written independently of checks.py's own word lists: common ways a dose is written.
UNITS = ["mg", "ml", "mcg", "tablets", "tablet", "pills", "capsules", "drops", "puffs", "teaspoons", "doses"]


@settings(max_examples=60, deadline=None)
@given(
    amount=st.one_of(st.integers(min_value=1, max_value=2000).map(str), st.sampled_from(["two", "half"])),
    unit=st.sampled_from(UNITS),
    joined=st.booleans(),
    medicine=st.sampled_from(["ibuprofen", "paracetamol", "the medicine", "the syrup"]),
)
def test_any_amount_with_a_unit_is_a_dose(amount: str, unit: str, joined: bool, medicine: str) -> None:
    written = f"{amount}{unit}" if joined and amount.isdigit() else f"{amount} {unit}"
    assert dose_problems(f"Give your child {written} of {medicine}.")


@settings(max_examples=40, deadline=None)
@given(hours=st.integers(min_value=1, max_value=24), medicine=st.sampled_from(["ibuprofen", "medicine"]))
def test_a_medicine_on_a_timetable_is_a_dose(hours: int, medicine: str) -> None:
    assert dose_problems(f"Give the {medicine} every {hours} hours.")
    assert dose_problems(f"Give the {medicine} {hours} times a day.")


def test_a_crash_while_loading_the_rules_is_a_guide_error(
    guides_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash() -> None:
        raise RuntimeError("bug in the rule loader")

    monkeypatch.setattr("telespine.content.checks.load_ruleset", crash)
    with pytest.raises(GuideError, match="bug in the rule loader"):
        load_guide_file(guides_copy / "back-pain.adult.yaml")
