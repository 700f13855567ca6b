"""Adding a condition is adding a file: the loader, search and CLI discover guides/*.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from telespine.content import list_guides, load_guide, render_html, search_guides
from telespine.content.loader import UnknownGuideError


def _add_neck_pain(guides: Path) -> None:
    doc = yaml.safe_load((guides / "back-pain.adult.yaml").read_text(encoding="utf-8"))
    doc["condition"] = "neck-pain"
    doc["title"] = "Neck pain: can a video visit help?"
    doc["sections"][0]["paragraphs"] = ["A stiff neck after sleeping badly is common and settles soon."]
    (guides / "neck-pain.adult.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def test_new_file_is_a_new_guide(guides_copy: Path) -> None:
    _add_neck_pain(guides_copy)
    (guides_copy / "notes.txt").write_text("not a guide", encoding="utf-8")
    (guides_copy / "README.yaml").write_text("not: a guide", encoding="utf-8")
    assert list_guides(guides_copy) == [
        ("back-pain", "adult"),
        ("back-pain", "pediatric"),
        ("neck-pain", "adult"),
    ]
    guide = load_guide("neck-pain", "adult", guides_copy)
    assert guide.title.startswith("Neck pain")
    assert "Neck pain" in render_html(guide)
    hits = search_guides("stiff neck sleeping", guides_copy)
    assert hits[0].condition == "neck-pain" and hits[0].section_id == "summary"


def test_shipped_folder_does_not_see_the_temporary_guide(guides_copy: Path) -> None:
    _add_neck_pain(guides_copy)
    assert ("neck-pain", "adult") not in list_guides()
    with pytest.raises(UnknownGuideError) as info:
        load_guide("neck-pain", "adult")
    assert info.value.choices == ["back-pain"]


def test_cli_choices_come_from_the_discovered_files(
    guide_app: typer.Typer, guides_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_neck_pain(guides_copy)
    monkeypatch.setenv("TELESPINE_GUIDES_DIR", str(guides_copy))
    runner = CliRunner()
    listed = runner.invoke(guide_app, ["guide"])
    assert "neck-pain" in listed.stdout
    shown = runner.invoke(guide_app, ["guide", "neck-pain", "--format", "md"])
    assert shown.exit_code == 0 and shown.stdout.startswith("# Neck pain")
    bad = runner.invoke(guide_app, ["guide", "hip-pain"])
    assert bad.exit_code == 2
    assert "choose one of: back-pain, neck-pain" in bad.stderr
