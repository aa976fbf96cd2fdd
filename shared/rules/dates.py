"""Dates within reason: when a dated operation (a sale, a redemption, a return, a card
transaction, a donation, an adjustment) may be booked.

A terminal's clock can be wrong, and a hostile one can backdate a sale into a promotion or a
card's validity, or date it year 1 so that the books open a period at ``-infinity``. So an
operation is booked only when it happened:

- not later than ``now`` plus a small tolerance (clocks drift, requests travel);
- not earlier than ``max_age`` before ``now`` (a terminal offline for longer syncs its
  journal to the back office, which quarantines what is older for a person to decide);
- not before its association's books start (nothing can be owed for a time the network did
  not exist).

Instants are compared as instants: ``10:00+01:00`` and ``09:00Z`` are the same moment.

Where the window is applied (issue 11, finding 4):

- the gateway refuses an online request (sale, redemption, return) at once, with a problem
  whose ``reason`` is the refusal below, before anything is recorded: the terminal learns it
  in the same answer (services/terminals/entrypoints/http/requests.py);
- the cards service applies it again, with the association's books start, to every dated
  event it books (sales, redemptions, returns from any source) and to the back office's
  dated donations and adjustments: it is the one that books, whoever sent the event;
- an offline card transaction outside the window is not refused (the customer has left with
  the goods) but held in quarantine with this reason (services/cards/domain/card_checks.py).

The window is a setting (``COMPTOIR_DATE_MAX_AGE_DAYS``, ``COMPTOIR_DATE_FUTURE_TOLERANCE_S``,
shared/settings.py ``Settings.date_window``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

DateRefusal = Literal["occurred_in_future", "occurred_too_long_ago", "occurred_before_books_start"]

FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_AGE = timedelta(days=45)


@dataclass(frozen=True, slots=True)
class DateWindow:
    future_tolerance: timedelta = FUTURE_TOLERANCE
    max_age: timedelta = MAX_AGE

    def refusal(
        self, occurred_at: datetime, now: datetime, books_start: datetime | None = None
    ) -> DateRefusal | None:
        """Why ``occurred_at`` may not be booked at ``now``, or None when it may."""
        if occurred_at.tzinfo is None or now.tzinfo is None:
            raise ValueError("instants must carry an offset")
        try:
            occurred_at = occurred_at.astimezone(UTC)
        except OverflowError:
            # Year 1 at +01:00 is year 0 in UTC: older than any window.
            return "occurred_too_long_ago" if occurred_at.year < 2 else "occurred_in_future"
        if occurred_at > now + self.future_tolerance:
            return "occurred_in_future"
        if occurred_at < now - self.max_age:
            return "occurred_too_long_ago"
        if books_start is not None and occurred_at < books_start:
            return "occurred_before_books_start"
        return None
