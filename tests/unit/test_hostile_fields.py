"""Field types at the edge (shared/fields.py) and the date window (shared/rules/dates.py)
against hostile input (issue 11, findings 4 and 8): pure code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from shared.fields import Name, ProductFamilyCode, UtcInstant
from shared.rules.dates import DateWindow
from shared.settings import Settings


class _Person(BaseModel):
    name: Name


class _Sale(BaseModel):
    family: ProductFamilyCode
    at: UtcInstant


@pytest.mark.parametrize(
    "bad",
    ["Zo\u202eé", "Zoé\x1b[2J", "Zoé\r\nX", "Zo\u200bé", "Zo\u2066é", "Zoé\x00", "a\tb"],
)
def test_a_name_with_a_control_or_format_character_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="control characters are not allowed"):
        _Person(name=bad)


@pytest.mark.parametrize("good", ["Zoé L'Hôte", "Jean-Pierre Ørsted", "Ñandú", "=1+2"])
def test_names_with_letters_of_any_language_pass_and_formulas_are_left_to_the_writers(
    good: str,
) -> None:
    assert _Person(name=good).name == good


@pytest.mark.parametrize("bad", ["=1+2", "a b", "menu\u202e", "", "x" * 65, "+cmd"])
def test_a_product_family_is_a_well_formed_code(bad: str) -> None:
    with pytest.raises(ValidationError):
        _Sale(family=bad, at=datetime(2026, 12, 5, 12, tzinfo=UTC))


def test_one_instant_is_one_value_whatever_its_offset() -> None:
    a = _Sale(family="menu-midi", at="2026-12-05T10:00:00+01:00")  # type: ignore[arg-type]
    b = _Sale(family="menu-midi", at="2026-12-05T09:00:00Z")  # type: ignore[arg-type]
    assert a.at == b.at and a.at.utcoffset() == timedelta(0)
    assert a.at.isoformat() == b.at.isoformat()


def test_an_instant_that_does_not_exist_in_utc_is_refused_at_the_edge() -> None:
    with pytest.raises(ValidationError, match="outside the years 1 to 9999"):
        _Sale(family="x", at="0001-01-01T00:30:00+01:00")  # type: ignore[arg-type]


def test_the_window_refuses_the_future_the_too_old_and_before_the_books_start() -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    w = DateWindow()
    start = datetime(2026, 12, 1, tzinfo=UTC)
    assert w.refusal(now + timedelta(minutes=4), now) is None
    assert w.refusal(now + timedelta(minutes=6), now) == "occurred_in_future"
    assert w.refusal(now - timedelta(days=44), now) is None
    assert w.refusal(now - timedelta(days=46), now) == "occurred_too_long_ago"
    assert w.refusal(now - timedelta(days=5), now, start) == "occurred_before_books_start"
    year_one = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert w.refusal(year_one, now) == "occurred_too_long_ago"


def test_the_window_is_a_setting_of_45_days_by_default() -> None:
    assert Settings().date_window().max_age == timedelta(days=45)
    wide = Settings(date_max_age_days=400, date_future_tolerance_s=60).date_window()
    assert (wide.max_age, wide.future_tolerance) == (timedelta(days=400), timedelta(seconds=60))
