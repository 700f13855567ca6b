"""Server-drawn charts: well-formed accessible SVG, a table with the same values, dates that never overlap."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from telespine.care.charts import Point, Series, line_chart, pain_chart, score_chart, steps_chart
from telespine.care.diary import DiaryEntry
from telespine.care.escalation import load_escalation_rules
from telespine.care.wearables import DailySteps
from telespine.instruments import score

NS = "{http://www.w3.org/2000/svg}"
NO_FLAGS = {q.id: "no" for q in load_escalation_rules().red_flag_check}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def date_label_xs(root: ET.Element) -> list[float]:
    """x of the date labels under the axis (font-size 11 texts with a day and a month)."""
    out = []
    for t in root.iter(f"{NS}text"):
        text = t.text or ""
        if len(text) == 6 and text[:2].isdigit() and text[3:].isalpha():
            out.append(float(t.get("x", "0")))
    return out


def test_svg_is_accessible_and_has_a_matching_table() -> None:
    pts = [Point(dt.date(2026, 5, d), float(v)) for d, v in ((4, 6), (11, 5), (18, 3))]
    chart = line_chart("pain-chart", "Pain", [Series("Pain", pts)], y_min=0, y_max=10, y_label="0 to 10")
    root = parse(chart.svg)
    assert root.get("role") == "img"
    labelled = root.get("aria-labelledby", "").split()
    assert {el.get("id") for el in root.iter() if el.get("id")} >= set(labelled)
    assert root.find(f"{NS}title") is not None and "down" in (root.findtext(f"{NS}desc") or "")
    assert len(root.findall(f".//{NS}circle")) == 3
    assert all(c.find(f"{NS}title") is not None for c in root.iter(f"{NS}circle"))
    table = ET.fromstring(chart.table)
    assert table.findtext("caption") == "Pain"
    assert [r.findtext("th") for r in table.iter("tr")][1:] == ["04 May 2026", "11 May 2026", "18 May 2026"]


@pytest.mark.parametrize("days", [1, 2, 7, 30, 90, 400])
def test_date_labels_never_overlap(days: int) -> None:
    pts = [Point(dt.date(2026, 1, 1) + dt.timedelta(days=i), float(i % 10)) for i in range(days)]
    root = parse(line_chart("c", "T", [Series("S", pts)], y_min=0, y_max=10, y_label="y").svg)
    xs = date_label_xs(root)
    assert xs and all(b - a >= 60 for a, b in pairwise(xs)), xs


def test_times_are_shown_in_the_viewers_zone() -> None:
    rec = score("nrs", {"pain": 6}, dt.datetime(2026, 5, 4, 23, 30, tzinfo=dt.UTC))
    london = score_chart([rec], "nrs", "Europe/London")
    auckland = score_chart([rec], "nrs", "Pacific/Auckland")
    assert "05 May 2026 00:30" in london.table and "05 May 2026 11:30" in auckland.table
    assert "04 May" not in auckland.table
    with pytest.raises(ValueError):
        line_chart(
            "c", "T", [Series("S", [Point(dt.datetime(2026, 5, 4, 9), 1.0)])], y_min=0, y_max=10, y_label="y"
        )


def test_startback_points_carry_the_category() -> None:
    from telespine.instruments import load_instrument

    items = [i.id for i in load_instrument("startback").items]
    high = {**dict.fromkeys(items[:8], "agree"), items[8]: "very_much"}
    rec = score("startback", high, dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC))
    chart = score_chart([rec], "startback", "UTC")
    assert "High" in chart.table and "High" in chart.svg


def test_text_is_escaped() -> None:
    chart = line_chart(
        "c",
        "<script>x</script>",
        [Series('a"<b>', [Point(dt.date(2026, 5, 4), 1.0, note="<i>")])],
        y_min=0,
        y_max=10,
        y_label="&",
    )
    assert "<script" not in chart.svg and "<script" not in chart.table and "<i>" not in chart.table
    parse(chart.svg)
    with pytest.raises(ValueError):
        line_chart(
            'x" onload="y',
            "T",
            [Series("S", [Point(dt.date(2026, 5, 4), 1.0)])],
            y_min=0,
            y_max=1,
            y_label="y",
        )


def test_empty_series_say_nothing_recorded() -> None:
    chart = steps_chart([])
    assert "nothing recorded yet" in chart.svg and "nothing recorded yet" in chart.table
    parse(chart.svg)


def test_steps_chart_draws_one_bar_per_day_inside_the_frame() -> None:
    days = [DailySteps(dt.date(2026, 5, 1) + dt.timedelta(days=i), 2000 + 300 * i) for i in range(21)]
    root = parse(steps_chart(days).svg)
    bars = root.findall(f".//{NS}rect")
    assert len(bars) == 21
    height = float(root.get("height", "0"))
    assert all(0 <= float(b.get("y", "-1")) <= height and float(b.get("height", "-1")) >= 0 for b in bars)
    tallest = max(bars, key=lambda b: float(b.get("height", "0")))
    assert "8,000" in (tallest.findtext(f"{NS}title") or "")


def test_pain_chart_uses_the_worst_entry_of_a_day_and_speaks_to_the_parent() -> None:
    def e(day: int, pain: int) -> DiaryEntry:
        return DiaryEntry(
            day=dt.date(2026, 5, day), pain=pain, function=5, medicine_use="none", red_flag_check=NO_FLAGS
        )

    chart = pain_chart([e(4, 3), e(4, 7), e(5, 2)], pediatric=True)
    assert chart.summary.startswith("Your child's diary")
    assert "Pain: 7 on 04 May 2026" in chart.summary
    assert chart.days == [dt.date(2026, 5, 4), dt.date(2026, 5, 5)]
