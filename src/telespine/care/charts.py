"""Server-drawn, accessible SVG charts of dated series, each with a table beside it. Pure.

`line_chart()` and `bar_chart()` turn dated values into a `Chart`: `svg` (an inline <svg> with
role="img", a <title> and a <desc> that sums up the trend, dated axis labels spaced so that they
never overlap, and a <title> on every point) and `table` (an HTML table with a caption, the same
values, for screen readers and print). Every text is escaped; nothing is fetched from a network.
Times are shown in the viewer's time zone (`timezone`); plain dates are shown as they are.

Ready-made charts: `pain_chart` (diary pain and function, 0-10), `score_chart` (NRS, PEG or
STarT Back records from `telespine.instruments`), `steps_chart` (daily steps from wearables).
Pass the results to a template as `Markup(chart.svg)` and `Markup(chart.table)`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from zoneinfo import ZoneInfo

from telespine.care.diary import DiaryEntry
from telespine.care.wearables import DailySteps
from telespine.instruments import ScoreRecord

When = dt.date | dt.datetime
COLOURS = ("#1d4e89", "#b35c00", "#2e7d32", "#6a1b9a")  # dark enough on white (WCAG AA for lines)
DASHES = ("", "6 4", "2 3", "10 3 2 3")  # a second cue besides colour
CHART_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


@dataclass(frozen=True)
class Point:
    when: When
    value: float
    note: str = ""  # e.g. a category ("high risk"), shown in the point's title and the table


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Point]


@dataclass(frozen=True)
class Chart:
    svg: str
    table: str
    summary: str
    days: list[dt.date] = field(default_factory=list)


def _local(when: When, zone: ZoneInfo | None) -> dt.datetime:
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            raise ValueError("datetimes in a chart must carry a time zone")
        return when.astimezone(zone) if zone is not None else when
    return dt.datetime.combine(when, dt.time(12))


def _label(when: When, zone: ZoneInfo | None) -> str:
    local = _local(when, zone)
    if isinstance(when, dt.datetime):
        return local.strftime("%d %b %Y %H:%M")
    return local.strftime("%d %b %Y")


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.1f}"


class _Frame:
    """Scales from data to the drawing, and the axes."""

    def __init__(self, days: list[dt.date], y_min: float, y_max: float, width: int, height: int) -> None:
        self.left, self.right, self.top, self.bottom = 56, 16, 26, 44  # room for the legend
        self.width, self.height = width, height
        self.first, self.last = days[0], days[-1]
        self.span_days = max((self.last - self.first).days, 1)
        self.y_min, self.y_max = y_min, y_max

    def x(self, local: dt.datetime) -> float:
        start = dt.datetime.combine(self.first, dt.time(0), tzinfo=local.tzinfo)
        frac = ((local - start).total_seconds() / 86400 - 0.5) / self.span_days if self.span_days else 0.5
        inner = self.width - self.left - self.right
        return round(self.left + min(max(frac, 0.0), 1.0) * inner, 1)

    def x_day(self, day: dt.date) -> float:
        inner = self.width - self.left - self.right
        return round(self.left + ((day - self.first).days / self.span_days) * inner, 1)

    def y(self, value: float) -> float:
        inner = self.height - self.top - self.bottom
        frac = (value - self.y_min) / (self.y_max - self.y_min) if self.y_max > self.y_min else 0.5
        return round(self.height - self.bottom - min(max(frac, 0.0), 1.0) * inner, 1)

    def axes(self, y_label: str) -> list[str]:
        out: list[str] = []
        step = _nice_step(self.y_max - self.y_min)
        value = self.y_min
        while value <= self.y_max + 1e-9:
            y = self.y(value)
            out.append(
                f'<line x1="{self.left}" y1="{y}" x2="{self.width - self.right}" y2="{y}" stroke="#ddd"/>'
            )
            out.append(
                f'<text x="{self.left - 6}" y="{y + 4}" text-anchor="end" font-size="11">{_fmt(value)}</text>'
            )
            value += step
        middle = self.top + (self.height - self.top - self.bottom) / 2
        out.append(
            f'<text x="12" y="{middle}" font-size="11" text-anchor="middle" '
            f'transform="rotate(-90 12 {middle})">{escape(y_label)}</text>'
        )
        # Date labels: at most one every 80 px, on whole-day steps, so they never overlap.
        inner = self.width - self.left - self.right
        max_labels = max(1, inner // 80)
        every = max(1, math.ceil((self.span_days + 1) / max_labels))
        day = self.first
        base = self.height - self.bottom
        out.append(
            f'<line x1="{self.left}" y1="{base}" x2="{self.width - self.right}" y2="{base}" stroke="#555"/>'
        )
        while day <= self.last:
            x = self.x_day(day)
            out.append(f'<line x1="{x}" y1="{base}" x2="{x}" y2="{base + 4}" stroke="#555"/>')
            out.append(
                f'<text x="{x}" y="{base + 16}" text-anchor="middle" font-size="11">'
                f"{day.strftime('%d %b')}</text>"
            )
            day += dt.timedelta(days=every)
        years = {self.first.year, self.last.year}
        out.append(
            f'<text x="{self.left + inner / 2}" y="{base + 34}" text-anchor="middle" font-size="11">'
            f"{escape(' to '.join(str(y) for y in sorted(years)))}</text>"
        )
        return out


def _summary(title: str, series: Sequence[Series], zone: ZoneInfo | None) -> str:
    parts = []
    for s in series:
        pts = sorted(s.points, key=lambda p: _local(p.when, zone))
        if not pts:
            parts.append(f"{s.name}: no values")
            continue
        first, last = pts[0], pts[-1]
        trend = "up" if last.value > first.value else "down" if last.value < first.value else "the same"
        parts.append(
            f"{s.name}: {_fmt(first.value)} on {_label(first.when, zone)}, {_fmt(last.value)} on "
            f"{_label(last.when, zone)} ({trend}); lowest {_fmt(min(p.value for p in pts))}, "
            f"highest {_fmt(max(p.value for p in pts))}, {len(pts)} values"
        )
    return f"{title}. " + ". ".join(parts) + "."


def _table(chart_id: str, title: str, series: Sequence[Series], zone: ZoneInfo | None, unit: str) -> str:
    rows: dict[tuple[dt.datetime, str], dict[str, str]] = {}
    for s in series:
        for p in s.points:
            key = (_local(p.when, zone), _label(p.when, zone))
            cell = _fmt(p.value) + (f" ({p.note})" if p.note else "")
            rows.setdefault(key, {})[s.name] = cell
    head = "".join(f'<th scope="col">{escape(s.name)}{escape(unit)}</th>' for s in series)
    body = "".join(
        f'<tr><th scope="row">{escape(label)}</th>'
        + "".join(f"<td>{escape(values.get(s.name, '-'))}</td>" for s in series)
        + "</tr>"
        for (_, label), values in sorted(rows.items())
    )
    return (
        f'<table class="chart-table" id="{chart_id}-table"><caption>{escape(title)}</caption>'
        f'<thead><tr><th scope="col">When</th>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _frame_for(
    series: Sequence[Series], zone: ZoneInfo | None, y_min: float, y_max: float, width: int, height: int
) -> _Frame | None:
    stamps = [_local(p.when, zone) for s in series for p in s.points]
    if not stamps:
        return None
    days = sorted({s.date() for s in stamps})
    return _Frame(days, y_min, y_max, width, height)


def _empty(chart_id: str, title: str) -> Chart:
    text = f"{title}: nothing recorded yet."
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" role="img" viewBox="0 0 320 40" '
        f'width="320" height="40"><title>{escape(text)}</title>'
        f'<text x="8" y="24" font-size="13">{escape(text)}</text></svg>'
    )
    return Chart(
        svg=svg, table=f'<p class="chart-table" id="{chart_id}-table">{escape(text)}</p>', summary=text
    )


def _open(chart_id: str, title: str, summary: str, width: int, height: int) -> str:
    if not CHART_ID.match(chart_id):
        raise ValueError("chart_id: lower-case letters, digits and '-', starting with a letter")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="sans-serif">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>'
    )


def line_chart(
    chart_id: str,
    title: str,
    series: Sequence[Series],
    *,
    y_min: float,
    y_max: float,
    y_label: str,
    timezone: str | None = None,
    unit: str = "",
    width: int = 640,
    height: int = 240,
) -> Chart:
    """A dated line chart of one or more series, with its table."""
    zone = ZoneInfo(timezone) if timezone else None
    frame = _frame_for(series, zone, y_min, y_max, width, height)
    if frame is None:
        return _empty(chart_id, title)
    summary = _summary(title, series, zone)
    out = [_open(chart_id, title, summary, width, height), *frame.axes(y_label)]
    for i, s in enumerate(series):
        colour, dash = COLOURS[i % len(COLOURS)], DASHES[i % len(DASHES)]
        pts = sorted(s.points, key=lambda p: _local(p.when, zone))
        coords = [(frame.x(_local(p.when, zone)), frame.y(p.value), p) for p in pts]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        if len(coords) > 1:
            path = " ".join(f"{x},{y}" for x, y, _ in coords)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
            )
        for x, y, p in coords:
            tip = (
                f"{s.name}: {_fmt(p.value)}{unit}"
                + (f" ({p.note})" if p.note else "")
                + f", {_label(p.when, zone)}"
            )
            out.append(
                f'<circle cx="{x}" cy="{y}" r="4" fill="#fff" stroke="{colour}" stroke-width="2">'
                f"<title>{escape(tip)}</title></circle>"
            )
    if len(series) > 1:  # a legend: colour and dash, with the name
        x = frame.left
        for i, s in enumerate(series):
            colour, dash = COLOURS[i % len(COLOURS)], DASHES[i % len(DASHES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<line x1="{x}" y1="8" x2="{x + 24}" y2="8" stroke="{colour}" '
                f'stroke-width="2.5"{dash_attr}/>'
            )
            out.append(f'<text x="{x + 30}" y="12" font-size="11">{escape(s.name)}</text>')
            x += 40 + 7 * len(s.name)
    out.append("</svg>")
    days = sorted({_local(p.when, zone).date() for s in series for p in s.points})
    return Chart(
        svg="".join(out), table=_table(chart_id, title, series, zone, unit), summary=summary, days=days
    )


def bar_chart(
    chart_id: str,
    title: str,
    series: Series,
    *,
    y_label: str,
    timezone: str | None = None,
    unit: str = "",
    width: int = 640,
    height: int = 240,
) -> Chart:
    """A dated bar chart of one series (for example daily steps), with its table."""
    zone = ZoneInfo(timezone) if timezone else None
    top = max((p.value for p in series.points), default=0.0)
    y_max = _nice_step(top or 1) * math.ceil((top or 1) / _nice_step(top or 1))
    frame = _frame_for([series], zone, 0.0, y_max, width, height)
    if frame is None:
        return _empty(chart_id, title)
    summary = _summary(title, [series], zone)
    out = [_open(chart_id, title, summary, width, height), *frame.axes(y_label)]
    inner = width - frame.left - frame.right
    bar = max(1.0, min(24.0, inner / (frame.span_days + 1) * 0.7))
    for p in sorted(series.points, key=lambda p: _local(p.when, zone)):
        x = frame.x_day(_local(p.when, zone).date()) - bar / 2
        y = frame.y(p.value)
        tip = f"{series.name}: {_fmt(p.value)}{unit}, {_label(p.when, zone)}"
        out.append(
            f'<rect x="{round(x, 1)}" y="{y}" width="{round(bar, 1)}" height="{round(frame.y(0) - y, 1)}" '
            f'fill="{COLOURS[0]}"><title>{escape(tip)}</title></rect>'
        )
    out.append("</svg>")
    days = sorted({_local(p.when, zone).date() for p in series.points})
    return Chart(
        svg="".join(out), table=_table(chart_id, title, [series], zone, unit), summary=summary, days=days
    )


# ---- ready-made charts ----


def pain_chart(
    entries: Sequence[DiaryEntry], chart_id: str = "diary-chart", pediatric: bool = False
) -> Chart:
    """Diary pain and function (0-10) by day."""
    worst: dict[dt.date, DiaryEntry] = {}
    for e in entries:
        if e.day not in worst or e.pain > worst[e.day].pain:
            worst[e.day] = e  # several entries on a day: the worst pain counts, as in the rules
    days = sorted(worst)
    who = "Your child's" if pediatric else "Your"
    return line_chart(
        chart_id,
        f"{who} diary: pain and daily activities (0 to 10)",
        [
            Series("Pain", [Point(d, worst[d].pain) for d in days]),
            Series("Daily activities", [Point(d, worst[d].function) for d in days]),
        ],
        y_min=0,
        y_max=10,
        y_label="0 to 10",
    )


_SCORE_CHARTS = {
    "nrs": ("Pain score (0 to 10)", 0.0, 10.0),
    "peg": ("PEG: pain and how it gets in the way (0 to 10)", 0.0, 10.0),
    "startback": ("STarT Back score (0 to 9)", 0.0, 9.0),
}


def score_chart(
    records: Sequence[ScoreRecord], instrument_id: str, timezone: str, chart_id: str | None = None
) -> Chart:
    """One questionnaire's scores over time, in the viewer's time zone (category in each point)."""
    title, low, high = _SCORE_CHARTS[instrument_id]
    chosen = sorted((r for r in records if r.instrument_id == instrument_id), key=lambda r: r.taken_at)
    points = [Point(r.taken_at, float(r.primary), r.category_label or "") for r in chosen]
    return line_chart(
        chart_id or f"{instrument_id}-chart",
        title,
        [Series("Score", points)],
        y_min=low,
        y_max=high,
        y_label="score",
        timezone=timezone,
    )


def steps_chart(days: Sequence[DailySteps], chart_id: str = "steps-chart") -> Chart:
    """Daily steps from a wearable."""
    return bar_chart(
        chart_id,
        "Steps each day",
        Series("Steps", [Point(d.day, float(d.steps)) for d in days]),
        y_label="steps",
    )
