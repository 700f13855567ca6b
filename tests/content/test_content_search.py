"""Full-text search: porter stemming, bm25 ranking, snippets, and user input that is never an operator."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telespine.content import list_guides, load_guide, search_guides
from telespine.content.search import HIGHLIGHT_END, HIGHLIGHT_START, build_index, search_index


@pytest.fixture(scope="module")
def index() -> sqlite3.Connection:
    return build_index([load_guide(c, a) for c, a in list_guides()])


def test_numb_legs_finds_the_red_flags_through_stemming(index: sqlite3.Connection) -> None:
    hits = search_index(index, "numb legs")
    sections = {(h.audience, h.section_id) for h in hits}
    assert ("adult", "red-flags") in sections
    assert ("pediatric", "red-flags") in sections
    # "numb legs" matches "numbness ... leg" only because of porter stemming.
    in_person = next(h for h in hits if h.section_id == "in-person" and h.audience == "adult")
    assert "Numbness" in in_person.snippet and "leg" in in_person.snippet


def test_hits_are_ranked_best_first_with_highlighted_snippets(index: sqlite3.Connection) -> None:
    hits = search_index(index, "fever")
    assert len(hits) >= 2
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(f"{HIGHLIGHT_START}" in h.snippet and HIGHLIGHT_END in h.snippet for h in hits)
    assert hits[0].section_id in {"red-flags", "in-person"}


def test_title_words_weigh_more(index: sqlite3.Connection) -> None:
    hits = search_index(index, "prepare visit")
    assert hits[0].section_id in {"prepare", "after-visit"}


def test_all_words_must_match_unless_nothing_does(index: sqlite3.Connection) -> None:
    both = search_index(index, "aspirin sixteen")
    assert both and all(h.audience == "pediatric" for h in both)  # OR fallback: "aspirin" alone
    strict = search_index(index, "aspirin child")
    assert [h.section_id for h in strict] == ["faqs"]


@pytest.mark.parametrize("query", ['"', "NEAR(", "fever AND", "*", "back-pain OR", "col:fever", "^x", "()"])
def test_fts_syntax_in_a_query_is_plain_text(index: sqlite3.Connection, query: str) -> None:
    hits = search_index(index, query)
    assert isinstance(hits, list)


def test_empty_query_and_no_match(index: sqlite3.Connection) -> None:
    assert search_index(index, "   ") == []
    assert search_index(index, "zyzzyva") == []


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_safe_query(query: str) -> None:
    db = build_index([load_guide("back-pain", "adult")])
    try:
        hits = search_index(db, query)
    finally:
        db.close()
    assert all(h.condition == "back-pain" for h in hits)


def test_search_guides_public_api() -> None:
    hits = search_guides("school bag")
    assert hits and hits[0].audience == "pediatric"
    assert hits[0].section_title


@pytest.mark.parametrize("audience", ["adult", "pediatric"])
def test_search_guides_filters_by_audience(audience: str) -> None:
    both = search_guides("fever")
    only = search_guides("fever", audience=audience)  # type: ignore[arg-type]
    assert {h.audience for h in both} == {"adult", "pediatric"}
    assert only and {h.audience for h in only} == {audience}
    mine = [h.section_id for h in both if h.audience == audience]
    assert [h.section_id for h in only][: len(mine)] == mine  # same ranking, just the other audience left out
