"""Every app's Jinja environment shares one process-wide cache of compiled templates: a second
app does not compile a template again, and an edited template is compiled afresh."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from telespine.web import templating
from telespine.web.testing import make_test_settings


def test_a_second_app_reuses_the_compiled_template(tmp_path: Path) -> None:
    settings = make_test_settings(f"sqlite:///{tmp_path / 'x.db'}")
    first = templating.make_templates(settings).env
    first.get_template("error.html")
    known = dict(templating._BYTECODE._code)
    second = templating.make_templates(settings).env
    assert second is not first and second.bytecode_cache is first.bytecode_cache
    second.get_template("error.html")
    assert templating._BYTECODE._code == known  # nothing compiled again


def test_an_edited_template_is_compiled_again(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    cache = templating._ProcessBytecode()
    page.write_text("one {{ x }}", encoding="utf-8")
    env = Environment(loader=FileSystemLoader(tmp_path), bytecode_cache=cache, autoescape=True)
    assert env.get_template("page.html").render(x=1) == "one 1"
    before = dict(cache._code)
    page.write_text("two {{ x }}", encoding="utf-8")
    fresh = Environment(loader=FileSystemLoader(tmp_path), bytecode_cache=cache, autoescape=True)
    assert fresh.get_template("page.html").render(x=2) == "two 2"
    assert cache._code.keys() == before.keys() and cache._code != before  # replaced, not kept
