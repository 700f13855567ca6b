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


# --- a line break ends a sentence, so it ends every negation, hedge and other context ------------


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("No fever\nI wet myself", "bladder_incontinence"),
        ("No fever\r\n\r\nI can't feel my groin", "saddle_numbness"),
        ("No fever \r\n   \n  I wet myself", "bladder_incontinence"),
        ("no pain in my legs\ni cnt pee", "bladder_retention"),
        ("Not been sleeping\nleg gave way on the stairs", "leg_weakness_sudden"),
        ("My husband has a cold\nI have a fever", "fever"),
        ("What should I do if\nI can't pee", "bladder_retention"),
        ("I don't know\nI lost bladder control last night", "bladder_incontinence"),
        ("no numbness in my legs\u2028numb down there", "saddle_numbness"),
    ],
)
def test_a_line_break_ends_a_negation(text: str, concept: str, pipeline: Pipeline) -> None:
    """Patients type line breaks with no full stop: the next line is read on its own."""
    result = screen_message(text, "adult", pipeline)
    assert result.needs_review
    assert concept in [m.concept for m in result.flags if not m.uncertain], result


def test_the_line_before_a_break_keeps_its_negation(pipeline: Pipeline) -> None:
    result = screen_message("No fever\nI wet myself", "adult", pipeline)
    assert [(m.concept, m.reasons) for m in result.ignored] == [("fever", ["negated"])]
    [flag] = result.flags
    assert flag.text == "wet myself" and (flag.start, flag.end) == (11, 21)


@pytest.mark.parametrize(
    "text",
    [
        "I have no numbness\nin my groin",  # the mention runs on past the break: read as said there
        "I have no\nnumbness in my groin",  # the negation word is on the line before
        "No pain in my bum\nnumb since yesterday",  # "bum<break>numb" is one mention
        "What should I do if I get numb down\nthere?",
    ],
)
def test_a_line_break_in_mid_sentence_ends_the_negation_too(text: str, pipeline: Pipeline) -> None:
    """The safer choice: a break always ends the scope, even mid-sentence (an accepted over-flag).

    A mention that runs over a break is read as said on its last line, so a negation before the
    break does not reach it. Ending a scope can only turn an ignored mention into a flag.
    """
    result = screen_message(text, "adult", pipeline)
    assert "saddle_numbness" in [m.concept for m in result.flags if not m.uncertain]


def test_a_phrase_wrapped_over_two_lines_is_still_found(pipeline: Pipeline) -> None:
    result = screen_message("I'm numb down\nthere and I can't\nfeel my groin", "adult", pipeline)
    assert [m.concept for m in result.flags] == ["saddle_numbness", "saddle_numbness"]
    assert [m.text for m in result.flags] == ["numb down\nthere", "can't\nfeel my groin"]


@pytest.mark.parametrize(
    "text",
    [
        "I'm not sure if\nI can feel my groin",
        "I don't think\nI can feel my groin",
        "I'm not sure if I can\nfeel my groin",
        "not sure\ni can feel my bum",
    ],
)
def test_a_line_break_does_not_turn_a_hedged_absence_into_a_denial(text: str, pipeline: Pipeline) -> None:
    """For "I can feel my groin" the plain reading is the unsafe one: a hedge still reaches it."""
    result = screen_message(text, "adult", pipeline)
    [flag] = result.flags
    assert flag.concept == "saddle_numbness" and flag.uncertain


@pytest.mark.parametrize(
    "text", ["No fever\nI can feel my groin fine", "I can feel my groin", "No numbness.\nNo fever"]
)
def test_a_plain_denial_on_its_own_line_stays_unflagged(text: str, pipeline: Pipeline) -> None:
    result = screen_message(text, "adult", pipeline)
    assert result.flags == [] and not result.needs_review


def test_normalise_text_keeps_one_line_break_pointing_at_the_break() -> None:
    text = "no fever  \r\n \r\nI wet"
    normal, spans = normalise_text(text)
    assert normal == "no fever\ni wet"
    assert text[slice(*spans[8])] in ("\r", "\n")


# --- Cyrillic and Greek letters that look like Latin ones -----------------------------------------


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("I wet mys\u0435lf", "bladder_incontinence"),  # Cyrillic e
        ("\u0406 \u0441\u0430n't f\u0435\u0435l my groin", "saddle_numbness"),  # Cyrillic I, c, a, e
        ("I can't \u0420\u0415\u0415", "bladder_retention"),  # upper-case Cyrillic P, E
        ("i c\u0430nt \u0440\u0435\u0435", "bladder_retention"),  # a whole word of look-alikes
        ("I can't feel my gr\u03bfin", "saddle_numbness"),  # Greek omicron
        ("I h\u0430v\u0435 l\u043est bl\u0430dd\u0435r \u0441\u043entr\u043el", "bladder_incontinence"),
    ],
)
def test_look_alike_letters_do_not_hide_a_red_flag(text: str, concept: str, pipeline: Pipeline) -> None:
    result = screen_message(text, "adult", pipeline)
    flags = {m.concept: m for m in result.flags}
    assert concept in flags, result
    mention = flags[concept]
    assert text[mention.start : mention.end] == mention.text  # the original letters, for display


def test_look_alikes_keep_their_offsets() -> None:
    text = "I W\u0415T mys\u0435lf"
    normal, spans = normalise_text(text)
    assert normal == "i wet myself"
    assert [text[a:b] for a, b in spans] == list(text)


@pytest.mark.parametrize(
    "text",
    [
        "Я не могу помочиться с утра",  # Russian: "I can't pee since the morning"
        "Δεν μπορώ να ουρήσω από το πρωί",  # Greek: the same
    ],
)
def test_cyrillic_and_greek_text_is_not_folded(text: str, pipeline: Pipeline) -> None:
    """Real Russian or Greek stays as written and goes to a clinician as unreadable."""
    normal, _ = normalise_text(text)
    assert normal == text.lower()
    result = screen_message(text, "adult", pipeline)
    assert result.status == "unrecognised_language" and result.needs_review


def test_the_plain_text_fast_path_normalises_like_the_full_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Printable ASCII takes a shortcut; it must give the same text and offsets as the full path."""
    import random
    import re

    from telespine.care.screening import normalise

    rng = random.Random(7)
    alphabet = "ab cD`'\n\r\t\x0b\x1c  .,!x"
    texts = ["x" * 150 + " no fever", " \r\n I wet  myself\n\n", ""]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120))) for _ in range(3000)]
    fast = [normalise._normalise_plain(t) for t in texts]
    monkeypatch.setattr(normalise, "_PLAIN", re.compile(r"(?!)"))
    assert fast == [normalise_text(t) for t in texts]
