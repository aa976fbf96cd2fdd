"""The visit threshold (F8): rewards wait in a pending counter until the Nth purchase.

Semantics, per purchase, in this order:

1. **Expiry.** With a ``max_period`` and a window open (at least one pending visit), if the
   purchase comes at or after ``window_started_at + max_period``, the N purchases were not
   reached in time: the pending amount expires (returned as ``expired_cents``, for the caller
   to book: nothing disappears silently) and the counters reset. This purchase then counts as
   the first visit of a new window.
2. **Count.** The purchase's reward is added to pending and the visit counted; the first visit
   of a window sets ``window_started_at``.
3. **Transfer.** At the Nth visit, the whole pending amount (this purchase's reward included)
   moves to available (``transferred_cents``) and the counters reset (visits 0, no window): it
   is spendable from the N+1th purchase on. With N = 1 every reward moves at once.

Money is conserved: ``pending + available + reward`` before equals ``pending + available +
expired`` after, for every purchase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class VisitThreshold:
    visits_needed: int
    max_period: timedelta | None = None

    def __post_init__(self) -> None:
        if self.visits_needed < 1:
            raise ValueError("visits_needed is at least 1")
        if self.max_period is not None and self.max_period <= timedelta(0):
            raise ValueError("max_period must be positive")


@dataclass(frozen=True, slots=True)
class VisitCounters:
    pending_cents: int = 0
    available_cents: int = 0
    visits: int = 0
    window_started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VisitThresholdOutcome:
    counters: VisitCounters
    transferred_cents: int
    expired_cents: int


def apply_purchase(
    counters: VisitCounters, reward_cents: int, at: datetime, visit_threshold: VisitThreshold
) -> VisitThresholdOutcome:
    if reward_cents < 0:
        raise ValueError("a reward is never negative")
    if at.utcoffset() is None:
        raise ValueError("a purchase time must be time-zone aware")
    pending, visits, started = counters.pending_cents, counters.visits, counters.window_started_at
    expired = 0
    if (
        visit_threshold.max_period is not None
        and started is not None
        and at >= started + visit_threshold.max_period
    ):
        expired, pending, visits, started = pending, 0, 0, None
    pending += reward_cents
    visits += 1
    if started is None:
        started = at
    if visits >= visit_threshold.visits_needed:
        available = counters.available_cents + pending
        return VisitThresholdOutcome(VisitCounters(0, available, 0, None), pending, expired)
    return VisitThresholdOutcome(
        VisitCounters(pending, counters.available_cents, visits, started), 0, expired
    )
