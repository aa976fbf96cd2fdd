"""SMS rules, pure: segments in GSM 7-bit or UCS-2, and the hours marketing SMS may leave at
in France (deferred to the next allowed instant, never dropped)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.notifications.domain import hours, sms
from services.notifications.domain.messages import is_stop
from shared.clock import PARIS


@pytest.mark.parametrize(
    ("text", "encoding", "parts", "units"),
    [
        ("", "gsm7", 1, 0),
        ("a" * 160, "gsm7", 1, 160),
        ("a" * 161, "gsm7", 2, 161),
        ("a" * 306, "gsm7", 2, 306),
        ("a" * 307, "gsm7", 3, 307),
        ("€" * 80, "gsm7", 1, 160),  # each € is an escape and itself
        ("€" * 81, "gsm7", 2, 162),
        ("a" * 152 + "€", "gsm7", 1, 154),
        ("a" * 158 + "€" + "a", "gsm7", 2, 161),  # the pair is not split: 152 + … in part two
        ("Café à 2€, été", "gsm7", 1, 15),  # é, à are in the basic table
        ("ç" * 70, "ucs2", 1, 70),  # ç is not (only Ç is)
        ("ç" * 71, "ucs2", 2, 71),
        ("a" * 134 + "ç", "ucs2", 3, 135),
        ("🎂" * 35, "ucs2", 1, 70),
        ("a" * 66 + "🎂" + "a" * 4, "ucs2", 2, 72),  # the surrogate pair moves to part two
    ],
)
def test_segments(text: str, encoding: str, parts: int, units: int) -> None:
    assert sms.segments(text) == (encoding, parts, units)


def test_easter_and_the_french_public_holidays() -> None:
    assert hours.easter(2027) == date(2027, 3, 28)
    assert hours.easter(2026) == date(2026, 4, 5)
    h = hours.public_holidays(2026)
    assert len(h) == 11
    assert {
        date(2026, 4, 6),
        date(2026, 5, 14),
        date(2026, 5, 25),
    } <= h  # Monday, Ascension, Whit Monday
    assert date(2026, 4, 5) not in h  # Easter Sunday is a Sunday anyway


def paris(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("due", "leaves"),
    [
        (paris(2026, 12, 2, 10, 0), paris(2026, 12, 2, 10, 0)),  # a Wednesday morning: now
        (paris(2026, 12, 2, 7, 59), paris(2026, 12, 2, 8, 0)),  # before 08:00: at 08:00
        (paris(2026, 12, 2, 19, 59), paris(2026, 12, 2, 19, 59)),
        (paris(2026, 12, 2, 20, 0), paris(2026, 12, 3, 8, 0)),  # 20:00: tomorrow morning
        (paris(2026, 12, 5, 21, 0), paris(2026, 12, 7, 8, 0)),  # Saturday 21:00: Monday 08:00
        (paris(2026, 12, 6, 12, 0), paris(2026, 12, 7, 8, 0)),  # a Sunday: Monday
        (paris(2026, 12, 24, 20, 30), paris(2026, 12, 26, 8, 0)),  # Christmas Day skipped
        (paris(2026, 5, 13, 22, 0), paris(2026, 5, 15, 8, 0)),  # Ascension Thursday skipped
        (
            paris(2027, 4, 30, 21, 0),
            paris(2027, 5, 3, 8, 0),
        ),  # Friday night, May Day Saturday, Sunday
    ],
)
def test_marketing_sms_hours(due: datetime, leaves: datetime) -> None:
    assert hours.next_allowed(due.astimezone(UTC)) == leaves


def test_the_morning_is_paris_time_across_the_clock_change() -> None:
    # Saturday 2026-03-28 21:00 winter time (UTC+1); Monday 08:00 is summer time (UTC+2).
    left = hours.next_allowed(paris(2026, 3, 28, 21, 0).astimezone(UTC))
    assert left == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    # Saturday 2027-10-30 21:00 summer time: Monday is All Saints' Day, Tuesday 08:00 UTC+1.
    left = hours.next_allowed(paris(2027, 10, 30, 21, 0).astimezone(UTC))
    assert left == datetime(2027, 11, 2, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", "STOP"),
        ("stop", "STOP"),
        (" Stop SMS", "STOPSMS"),
        ("Arrêt", "ARRÊT"),
        ("stoppe", "STOP"),
        ("Bonjour", None),
    ],
)
def test_stop_words(text: str, keyword: str | None) -> None:
    assert is_stop(text) == keyword
