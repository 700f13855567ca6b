"""Plain red-flag phrasings the screening missed, and text normalisation against hidden characters."""

from __future__ import annotations

import pytest

from telespine.care.screening import Pipeline, get_pipeline, normalise_text, screen_message


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """The shared screening pipeline."""
    return get_pipeline()


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("I have lost bladder control", "bladder_incontinence"),
        ("i cnt feel my groin", "saddle_numbness"),
        ("I no longer feel anything when I wipe", "saddle_numbness"),
        ("I've lost control of my bladder.", "bladder_incontinence"),
        ("I have lost bowel control.", "bowel_incontinence"),
        ("No feeling when I wipe now.", "saddle_numbness"),
        ("i carnt pee", "bladder_retention"),
        ("i cannt feel my bum", "saddle_numbness"),
        ("I CNT PEE", "bladder_retention"),
    ],
)
def test_plain_red_flags_are_flagged(text: str, concept: str, pipeline: Pipeline) -> None:
    """A plain report of a red flag is an affirmed, certain flag that asks for review."""
    result = screen_message(text, "adult", pipeline)
    assert result.needs_review
    assert concept in [m.concept for m in result.flags if not m.uncertain]


HIDDEN = [
    "I can't f\u200beel my gr\u200boin and I w\u00adet myself",  # zero-width space, soft hyphen
    "I can\u2019t f\u200deel my gr\u200coin",  # curly apostrophe, zero-width joiner / non-joiner
    "\ufeffI w\u2060et myself",  # byte order mark, word joiner
    "I \u202ew\u202cet myself",  # bidi override and pop
    "I can't\u00a0\u00a0feel   my\tgroin",  # no-break spaces and a tab
    "I can't\u0007feel my groin",  # a control character between words
    "I \uff57\uff45\uff54 myself",  # full-width letters (NFKC)
    "I can't fe\u0301el my groin",  # combining accent is kept; the text stays readable below
]


@pytest.mark.parametrize("text", HIDDEN[:7])
def test_invisible_characters_do_not_hide_a_red_flag(text: str, pipeline: Pipeline) -> None:
    """Format, control and compatibility characters are normalised away before screening."""
    result = screen_message(text, "adult", pipeline)
    assert result.needs_review
    assert result.flags, text


def test_flags_keep_the_original_text_and_offsets(pipeline: Pipeline) -> None:
    """Mentions point into the message as sent, hidden characters included, for display."""
    text = HIDDEN[0]
    result = screen_message(text, "adult", pipeline)
    concepts = {m.concept: m for m in result.flags}
    assert set(concepts) == {"saddle_numbness", "bladder_incontinence"}
    for mention in concepts.values():
        assert text[mention.start : mention.end] == mention.text
    assert concepts["saddle_numbness"].text == "can't f\u200beel my gr\u200boin"
    assert concepts["bladder_incontinence"].text == "w\u00adet myself"


def test_normalise_text_maps_every_character_back() -> None:
    """The normalised text is lower-cased and collapsed, with the span each character came from."""
    text = "  I\u00a0CAN\u2019T\u200b  \uff26EEL\u0007x\ufeff\n\n no"
    normal, spans = normalise_text(text)
    assert normal == "i can't feel x\nno"
    assert len(spans) == len(normal)
    assert [text[a:b] for a, b in spans[:4]] == ["I", "\u00a0", "C", "A"]
    assert text[spans[-1][0] : spans[-1][1]] == "o"


def test_a_combining_accent_does_not_break_the_screening(pipeline: Pipeline) -> None:
    """A composed character keeps its offsets: the mention text is the original span."""
    result = screen_message("I w\u0065\u0301t myself and can't pee", "adult", pipeline)
    assert "bladder_retention" in [m.concept for m in result.flags]
    for mention in [*result.flags, *result.ignored]:
        assert mention.text == "I w\u0065\u0301t myself and can't pee"[mention.start : mention.end]
