"""Worked examples for every questionnaire scorer, and the comparison helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telespine.instruments import (
    INSTRUMENT_IDS,
    InstrumentDisabledError,
    InstrumentError,
    clinically_important_improvement,
    compare,
    list_instruments,
    load_instrument,
    parse_instrument,
    score,
    trend,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SB_ITEMS = [i.id for i in load_instrument("startback").items]


def startback(agree: set[int], bother: str) -> dict[str, int | str]:
    """Responses with the given item numbers (1-8) agreed and item 9 answered `bother`."""
    answers: dict[str, int | str] = {
        item: ("agree" if n in agree else "disagree") for n, item in enumerate(SB_ITEMS[:8], start=1)
    }
    answers[SB_ITEMS[8]] = bother
    return answers


@pytest.mark.parametrize(
    ("agree", "bother", "total", "psycho", "category"),
    [
        (set(), "not_at_all", 0, 0, "low"),
        ({1, 2, 3}, "moderately", 3, 0, "low"),  # total 3 is still low
        ({1, 2, 3, 4}, "slightly", 4, 0, "medium"),  # total 4 tips into medium
        ({1, 5, 6, 7}, "slightly", 4, 3, "medium"),  # psychosocial 3 is not high
        ({5, 6, 7}, "very_much", 4, 4, "high"),  # psychosocial 4 is high
        ({1, 2, 3, 4, 5, 6, 7, 8}, "extremely", 9, 5, "high"),
        ({1, 2, 5, 6}, "extremely", 5, 3, "medium"),
    ],
)
def test_startback_worked_examples(
    agree: set[int], bother: str, total: int, psycho: int, category: str
) -> None:
    rec = score("startback", startback(agree, bother), T0)
    assert rec.scores == {"total": total, "psychosocial": psycho}
    assert rec.category == category
    assert rec.primary == total
    assert rec.taken_at == T0
    assert rec.version == load_instrument("startback").version


def test_startback_item_9_scores_only_very_much_and_extremely() -> None:
    got = {
        b: score("startback", startback(set(), b), T0).scores["total"]
        for b in ("not_at_all", "slightly", "moderately", "very_much", "extremely")
    }
    assert got == {"not_at_all": 0, "slightly": 0, "moderately": 0, "very_much": 1, "extremely": 1}


def test_peg_is_the_mean_of_its_three_items() -> None:
    rec = score("peg", {"pain": 6, "enjoyment": 5, "activity": 7}, T0)
    assert rec.primary == pytest.approx(6.0)
    rec = score("peg", {"pain": 5, "enjoyment": 6, "activity": 6}, T0)
    assert rec.primary == pytest.approx(17 / 3)
    assert rec.category is None


def test_nrs_scores_the_number_given() -> None:
    assert score("nrs", {"pain": 8}, T0).primary == 8


@pytest.mark.parametrize("instrument", ["phq2", "gad2"])
@pytest.mark.parametrize(
    ("a", "b", "total", "category"),
    [
        ("not_at_all", "not_at_all", 0, "below_threshold"),
        ("several_days", "more_than_half", 3, "talk_to_clinician"),
        ("several_days", "several_days", 2, "below_threshold"),
        ("nearly_every_day", "nearly_every_day", 6, "talk_to_clinician"),
    ],
)
def test_phq2_gad2_threshold_at_3(instrument: str, a: str, b: str, total: int, category: str) -> None:
    items = [i.id for i in load_instrument(instrument).items]
    rec = score(instrument, {items[0]: a, items[1]: b}, T0)
    assert rec.primary == total
    assert rec.category == category
    assert (rec.advice is not None) == (category == "talk_to_clinician")


@pytest.mark.parametrize(
    "responses",
    [
        {"pain": 11},
        {"pain": -1},
        {"pain": 5.5},
        {"pain": True},
        {"pain": "5"},
        {},
        {"pain": 5, "extra": 1},
    ],
)
def test_bad_nrs_responses_are_rejected(responses: dict[str, object]) -> None:
    with pytest.raises(InstrumentError):
        score("nrs", responses, T0)  # type: ignore[arg-type]


def test_bad_choice_code_is_rejected() -> None:
    answers = startback(set(), "a_bit")
    with pytest.raises(InstrumentError):
        score("startback", answers, T0)


def test_naive_time_is_rejected() -> None:
    with pytest.raises(InstrumentError):
        score("nrs", {"pain": 3}, datetime(2026, 1, 1, 9, 0))


def test_deployment_can_switch_startback_off() -> None:
    enabled = {"nrs", "peg", "phq2", "gad2"}
    with pytest.raises(InstrumentDisabledError):
        score("startback", startback(set(), "slightly"), T0, enabled_instruments=enabled)
    assert "startback" not in [i.id for i in list_instruments(enabled)]
    assert [i.id for i in list_instruments()] == list(INSTRUMENT_IDS)


def test_every_instrument_carries_licence_citation_and_sources() -> None:
    for inst in list_instruments():
        assert inst.licence.notice and inst.citation and inst.sources
    assert "Keele" in load_instrument("startback").licence.notice
    assert load_instrument("startback").licence.wording == "paraphrased"


def test_loader_rejects_unknown_keys_and_wrong_ranges() -> None:
    good = load_instrument("nrs").model_dump_json()
    assert parse_instrument(good).id == "nrs"
    with pytest.raises(InstrumentError):
        parse_instrument(good.replace('"purpose"', '"porpoise"'))
    with pytest.raises(InstrumentError):
        parse_instrument(good.replace('"max":10.0', '"max":9.0'))
    with pytest.raises(InstrumentError):
        parse_instrument("id: [unclosed")


def test_compare_and_trend() -> None:
    a = score("peg", {"pain": 8, "enjoyment": 6, "activity": 7}, T0)
    b = score("peg", {"pain": 4, "enjoyment": 3, "activity": 5}, T0 + timedelta(weeks=6))
    c = score("peg", {"pain": 5, "enjoyment": 5, "activity": 5}, T0 + timedelta(weeks=3))
    change = compare(a, b)
    assert change.delta == pytest.approx(-3.0)
    assert change.percent_change == pytest.approx(-3.0 / 7.0 * 100)
    assert change.days == pytest.approx(42)
    assert [v for _, v in trend([b, a, c], "peg")] == pytest.approx([7.0, 5.0, 4.0])
    with pytest.raises(ValueError):
        compare(b, a)
    with pytest.raises(ValueError):
        compare(a, score("nrs", {"pain": 2}, T0 + timedelta(days=1)))


@pytest.mark.parametrize(
    ("before", "after", "important"),
    [
        (8, 6, True),  # 2 points
        (8, 7, False),  # 1 point, 12.5%
        (3, 2, True),  # 1 point but 33%
        (10, 8, True),
        (4, 3, False),  # 25%
        (0, 0, False),
        (5, 7, False),  # worse
    ],
)
def test_clinically_important_improvement_nrs(before: int, after: int, important: bool) -> None:
    a = score("nrs", {"pain": before}, T0)
    b = score("nrs", {"pain": after}, T0 + timedelta(weeks=6))
    assert clinically_important_improvement(a, b) is important


def test_clinically_important_improvement_peg_thirty_percent_exactly() -> None:
    # Baseline 10/3 (3.33); a fall to 7/3 is exactly 1 point = 30%.
    a = score("peg", {"pain": 4, "enjoyment": 3, "activity": 3}, T0)
    b = score("peg", {"pain": 3, "enjoyment": 2, "activity": 2}, T0 + timedelta(weeks=6))
    assert clinically_important_improvement(a, b) is True


def test_improvement_helper_refuses_other_instruments() -> None:
    a = score("phq2", {"interest": "several_days", "down": "several_days"}, T0)
    with pytest.raises(ValueError):
        clinically_important_improvement(a, a)


def test_item_wording_for_parents() -> None:
    item = load_instrument("nrs").items[0]
    assert "your child" in item.text_for("pediatric") and "your child" not in item.text_for("adult")
    peg_item = load_instrument("peg").items[0]
    assert peg_item.text_for("pediatric") == peg_item.text
