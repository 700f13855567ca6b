"""The shipped guides: sections, reading grade, the pediatric voice and no doses, own words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from telespine.content import emergency_advice, list_guides, load_guide, patient_text
from telespine.content.model import REQUIRED_SECTIONS, Guide, RedFlagsSection
from telespine.content.readability import MAX_GRADE, guide_reading_grade, reading_grade
from telespine.content.text import section_sentences
from telespine.triage.types import Disposition

GUIDES = list_guides()
REPO = Path(__file__).resolve().parents[2]
SEED_TOOL = Path("/work/shared/tools/seed_overlap.py")

# Units and words that only appear next to a dose. A number right before any of them is a dose.
DOSE_WORDS = {
    "mg",
    "mcg",
    "ml",
    "g",
    "milligram",
    "milligrams",
    "microgram",
    "micrograms",
    "millilitre",
    "millilitres",
    "milliliter",
    "milliliters",
    "tablet",
    "tablets",
    "pill",
    "pills",
    "capsule",
    "capsules",
    "dose",
    "doses",
    "teaspoon",
    "teaspoons",
    "drops",
    "puffs",
    "times",
}
NEGATIONS = {"never", "not", "don't", "no"}


def _words(text: str) -> list[str]:
    cleaned = "".join(ch if ch.isalnum() or ch == "'" else " " for ch in text.lower().replace("\u2019", "'"))
    return cleaned.split()


def _has_number(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


def test_both_back_pain_guides_are_shipped() -> None:
    assert ("back-pain", "adult") in GUIDES
    assert ("back-pain", "pediatric") in GUIDES


@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_guide_has_every_section_in_reading_order(condition: str, audience: str) -> None:
    guide = load_guide(condition, audience)
    assert guide.condition == condition and guide.audience == audience
    ids = [s.id for s in guide.sections]
    assert [i for i in ids if i in REQUIRED_SECTIONS] == list(REQUIRED_SECTIONS)
    assert isinstance(guide.section("red-flags"), RedFlagsSection)


@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_reading_grade_is_8_or_lower(condition: str, audience: str) -> None:
    guide = load_guide(condition, audience)
    grade = guide_reading_grade(guide)
    print(f"\nFlesch-Kincaid grade of {condition}.{audience}: {grade:.1f}")
    assert 0 < grade <= MAX_GRADE
    for section in guide.sections:
        # One hard section hides easily in a long guide, so each section gets a looser cap too.
        section_grade = reading_grade(" ".join(section_sentences(guide, section)))
        assert section_grade <= MAX_GRADE + 1, f"section {section.id} reads at grade {section_grade:.1f}"


def test_reading_grade_tells_hard_text_from_easy_text() -> None:
    easy = "Your back hurts. Rest a bit. Walk a little each day. Call us if it gets worse."
    hard = (
        "Intervertebral discogenic pathophysiology necessitates comprehensive multidisciplinary "
        "evaluation, particularly considering radiological investigations and pharmacological "
        "interventions administered concomitantly."
    )
    assert reading_grade(easy) < 4 < MAX_GRADE < reading_grade(hard)


PEDIATRIC = [c for c, a in GUIDES if a == "pediatric"]


@pytest.fixture
def pediatric() -> Guide:
    return load_guide("back-pain", "pediatric")


@pytest.mark.parametrize("condition", PEDIATRIC)
def test_pediatric_guide_names_no_doses(condition: str) -> None:
    # An independent check of every discovered pediatric guide (the loader has its own).
    guide = load_guide(condition, "pediatric")
    words = _words(patient_text(guide) + " " + " ".join(guide.actions.for_(d) for d in Disposition))
    assert "mg" not in words
    for index, word in enumerate(words[:-1]):
        if _has_number(word):
            assert words[index + 1] not in DOSE_WORDS, f"dose-like text: {word} {words[index + 1]}"


@pytest.mark.parametrize("condition", PEDIATRIC)
def test_pediatric_guide_never_suggests_aspirin(condition: str) -> None:
    text = patient_text(load_guide(condition, "pediatric")).lower()
    sentences = [s for s in text.replace("!", ".").replace("?", ".").split(".") if "aspirin" in s]
    for sentence in sentences:
        assert NEGATIONS & set(_words(sentence)), f"aspirin named without a warning: {sentence!r}"


def test_pediatric_guide_speaks_to_the_parent(pediatric: Guide) -> None:
    text = patient_text(pediatric).lower()
    assert text.count("your child") >= 40
    for flag in pediatric.red_flags.flags:
        assert "your child" in flag.text.lower() or "your teenager" in flag.text.lower(), flag.id
    for action in ("emergency", "urgent", "prompt", "routine", "telemedicine"):
        assert "your child" in getattr(pediatric.actions, action).lower()


def test_adult_guide_speaks_to_the_adult() -> None:
    adult = load_guide("back-pain", "adult")
    assert "your child" not in patient_text(adult).lower()


@pytest.mark.parametrize(("condition", "audience"), GUIDES)
def test_guide_has_disclaimer_and_emergency_line(condition: str, audience: str) -> None:
    guide = load_guide(condition, audience)
    assert "emergency" in guide.emergency_line.lower()
    disclaimer = " ".join(section_sentences(guide, guide.section("disclaimer"))).lower()
    assert "not medical advice" in disclaimer or "not a substitute" in disclaimer


@pytest.mark.skipif(not SEED_TOOL.exists(), reason="the shared seed overlap tool is not on this machine")
def test_content_text_is_in_our_own_words() -> None:
    result = subprocess.run(
        [sys.executable, str(SEED_TOOL), "--root", str(REPO)], capture_output=True, text=True, check=False
    )
    ours = [
        line
        for line in result.stdout.splitlines()
        if "src/telespine/content/" in line or "tests/content/" in line or "docs/content.md" in line
    ]
    assert ours == []


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_emergency_advice_comes_from_the_guide(audience: str) -> None:
    guide = load_guide("back-pain", audience)
    advice = emergency_advice(audience)
    assert advice.from_guide and advice.line == guide.emergency_line and "call 911" in advice.line
    assert advice.signs == [f.text for f in guide.red_flags.flags if f.action.value == "emergency"]


def test_emergency_advice_survives_broken_or_missing_guides(tmp_path: Path) -> None:
    broken = tmp_path / "guides"
    broken.mkdir()
    (broken / "back-pain.adult.yaml").write_text("sections: [", encoding="utf-8")
    cases = [
        emergency_advice("adult", guides_dir=broken),
        emergency_advice("pediatric", guides_dir=broken),
        emergency_advice("adult", condition="no-such-thing"),
    ]
    for advice in cases:
        assert not advice.from_guide
        assert "emergency" in advice.line and len(advice.signs) >= 3
