"""The triggers' rules (F23, F24), pure: whose birthday a day is, the absence and spacing
windows, the derived message ids, the frequency cap."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from services.crm.domain import triggers as rules
from shared.clock import PARIS


def test_a_birthday_of_the_customer_spouse_or_a_child_on_the_day() -> None:
    day = date(2026, 7, 14)
    assert rules.whose_birthday(day, date(1980, 7, 14), date(1979, 1, 2), []) == ["customer"]
    assert rules.whose_birthday(day, None, date(1979, 7, 14), [date(2013, 7, 14)]) == [
        "spouse",
        "child",
    ]
    assert rules.whose_birthday(day, date(1980, 7, 15), None, []) == []


def test_a_29_february_is_celebrated_on_the_28th_without_a_leap_day() -> None:
    leapling = date(2000, 2, 29)
    assert rules.whose_birthday(date(2027, 2, 28), leapling, None, []) == ["customer"]
    assert rules.whose_birthday(date(2028, 2, 28), leapling, None, []) == []
    assert rules.whose_birthday(date(2028, 2, 29), leapling, None, []) == ["customer"]


def test_months_before_keeps_the_day_or_takes_the_months_last() -> None:
    assert rules.months_before(date(2026, 6, 15), 3) == date(2026, 3, 15)
    assert rules.months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert rules.months_before(date(2026, 1, 10), 2) == date(2025, 11, 10)


def test_an_absence_is_told_on_one_day_only() -> None:
    start, end = rules.absent_window(date(2026, 6, 15), 3)
    assert end - start == timedelta(days=1)
    assert start == rules.start_of(date(2026, 3, 15))
    assert rules.absent_window(date(2026, 6, 16), 3)[0] == end


def test_visits_spacing_out_past_twice_the_usual_interval() -> None:
    first = datetime(2026, 1, 1, 12, tzinfo=PARIS)
    last = first + timedelta(days=20)  # three visits: every ten days
    assert rules.spacing_out_on(date(2026, 2, 10), 3, first, last, 2)
    assert not rules.spacing_out_on(date(2026, 2, 9), 3, first, last, 2)
    assert not rules.spacing_out_on(date(2026, 2, 10), 2, first, last, 2)


def test_message_ids_are_derived_so_a_rerun_asks_for_the_same_messages() -> None:
    t, a, day = uuid.uuid4(), uuid.uuid4(), date(2026, 3, 1)
    assert rules.message_id(t, a, day) == rules.message_id(t, a, day)
    assert rules.message_id(t, a, day) != rules.message_id(t, a, day + timedelta(days=1))
    assert rules.message_id(t, a, day) != rules.voucher_batch_id(t, a, day)
    s = uuid.uuid4()
    assert rules.sale_message_id(t, s) == rules.sale_message_id(t, s)


def test_the_frequency_cap() -> None:
    assert not rules.capped(5, None)
    assert not rules.capped(0, 1)
    assert rules.capped(1, 1)
    assert rules.capped(0, 0)


def test_a_birthdays_offer_lasts_its_days_and_has_its_own_ids() -> None:
    t, a, day = uuid.uuid4(), uuid.uuid4(), date(2026, 12, 6)
    assert rules.offer_days({"rate_multiplier": 2, "rate_days": 3}) == 3
    assert rules.offer_days({"rate_multiplier": 2}) == rules.RATE_DAYS
    assert rules.offer_days({"voucher_cents": 500, "voucher_days": 60}) == 60
    assert rules.offer_days({}) == 30
    rate = rules.rate_promotion_id(t, a, day)
    assert rate == rules.rate_promotion_id(t, a, day)
    assert rate not in (rules.voucher_batch_id(t, a, day), rules.message_id(t, a, day))
    assert rate != rules.rate_promotion_id(t, a, day + timedelta(days=365))
