"""The dashboard's pure rules (services/portal/domain/dashboard.py): the periods a person
chooses, each figure beside the previous period's, and the charts' shapes for the SVG."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.portal.domain import dashboard as d
from services.portal.entrypoints import words
from services.portal.service.dashboard import EXPORTS

TODAY = date(2031, 3, 14)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("this_month", date(2031, 3, 1), TODAY),
        ("last_month", date(2031, 2, 1), date(2031, 2, 28)),
        ("last_30_days", date(2031, 2, 13), TODAY),
        ("this_year", date(2031, 1, 1), TODAY),
    ],
)
def test_each_preset_is_the_days_it_names(preset: d.Preset, start: date, end: date) -> None:
    assert d.preset_period(preset, TODAY) == d.Period(start, end)


def test_last_month_in_january_is_last_years_december() -> None:
    assert d.preset_period("last_month", date(2031, 1, 5)) == d.Period(
        date(2030, 12, 1), date(2030, 12, 31)
    )


def test_two_dates_win_over_a_preset_and_nothing_is_this_month() -> None:
    assert d.chosen_period("this_year", "2031-01-10", "2031-01-20", TODAY) == (
        "",
        d.Period(date(2031, 1, 10), date(2031, 1, 20)),
    )
    assert d.chosen_period("", "", "", TODAY) == ("this_month", d.Period(date(2031, 3, 1), TODAY))
    assert d.chosen_period("next_century", "2031-01-10", "", TODAY)[0] == "this_month"


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        ("2031-13-01", "2031-12-31", "invalid_date"),
        ("2031-03-10", "2031-03-09", "invalid_range"),
        ("2026-12-01", "2031-01-01", "range_too_long"),
    ],
)
def test_a_period_that_is_not_one_is_refused_with_its_reason(
    start: str, end: str, reason: str
) -> None:
    with pytest.raises(d.PeriodRefused) as refused:
        d.chosen_period("", start, end, TODAY)
    assert refused.value.reason == reason


def test_a_change_is_up_or_down_by_a_percent_of_the_previous_value() -> None:
    assert d.change(1500, 1000) == d.Change("up", Decimal("50.0"))
    assert d.change(2, 3) == d.Change("down", Decimal("-33.3"))
    assert d.change(7, 7) == d.Change("same", Decimal("0.0"))
    assert d.change("1.50", "1.20") == d.Change("up", Decimal("25.0"))


def test_no_change_is_guessed_from_an_unknown_figure_or_a_zero() -> None:
    assert d.change(None, 8000) is None
    assert d.change(8000, None) is None
    assert d.change(5, 0) == d.Change("up", None)  # up, but by no percent of nothing


def _figures(**over: Any) -> dict[str, Any]:
    zero_traffic = {"by_hour": [0] * 24, "by_weekday": [0] * 7, "by_hour_of_week": []}
    base: dict[str, Any] = {
        "revenue_cents": 0,
        "visits": 0,
        "member_share_bps": None,
        "members": 0,
        "members_at_start": 0,
        "traffic": zero_traffic,
        "sponsorship": {},
        "enrolments_over_time": [],
        "enrolments_step": "day",
    }
    return base | over


def test_the_lines_hold_crms_values_unknown_stays_unknown_and_members_start_beside() -> None:
    now = _figures(revenue_cents=12000, visits=3, members=10, members_at_start=8)
    before = _figures(revenue_cents=8000, visits=3, member_share_bps=9000)
    by_key = {line.key: line for line in d.lines(now, before)}
    assert by_key["revenue_cents"].change == d.Change("up", Decimal("50.0"))
    assert by_key["visits"].change == d.Change("same", Decimal("0.0"))
    share = by_key["member_share_bps"]
    assert (share.current, share.previous, share.change) == (None, 9000, None)
    assert (by_key["members"].current, by_key["members"].previous) == (10, 8)
    assert not by_key["inactive_customers"].has_previous
    assert d.written("share", None, "fr", "inconnue") == "inconnue"


def test_figures_are_written_as_each_language_writes_them() -> None:
    assert d.written("money", 123456, "fr", "?") == "1\u202f234,56\xa0€"
    assert d.written("share", 8750, "fr", "?") == "87,5\u202f%"
    assert d.written("share", 10000, "en", "?") == "100%"
    assert d.written("ratio", "1.67", "fr", "?") == "1,67"
    assert d.written("count", 12345, "en", "?") == "12,345"
    assert d.percent_written(d.Change("down", Decimal("-3.0")), "fr") == "-3,0\u202f%"
    assert d.percent_written(d.Change("up", None), "en") == ""
    assert d.day_written("2031-12-01", "fr") == "1 déc. 2031"
    assert d.day_written(date(2031, 12, 1), "en") == "1 Dec 2031"


@pytest.mark.parametrize(
    ("highest", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (20, 20), (480, 500)]
)
def test_the_value_axis_ends_on_a_round_value_above_the_highest(highest: int, top: int) -> None:
    assert d.nice_top(highest) == top


def test_bars_are_scaled_to_the_axis_from_the_baseline() -> None:
    chart = d.bar_chart("traffic_by_weekday", list(d.WEEKDAYS), [[0, 5, 10, 0, 0, 0, 0]], ("S",))
    plot = d.HEIGHT - d.TOP - d.BOTTOM
    assert len(chart.bars) == 7
    tallest = chart.bars[2]
    assert (tallest.height, tallest.y, tallest.value) == (plot, d.TOP, 10)
    assert chart.bars[1].height == plot / 2
    assert all(b.y + b.height == pytest.approx(chart.baseline) for b in chart.bars)
    assert all(b.x >= d.LEFT and b.x + b.width <= d.WIDTH - d.RIGHT for b in chart.bars)
    assert [t.label for t in chart.y_ticks] == ["0", "5", "10"]
    assert chart.rows[2] == ("Wed", (10,))


def test_two_series_pair_their_bars_side_by_side_in_one_slot() -> None:
    chart = d.bar_chart("against_previous", ["a", "b"], [[4, 2], [1, 3]], ("now", "before"))
    a_now, a_before, b_now, _ = chart.bars
    assert (a_now.series, a_before.series) == (0, 1)
    assert (a_now.fill, a_before.fill) == (d.CURRENT_COLOUR, d.PREVIOUS_COLOUR)
    assert a_now.x + a_now.width == pytest.approx(a_before.x)
    assert b_now.x > a_before.x + a_before.width
    assert chart.rows == (("a", (4, 1)), ("b", (2, 3)))
    assert chart.series == ("now", "before")


def test_an_empty_chart_keeps_an_axis_and_says_it_is_empty() -> None:
    chart = d.bar_chart("traffic_by_hour", [str(h) for h in range(24)], [[0] * 24], ("S",), 3)
    assert chart.empty and all(b.height == 0 for b in chart.bars)
    assert len(chart.x_ticks) == 8  # one hour's label in three
    assert [t.label for t in chart.y_ticks] == ["0", "1"]


def test_the_line_goes_through_each_value_left_to_right() -> None:
    chart = d.line_chart("enrolments_over_time", ["01", "02", "03"], [0, 5, 2])
    xs = [x for x, _, _ in chart.dots]
    assert xs == sorted(xs) and xs[0] == d.LEFT and xs[-1] == d.WIDTH - d.RIGHT
    assert chart.dots[0][1] == chart.baseline and chart.dots[1][1] == d.TOP
    assert chart.points == " ".join(f"{x},{y}" for x, y, _ in chart.dots)
    single = d.line_chart("enrolments_over_time", ["01"], [3])
    assert single.dots[0][0] == d.LEFT + (d.WIDTH - d.LEFT - d.RIGHT) / 2


def test_the_dashboard_draws_four_charts_from_crms_answer() -> None:
    traffic = {"by_hour": [0] * 9 + [2] + [0] * 14, "by_weekday": [1, 1, 0, 0, 0, 0, 0]}
    before = {"by_hour": [0] * 24, "by_weekday": [0, 3, 0, 0, 0, 0, 0]}
    steps = [{"start": "2031-03-01", "enrolments": 1}, {"start": "2031-03-02", "enrolments": 0}]
    charts = d.charts(
        _figures(traffic=traffic, enrolments_over_time=steps),
        _figures(traffic=before),
        "fr",
    )
    assert [c.key for c in charts] == [
        "traffic_by_hour",
        "traffic_by_weekday",
        "against_previous",
        "enrolments_over_time",
    ]
    assert charts[0].rows[9] == ("9h", (2,))
    assert charts[2].rows[1] == ("Tue", (1, 3))
    assert charts[3].rows == (("03-01", (1,)), ("03-02", (0,)))


def test_every_figure_chart_and_file_has_its_words_in_french_and_in_english() -> None:
    now = _figures(members=1, members_at_start=0)
    keys = [f"fig.{line.key}" for line in d.lines(now, now) + d.sponsorship_lines(now, now)]
    for chart in d.charts(now, now, "en"):
        keys += [f"chart.{chart.key}{end}" for end in ("", ".desc", ".label")]
        keys += [*chart.series, *(label for label, _ in chart.rows if label in d.WEEKDAYS)]
    keys += [f"export.{name}" for name in EXPORTS] + [f"preset.{p}" for p in d.PRESETS]
    keys += [f"channel.{c}" for c in ("email", "sms", "post")]
    for key in keys:
        assert words.translate(key, "fr") != key, key
        if "." in key:
            assert words.translate(key, "en") != key, key
