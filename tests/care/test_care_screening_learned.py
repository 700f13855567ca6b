"""The learned review layer (rules 2.4.0): it may only send a text the rules send to nobody to a
person at normal priority; it never sets a finding, raises the net or removes a rule's flag; a
model whose files are not the recorded ones is never used."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from telespine.care.screening import screen_message
from telespine.care.screening.learned import files_sha256, load_review_model, model_dir
from telespine.care.screening.matching import get_pipeline
from telespine.care.screening.rules import ReviewModelSpec, load_screening_rules
from telespine.care.screening.screen import LEARNED_REVIEW


def _spec() -> ReviewModelSpec:
    spec = load_screening_rules().review_model
    assert spec is not None
    return spec


def test_the_packaged_model_is_the_recorded_one_and_every_result_names_it() -> None:
    spec = _spec()
    assert files_sha256(model_dir(spec)) == spec.sha256
    result = screen_message("My back is a bit sore today", "adult")
    assert result.review_model == f"{spec.version}+{spec.sha256[:12]}"
    assert all(f.file.startswith("dev_") for f in spec.trained_on)  # never the held-out test part


def test_a_text_the_rules_miss_goes_to_a_person_at_normal_priority() -> None:
    text = "Been feeling rough, sweaty at night and off my food, back worse"
    without = screen_message(text, "adult", pipeline=dataclasses.replace(get_pipeline(), review=None))
    assert not without.needs_review  # the rules alone send it to nobody
    result = screen_message(text, "adult")
    assert result.needs_review and not result.safety_net
    assert [m.concept for m in result.review] == [LEARNED_REVIEW]
    assert result.findings_update() == {}  # the model sets no finding


@pytest.mark.parametrize("kind", ["message", "diary"])
@pytest.mark.parametrize(
    "text", ["Walked 20 minutes today, felt good.", "Did my physio stretches and had a nap. Back a 3."]
)
def test_everyday_notes_stay_unflagged(text: str, kind: str) -> None:
    assert not screen_message(text, "adult", kind=kind).needs_review  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "I wet myself this morning and my back is agony",
        "Can't feel my bum when I wipe",
        "My legs keep giving way since yesterday",
        "Sore back, took ibuprofen",
    ],
)
def test_the_model_never_changes_what_the_rules_found(text: str) -> None:
    plain = screen_message(text, "adult", pipeline=dataclasses.replace(get_pipeline(), review=None))
    both = screen_message(text, "adult")
    assert both.flags == plain.flags and both.safety_net == plain.safety_net
    assert both.findings_update() == plain.findings_update()
    if plain.needs_review:
        assert LEARNED_REVIEW not in {m.concept for m in both.review}  # it reads only what nobody reads


def test_changed_model_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec()
    copy = tmp_path / "review_model"
    shutil.copytree(model_dir(spec), copy)
    (copy / "meta.json").write_text((copy / "meta.json").read_text() + " ", encoding="utf-8")
    monkeypatch.setattr("telespine.care.screening.learned.model_dir", lambda _spec: copy)
    with pytest.raises(ValueError, match="review model files changed"):
        load_review_model(spec)


def test_the_settings_are_strict() -> None:
    good = _spec().model_dump()
    with pytest.raises(ValidationError):
        ReviewModelSpec.model_validate({**good, "note": "an unknown key"})
    with pytest.raises(ValidationError):
        ReviewModelSpec.model_validate({**good, "threshold": 1.5})
    test_part = {"file": "test.jsonl", "sha256": "0" * 64, "rows": 1}
    with pytest.raises(ValidationError):
        ReviewModelSpec.model_validate({**good, "trained_on": [test_part]})


def test_a_model_that_fails_while_reading_fails_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    model = get_pipeline().review
    assert model is not None

    def broken(*_: object) -> float:
        raise RuntimeError("model broke")

    monkeypatch.setattr(type(model), "probability", lambda self, *a: broken())
    result = screen_message("My back is a bit sore today", "adult")
    assert result.status == "error" and result.needs_review and result.safety_net


def test_a_probability_that_is_no_number_asks_for_a_person(monkeypatch: pytest.MonkeyPatch) -> None:
    model = get_pipeline().review
    assert model is not None
    monkeypatch.setattr(type(model), "probability", lambda self, *a: float("nan"))
    result = screen_message("My back is a bit sore today", "adult")
    assert result.needs_review and not result.safety_net
    assert [m.concept for m in result.review] == [LEARNED_REVIEW]


def test_a_pipeline_that_cannot_load_its_model_fails_safe_and_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    from telespine.care.screening import matching

    calls: list[int] = []

    def refuse(_rules: object) -> object:
        calls.append(1)
        raise ValueError("review model files changed")

    monkeypatch.setattr(matching, "_pipeline", None)
    monkeypatch.setattr(matching, "_failed", None)
    monkeypatch.setattr(matching, "build_pipeline", refuse)
    first = screen_message("My back is a bit sore today", "adult")
    second = screen_message("My back is a bit sore today", "adult")
    assert first.status == second.status == "error" and first.safety_net and second.safety_net
    assert calls == [1]  # the second message does not try to build it again at once


def test_a_model_made_with_another_spacy_is_refused() -> None:
    spec = _spec().model_copy(update={"spacy_version": "2.0.0"})
    with pytest.raises(ValueError, match=r"made with spaCy 2\.0\.0"):
        load_review_model(spec)
