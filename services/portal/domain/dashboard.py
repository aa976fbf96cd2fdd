"""The dashboard's pure rules (issue 15, item 3, MANAGER; the association's network
statistics): the period a person chose, each figure beside the previous period's with its
change, and the charts as shapes ready for an SVG drawn on the server (no script on the page).
The figures' meanings are crm's (docs/statistics.md); nothing here guesses one crm left null."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from babel.dates import format_date
from babel.numbers import format_decimal

from services.portal.domain.desk import money

Preset = Literal["this_month", "last_month", "last_30_days", "this_year"]
PRESETS: tuple[Preset, ...] = ("this_month", "last_month", "last_30_days", "this_year")
# crm refuses past 1,463 days (two years compared with the two before): the same limit here,
# so that the page says it in words rather than showing crm's refusal.
MAX_DAYS = 1463
Kind = Literal["money", "count", "share", "ratio"]
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# The two series' colours: each past 3:1 against the white card (WCAG 1.4.11), and told apart
# by more than their hue: the period's bar is always the left one of a pair, and the table
# below the chart names each column.
CURRENT_COLOUR = "#0b5c4a"  # 7.9:1 on white
PREVIOUS_COLOUR = "#8a5a00"  # 5.9:1 on white


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class PeriodRefused(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # invalid_date, invalid_range, range_too_long


def preset_period(preset: Preset, today: date) -> Period:
    """A preset as days of Paris, ``today`` included where the period holds it."""
    if preset == "this_month":
        return Period(today.replace(day=1), today)
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if preset == "last_30_days":
        return Period(today - timedelta(days=29), today)
    return Period(today.replace(month=1, day=1), today)


def chosen_period(preset: str, start: str, end: str, today: date) -> tuple[str, Period]:
    """The period asked by the page's form: two dates if both are given, else a preset (this
    month when none or an unknown one). The preset shown as chosen ("" for dates), and the
    period; PeriodRefused for a date that is not one, an end before the start, too long."""
    if start and end:
        try:
            period = Period(date.fromisoformat(start), date.fromisoformat(end))
        except ValueError:
            raise PeriodRefused("invalid_date") from None
        if period.end < period.start:
            raise PeriodRefused("invalid_range")
        if period.days > MAX_DAYS:
            raise PeriodRefused("range_too_long")
        return "", period
    known: Preset = next((p for p in PRESETS if p == preset), "this_month")
    return known, preset_period(known, today)


# --- figures beside the previous period's -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    direction: Literal["up", "down", "same"]
    percent: Decimal | None  # None: the previous period had nothing to compare with


@dataclass(frozen=True, slots=True)
class Line:
    """One figure of the table: its key (also the words' key), its kind, the period's value,
    the previous period's (None: unknown, or not answered for the previous period), and the
    change when both are known."""

    key: str
    kind: Kind
    current: int | str | None
    previous: int | str | None
    has_previous: bool
    change: Change | None


def change(current: int | str | None, previous: int | str | None) -> Change | None:
    """Up, down or the same, and by how many percent of the previous value (one decimal,
    half up); None when either is unknown."""
    if current is None or previous is None:
        return None
    now, before = Decimal(str(current)), Decimal(str(previous))
    direction: Literal["up", "down", "same"] = (
        "up" if now > before else "down" if now < before else "same"
    )
    if before == 0:
        return Change(direction, None)
    percent = ((now - before) * 100 / abs(before)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return Change(direction, percent)


# The figures shown, in the page's order: (key, kind, where the previous value is read).
# "members" is compared with the members at the start: the end of the previous period.
_MAIN: tuple[tuple[str, Kind], ...] = (
    ("revenue_cents", "money"),
    ("visits", "count"),
    ("average_basket_cents", "money"),
    ("member_share_bps", "share"),
    ("sales", "count"),
    ("anonymous_sales", "count"),
    ("member_revenue_cents", "money"),
    ("anonymous_revenue_cents", "money"),
    ("returns", "count"),
    ("returned_cents", "money"),
    ("customers", "count"),
    ("visits_per_customer", "ratio"),
    ("enrolments", "count"),
    ("rewards_granted_cents", "money"),
    ("redemptions", "count"),
    ("rewards_spent_cents", "money"),
)
_NOW_ONLY: tuple[tuple[str, Kind], ...] = (("inactive_customers", "count"),)
_SPONSORSHIP: tuple[tuple[str, Kind], ...] = (
    ("newcomers", "count"),
    ("sponsor_rewards", "count"),
    ("sponsor_rewards_cents", "money"),
    ("sponsor_rewards_capped", "count"),
    ("newcomer_rewards", "count"),
    ("newcomer_rewards_cents", "money"),
    ("rewards_cents", "money"),
    ("sponsored_customers", "count"),
    ("sponsored_visits", "count"),
    ("sponsored_revenue_cents", "money"),
)


def _line(key: str, kind: Kind, now: Any, before: Any, has_previous: bool = True) -> Line:
    return Line(key, kind, now, before, has_previous, change(now, before) if has_previous else None)


def lines(figures: dict[str, Any], previous: dict[str, Any]) -> list[Line]:
    """The period's figures beside the previous period's (crm's answer, as it is)."""
    out = [_line(k, kind, figures.get(k), previous.get(k)) for k, kind in _MAIN]
    out.insert(4, _line("members", "count", figures.get("members"), figures["members_at_start"]))
    out += [_line(k, kind, figures.get(k), None, has_previous=False) for k, kind in _NOW_ONLY]
    return out


def sponsorship_lines(figures: dict[str, Any], previous: dict[str, Any]) -> list[Line]:
    now, before = figures.get("sponsorship") or {}, previous.get("sponsorship") or {}
    return [_line(k, kind, now.get(k), before.get(k)) for k, kind in _SPONSORSHIP]


def share(bps: int, language: str) -> str:
    """Basis points as a percentage: 8750 → ``87,5 %`` / ``87.5%``."""
    value = Decimal(bps) / 100
    locale = "fr_FR" if language == "fr" else "en_GB"
    text = format_decimal(value, format="#,##0.#", locale=locale)
    return f"{text}\u202f%" if language == "fr" else f"{text}%"


def written(kind: Kind, value: int | str | None, language: str, unknown: str) -> str:
    """A figure as the person reads it; ``unknown`` (already in their language) for null."""
    if value is None:
        return unknown
    locale = "fr_FR" if language == "fr" else "en_GB"
    if kind == "money":
        return money(int(value), language)
    if kind == "share":
        return share(int(value), language)
    if kind == "ratio":
        return format_decimal(Decimal(str(value)), format="#,##0.00", locale=locale)
    return format_decimal(int(value), locale=locale)


def day_written(day: date | str, language: str) -> str:
    """A day as the person reads it: ``1 déc. 2031`` / ``1 Dec 2031``."""
    locale = "fr_FR" if language == "fr" else "en_GB"
    when = date.fromisoformat(day) if isinstance(day, str) else day
    return format_date(when, format="medium", locale=locale)


def percent_written(c: Change, language: str) -> str:
    """``+12,5 %`` / ``-3.0%``; an arrow word is the page's (up, down)."""
    if c.percent is None:
        return ""
    locale = "fr_FR" if language == "fr" else "en_GB"
    sign = "+" if c.percent > 0 else "-" if c.percent < 0 else ""
    text = format_decimal(abs(c.percent), format="#,##0.0", locale=locale)
    return f"{sign}{text}\u202f%" if language == "fr" else f"{sign}{text}%"


# --- charts: shapes for an SVG ------------------------------------------------------------------

# Small enough that the axis' labels (15 units high) stay readable when a phone scales the
# chart down to its width.
WIDTH, HEIGHT = 480, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 12, 32  # room for the axis' labels


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: int  # 0: the period, 1: the previous period

    @property
    def fill(self) -> str:
        return CURRENT_COLOUR if self.series == 0 else PREVIOUS_COLOUR


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # x for a category, y for a value
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """What the template draws: the bars or the line, the axes' ticks, and the same data as a
    table (the labels' column and one column per series) for screen readers."""

    key: str  # the words' key of the title and the description
    kind: Literal["bars", "line"]
    bars: tuple[Bar, ...]
    points: str  # the line's "x,y x,y …" (empty for bars)
    dots: tuple[tuple[float, float, int], ...]  # the line's points and values
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    series: tuple[str, ...]  # the words' keys of the series, in the table's columns
    rows: tuple[tuple[str, tuple[int, ...]], ...]  # label, a value per series
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def baseline(self) -> float:
        return HEIGHT - BOTTOM

    @property
    def left(self) -> float:
        return LEFT

    @property
    def right(self) -> float:
        return WIDTH - RIGHT

    @property
    def empty(self) -> bool:
        return all(v == 0 for _, values in self.rows for v in values)


def nice_top(highest: int) -> int:
    """The value axis' top: 1, 2 or 5 times a power of ten, at or above the highest value (at
    least 1, so that an empty chart still has an axis)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= highest:
                return max(1, m * step)
        step *= 10


def _y_ticks(top: int) -> tuple[Tick, ...]:
    plot = HEIGHT - TOP - BOTTOM
    values = sorted({0, top // 2, top} if top % 2 == 0 else {0, top})
    return tuple(Tick(round(HEIGHT - BOTTOM - plot * v / top, 1), str(v)) for v in values)


def bar_chart(
    key: str,
    labels: list[str],
    series: list[list[int]],
    names: tuple[str, ...],
    label_every: int = 1,
) -> Chart:
    """Bars per category, one per series side by side (the period's, then the previous
    period's): their heights scaled to one value axis from 0. ``label_every``: a category's
    label every n (24 hours do not all fit on a phone)."""
    top = nice_top(max((v for s in series for v in s), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    gap = slot * 0.2
    width = (slot - gap) / max(1, len(series))
    bars = []
    for i in range(len(labels)):
        for s, values in enumerate(series):
            h = plot_h * values[i] / top
            x = LEFT + i * slot + gap / 2 + s * width
            bars.append(Bar(round(x, 1), round(HEIGHT - BOTTOM - h, 1), round(width, 1),
                            round(h, 1), values[i], s))  # fmt: skip
    ticks = tuple(
        Tick(round(LEFT + (i + 0.5) * slot, 1), label)
        for i, label in enumerate(labels)
        if i % label_every == 0
    )
    rows = tuple((label, tuple(s[i] for s in series)) for i, label in enumerate(labels))
    return Chart(key, "bars", tuple(bars), "", (), ticks, _y_ticks(top), names, rows)


def line_chart(key: str, labels: list[str], values: list[int], label_every: int = 1) -> Chart:
    """A line through the values, evenly spaced, from the value axis' 0."""
    top = nice_top(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(values) - 1)
    dots = tuple(
        (
            round(LEFT + (i * step if len(values) > 1 else plot_w / 2), 1),
            round(HEIGHT - BOTTOM - plot_h * v / top, 1),
            v,
        )
        for i, v in enumerate(values)
    )
    ticks = tuple(Tick(dots[i][0], label) for i, label in enumerate(labels) if i % label_every == 0)
    rows = tuple((label, (values[i],)) for i, label in enumerate(labels))
    points = " ".join(f"{x},{y}" for x, y, _ in dots)
    return Chart(key, "line", (), points, dots, ticks, _y_ticks(top), ("Enrolments",), rows)


def charts(figures: dict[str, Any], previous: dict[str, Any], language: str) -> list[Chart]:
    """The dashboard's four charts: traffic by hour and by weekday, the period's sales per
    weekday against the previous period's, enrolments over time."""
    traffic, before = figures["traffic"], previous["traffic"]
    hours = [f"{h}h" if language == "fr" else f"{h:02d}" for h in range(24)]
    days = list(WEEKDAYS)
    steps = figures.get("enrolments_over_time") or []
    month = figures.get("enrolments_step") == "month"
    step_labels = [s["start"][:7] if month else s["start"][5:] for s in steps]
    return [
        bar_chart("traffic_by_hour", hours, [traffic["by_hour"]], ("Sales",), label_every=3),
        bar_chart("traffic_by_weekday", days, [traffic["by_weekday"]], ("Sales",)),
        bar_chart(
            "against_previous",
            days,
            [traffic["by_weekday"], before["by_weekday"]],
            ("This period", "Previous period"),
        ),
        line_chart(
            "enrolments_over_time",
            step_labels,
            [int(s["enrolments"]) for s in steps],
            label_every=max(1, -(-len(steps) // 8)),
        ),
    ]
