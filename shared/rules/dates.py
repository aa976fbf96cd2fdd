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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
        if occurred_at > now + self.future_tolerance:
            return "occurred_in_future"
        if occurred_at < now - self.max_age:
            return "occurred_too_long_ago"
        if books_start is not None and occurred_at < books_start:
            return "occurred_before_books_start"
        return None
