"""The back office's pure rules (services/portal/domain/manage.py): a campaign's form read
into crm's segment and variables, each mistake named by its field; rates typed in percent; a
promotion's days in Paris time; a note added once; the months of the statements."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.portal.domain import manage as rules

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _form(**fields: str) -> dict[str, str]:
    return {"name": "Truffes", "channel": "email", "template": "quick_news", "body": "Hop"} | fields


def test_a_campaigns_filters_become_crms_segment() -> None:
    c = rules.campaign(
        _form(seen_within_days="30", min_spent="12,50", min_visits="2", family="menu"),
        {"menu"},
        NOW,
    )
    assert c.segment("m") == {
        "merchant_id": "m",
        "channel": "email",
        "seen_since": "2026-11-07T12:00:00+00:00",
        "min_spent_cents": 1250,
        "min_visits": 2,
        "product_families": ["menu"],
    }
    assert c.variables == {"body": "Hop"} and c.monthly_day is None


def test_a_campaigns_mistakes_are_named_by_field() -> None:
    with pytest.raises(rules.FormRefused) as refused:
        rules.campaign(
            _form(
                name=" ",
                channel="fax",
                body="",
                seen_within_days="0",
                min_spent="x",
                min_visits="-1",
                family="other",
                when="monthly",
                monthly_day="31",
            ),
            {"menu"},
            NOW,
        )
    assert set(refused.value.errors) == {
        "name",
        "channel",
        "body",
        "seen_within_days",
        "min_spent",
        "min_visits",
        "family",
        "monthly_day",
    }


def test_an_sms_is_short_and_seen_lately_contradicts_not_seen() -> None:
    with pytest.raises(rules.FormRefused) as refused:
        rules.campaign(
            _form(channel="sms", body="x" * 301, seen_within_days="5", not_seen_for_days="9"),
            set(),
            NOW,
        )
    assert set(refused.value.errors) == {"body", "not_seen_for_days"}


@pytest.mark.parametrize(
    ("typed", "bps"),
    [("3", 300), ("2,5", 250), ("2.75 %", 275), ("0", 0), ("101", None), ("x", None)],
)
def test_a_rate_typed_in_percent(typed: str, bps: int | None) -> None:
    assert rules.bps(typed) == bps


def test_a_rate_written() -> None:
    assert rules.percent(450) == "4,5\u202f%" and rules.percent(300) == "3\u202f%"
    assert rules.percent(None) == ""


def test_a_promotions_days_run_in_paris_time_its_last_day_included() -> None:
    body = rules.promotion(
        {
            "name": "Noël",
            "starts": "2026-12-01",
            "ends": "2026-12-24",
            "kind": "times",
            "times": "2",
        },
        set(),
        "m",
    )
    assert body["starts_at"] == "2026-12-01T00:00:00+01:00"
    assert body["ends_at"] == "2026-12-25T00:00:00+01:00"
    assert body["multiplier"] == {"numerator": 2, "denominator": 1}
    with pytest.raises(rules.FormRefused) as refused:
        rules.promotion({"name": "", "starts": "2026-12-24", "ends": "2026-12-01"}, set(), "m")
    assert set(refused.value.errors) == {"name", "ends", "rate"}


def test_a_note_is_added_once_a_day() -> None:
    day = date(2026, 12, 7)
    once = rules.with_note("2026-12-01 — Client fidèle", day, " Aime  les truffes ")
    assert once == "2026-12-01 — Client fidèle\n2026-12-07 — Aime les truffes"
    assert rules.with_note(once, day, "Aime les truffes") == once
    with pytest.raises(rules.FormRefused):
        rules.with_note(None, day, "  ")


def test_the_statements_months_this_one_first() -> None:
    assert rules.months(date(2026, 2, 10), 3) == ["2026-02", "2026-01", "2025-12"]
    assert rules.period("2026-13") is None and rules.period("2026-01") == "2026-01"


def test_send_later_is_a_paris_time_to_come_within_a_year() -> None:
    now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday: summer time begins the next day
    at = rules.paris_instant("2026-03-29", "18:30", now)
    assert at == datetime(2026, 3, 29, 16, 30, tzinfo=UTC)  # UTC+2 from that night
    assert rules.paris_instant("2026-03-28", "13:00", now) == "Choose a time to come."  # 12:00Z
    assert rules.paris_instant("2027-03-30", "10:00", now) == "Choose a time within a year."
    for day, time in (("", "10:00"), ("2026-04-01", ""), ("28/03/2026", "10:00")):
        assert rules.paris_instant(day, time, now).startswith("A day and a time")  # type: ignore[union-attr]
    fields = {"name": "x", "channel": "email", "body": "b", "when": "later"}
    c = rules.campaign(fields | {"send_date": "2026-04-01", "send_time": "09:00"}, set(), now)
    assert c.send_at == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)
    try:
        rules.campaign(fields | {"send_date": "2026-03-01", "send_time": "09:00"}, set(), now)
    except rules.FormRefused as exc:
        assert exc.errors == {"send_date": "Choose a time to come."}
    else:
        raise AssertionError("a time past is refused")
    assert rules.paris_parts("2026-04-01T07:00:00+00:00") == ("2026-04-01", "09:00")
