"""When a marketing SMS may leave, pure. French practice for commercial SMS (the operators'
code of conduct, FFTélécoms, and the CNIL's recommendation): not between 20:00 and 08:00, not
on Sundays, not on public holidays. A message due outside those hours is deferred to the next
allowed instant, never dropped. Transactional SMS (a code, a receipt) leave at any time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from shared.clock import PARIS

OPENS = time(8, 0)
CLOSES = time(20, 0)


def easter(year: int) -> date:
    """Easter Sunday (the Gregorian computus, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """France's eleven public holidays (Code du travail, L3133-1); Alsace-Moselle's two more
    are not counted."""
    e = easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    movable = [e + timedelta(days=1), e + timedelta(days=39), e + timedelta(days=50)]
    return frozenset([date(year, m, d) for m, d in fixed] + movable)


def allowed_day(day: date) -> bool:
    return day.weekday() != 6 and day not in public_holidays(day.year)


def next_allowed(at: datetime) -> datetime:
    """``at`` itself if a marketing SMS may leave then, else the next instant it may (08:00 in
    Paris of the next allowed day, or today's 08:00 if it is before). Aware, in UTC."""
    local = at.astimezone(PARIS)
    day = local.date()
    if allowed_day(day) and OPENS <= local.time() < CLOSES:
        return at
    if not (allowed_day(day) and local.time() < OPENS):
        day += timedelta(days=1)
        while not allowed_day(day):
            day += timedelta(days=1)
    return datetime.combine(day, OPENS, tzinfo=PARIS).astimezone(at.tzinfo or PARIS)
