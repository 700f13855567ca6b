"""`telespine guide`: formats, listing, search, and clear one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from telespine.content.safety import FALLBACK_LINE, FALLBACK_SIGNS

runner = CliRunner()


def _run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["guide", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_no_condition_lists_the_guides(guide_app: typer.Typer) -> None:
    code, out, _ = _run(guide_app)
    assert code == 0
    assert "back-pain" in out and "adult" in out and "pediatric" in out


@pytest.mark.parametrize("fmt", ["text", "md", "json", "html"])
def test_each_format(guide_app: typer.Typer, fmt: str) -> None:
    code, out, _ = _run(guide_app, "back-pain", "--audience", "pediatric", "--format", fmt)
    assert code == 0
    assert "Back pain in children" in out
    if fmt == "json":
        assert json.loads(out)["audience"] == "pediatric"
    if fmt == "html":
        assert out.startswith("<!doctype html>")


def test_out_writes_a_file(guide_app: typer.Typer, tmp_path: Path) -> None:
    target = tmp_path / "guide.md"
    code, out, _ = _run(guide_app, "back-pain", "--format", "md", "--out", str(target))
    assert code == 0 and "Wrote" in out
    assert target.read_text(encoding="utf-8").startswith("# Back pain: can a video or phone visit help?")


@pytest.mark.parametrize(
    ("args", "bad", "choices"),
    [
        (["sciatica"], "condition 'sciatica'", "back-pain"),
        (["back-pain", "--audience", "kids"], "audience 'kids'", "adult, pediatric"),
        (["back-pain", "--format", "pdf"], "format 'pdf'", "text, md, json, html"),
    ],
)
def test_bad_choice_is_one_line_listing_the_choices(
    guide_app: typer.Typer, args: list[str], bad: str, choices: str
) -> None:
    code, out, err = _run(guide_app, *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert bad in lines[0] and f"choose one of: {choices}" in lines[0]
    assert "Traceback" not in err


def test_missing_audience_for_a_condition_lists_the_ones_there_are(
    guide_app: typer.Typer, guides_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (guides_copy / "back-pain.pediatric.yaml").unlink()
    monkeypatch.setenv("TELESPINE_GUIDES_DIR", str(guides_copy))
    code, _, err = _run(guide_app, "back-pain", "--audience", "pediatric")
    assert code == 2
    assert "unknown audience 'pediatric'; choose one of: adult" in err


def test_broken_guide_file_fails_safe(
    guide_app: typer.Typer, guides_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = guides_copy / "back-pain.adult.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nsurprise: true\n", encoding="utf-8")
    monkeypatch.setenv("TELESPINE_GUIDES_DIR", str(guides_copy))
    monkeypatch.setenv("TELESPINE_EMERGENCY_NUMBER", "000")
    code, out, err = _run(guide_app, "back-pain")
    assert code == 1
    assert "unknown key 'surprise'" in err and "back-pain.adult.yaml" in err
    assert FALLBACK_LINE.replace("{emergency_number}", "000") in err
    assert all(sign in err for sign in FALLBACK_SIGNS)
    assert "Traceback" not in err and out == ""


def test_search(guide_app: typer.Typer) -> None:
    code, out, _ = _run(guide_app, "--search", "numb legs")
    assert code == 0
    assert "back-pain (adult) #red-flags" in out
    assert "back-pain (pediatric) #red-flags" in out


def test_search_without_hits(guide_app: typer.Typer) -> None:
    code, out, _ = _run(guide_app, "--search", "zyzzyva")
    assert code == 0 and "No guide section matches" in out


def test_registered_in_the_real_cli() -> None:
    from telespine.cli import app

    names = {c.name for c in app.registered_commands}
    assert "guide" in names


def test_search_as_json(guide_app: typer.Typer) -> None:
    code, out, _ = _run(guide_app, "--search", "numb legs", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["query"] == "numb legs" and doc["audience"] is None
    audiences = {hit["audience"] for hit in doc["hits"]}
    assert audiences == {"adult", "pediatric"}
    first = doc["hits"][0]
    assert set(first) == {"condition", "audience", "section_id", "section_title", "snippet", "score"}
    assert [h["score"] for h in doc["hits"]] == sorted((h["score"] for h in doc["hits"]), reverse=True)


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_search_filters_by_audience(guide_app: typer.Typer, audience: str, fmt: str) -> None:
    code, out, _ = _run(guide_app, "--search", "numb legs", "--audience", audience, "--format", fmt)
    assert code == 0
    other = "pediatric" if audience == "adult" else "adult"
    if fmt == "json":
        hits = json.loads(out)["hits"]
        assert hits and {h["audience"] for h in hits} == {audience}
    else:
        assert f"back-pain ({audience}) #red-flags" in out and f"({other})" not in out


def test_search_without_hits_as_json(guide_app: typer.Typer) -> None:
    code, out, _ = _run(guide_app, "--search", "zyzzyva", "-f", "json")
    assert code == 0 and json.loads(out)["hits"] == []


@pytest.mark.parametrize(
    ("args", "bad"),
    [
        (["--search", "fever", "--format", "html"], "unknown search format 'html'"),
        (["--search", "fever", "--audience", "elderly"], "unknown audience 'elderly'"),
    ],
)
def test_search_rejects_bad_options(guide_app: typer.Typer, args: list[str], bad: str) -> None:
    code, out, err = _run(guide_app, *args)
    assert code == 2 and bad in err and out == ""


def test_search_honours_the_condition(
    guide_app: typer.Typer, guides_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = (guides_copy / "back-pain.adult.yaml").read_text(encoding="utf-8")
    (guides_copy / "neck-pain.adult.yaml").write_text(
        doc.replace("condition: back-pain", "condition: neck-pain", 1), encoding="utf-8"
    )
    monkeypatch.setenv("TELESPINE_GUIDES_DIR", str(guides_copy))
    code, out, _ = _run(guide_app, "--search", "fever", "-f", "json")
    assert {h["condition"] for h in json.loads(out)["hits"]} == {"back-pain", "neck-pain"}
    code, out, _ = _run(guide_app, "neck-pain", "--search", "fever", "-f", "json")
    assert code == 0 and json.loads(out)["condition"] == "neck-pain"
    assert {h["condition"] for h in json.loads(out)["hits"]} == {"neck-pain"}
    code, out, err = _run(guide_app, "hip-pain", "--search", "fever")
    assert code == 2 and "unknown condition 'hip-pain'" in err
