"""Periods of the books: calendar months of Paris time (pure: no I/O).

An entry belongs to the month it occurred in, unless that month is closed: then to the first
open month (a terminal that synced a week late), its original date kept. A closed month is
only corrected by a ``merchant_adjustment`` booked in the open month.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from uuid import UUID

from services.clearing.domain.errors import Refused
from shared.clock import PARIS

# The most months one close may cover (the months since the last close, the asked one
# included): two years is plausible for an association that never closed; more is a date gone
# wrong.
MAX_CLOSE_MONTHS = 24


def month_of(moment: datetime) -> date:
    """The period (first day of the Paris month) a moment falls in."""
    local = moment.astimezone(PARIS)
    return date(local.year, local.month, 1)


def next_month(period: date) -> date:
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def period_end(period: date) -> date:
    """The last day of a period."""
    return date.fromordinal(next_month(period).toordinal() - 1)


def booking_period(occurred_at: datetime, closed_through: date | None) -> date:
    """The month an entry is booked in: its own, or the first open one after the close."""
    own = month_of(occurred_at)
    if closed_through is None or own > closed_through:
        return own
    return next_month(closed_through)


def parse_period(text: str) -> date:
    """``YYYY-MM`` → the period's first day; ValueError with a readable message otherwise."""
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a period: write it YYYY-MM, e.g. 2026-10") from None


def period_label(period: date) -> str:
    return f"{period.year:04d}-{period.month:02d}"


def months_after(period: date, months: int) -> date:
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_closing(period: date) -> datetime:
    """The last second of a period, Paris time: the date of the entries the close makes."""
    return datetime.combine(period_end(period), time(23, 59, 59), PARIS)


def period_start(period: date) -> datetime:
    """The first instant of a period, Paris time."""
    return datetime.combine(period, time(), PARIS)


def due_period(now: datetime, after_hours: int) -> date:
    """The month the end-of-month close is due for: the month before the one we were in
    ``after_hours`` ago, over for at least that long."""
    target = date.fromordinal(month_of(now - timedelta(hours=after_hours)).toordinal() - 1)
    return target.replace(day=1)


def months_to_close(
    association_id: UUID, period: date, closed: date | None, first: date | None, now: datetime
) -> list[date]:
    """The months a close of ``period`` closes (every open one up to it), the books closed
    through ``closed`` and starting in ``first`` (None: clearing knows nothing of the
    association); ``Refused`` when the close cannot be made."""
    label = period_label(period)
    if closed is not None and period <= closed:
        raise Refused(
            409,
            "Period already closed",
            f"{label} is closed (the books are closed through {period_label(closed)}): "
            "correct it with an adjustment",
            reason="period_closed",
        )
    if now < period_start(next_month(period)):
        raise Refused(
            409,
            "Period not over",
            f"{label} ends on {period_end(period)}: close it after that",
            reason="period_not_over",
        )
    if first is None:
        raise Refused(
            404,
            "Unknown association",
            f"clearing knows no merchant and no entry of association {association_id}",
        )
    if period < first:
        # Closing it would close every month from there on: centuries of empty statements.
        raise Refused(
            409,
            "Before the books start",
            f"the books of association {association_id} start in "
            f"{period_label(first)}: {label} has nothing to close",
            reason="before_books_start",
        )
    start = next_month(closed) if closed else first
    months = (period.year - start.year) * 12 + period.month - start.month + 1
    if months > MAX_CLOSE_MONTHS:
        # A close runs in one transaction: 24,311 months (books opened by a sale dated year 1)
        # held the books' lock for 11 s and froze thousands of empty statements. Beyond a
        # plausible range something is wrong with the dates: refuse and say what to do.
        raise Refused(
            409,
            "Close range too long",
            f"closing {label} would close {months} months at once, from "
            f"{period_label(start)}; at most {MAX_CLOSE_MONTHS}: close "
            f"{period_label(months_after(start, MAX_CLOSE_MONTHS - 1))} first, or "
            "correct the entries dated that far back",
            reason="close_range_too_long",
            months=months,
            first_open=period_label(start),
        )
    periods = []
    m = start
    while m <= period:
        periods.append(m)
        m = next_month(m)
    return periods


def adjustable(period: date, closed: date | None) -> None:
    """An adjustment corrects a closed period only; ``Refused`` for an open one."""
    if closed is None or period > closed:
        raise Refused(
            409,
            "Period still open",
            f"{period_label(period)} is open: its entries can still change, "
            "an adjustment corrects a closed period",
            reason="period_open",
        )
