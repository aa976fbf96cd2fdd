"""The visit threshold of F8: pending until the Nth purchase, available from the N+1th."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.rules.visit_threshold import VisitCounters, VisitThreshold, apply_purchase

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def test_rewards_stay_pending_until_the_nth_purchase_then_move_to_available() -> None:
    policy = VisitThreshold(visits_needed=3)
    counters = VisitCounters()
    first = apply_purchase(counters, 120, T0, policy)
    assert first.counters == VisitCounters(120, 0, 1, T0)
    second = apply_purchase(first.counters, 80, T0 + timedelta(days=1), policy)
    assert second.counters == VisitCounters(200, 0, 2, T0)
    # 3rd purchase: 120 + 80 + 50 = 250 move to available, counters reset.
    third = apply_purchase(second.counters, 50, T0 + timedelta(days=2), policy)
    assert third.counters == VisitCounters(0, 250, 0, None)
    assert (third.transferred_cents, third.expired_cents) == (250, 0)
    # 4th purchase (the N+1th) opens a new cycle; the 250 are there to spend.
    fourth = apply_purchase(third.counters, 30, T0 + timedelta(days=3), policy)
    assert fourth.counters == VisitCounters(30, 250, 1, T0 + timedelta(days=3))


def test_with_one_visit_needed_every_reward_is_available_at_once() -> None:
    outcome = apply_purchase(VisitCounters(available_cents=10), 45, T0, VisitThreshold(1))
    assert outcome.counters == VisitCounters(0, 55, 0, None)
    assert outcome.transferred_cents == 45


def test_pending_expires_visibly_when_n_is_not_reached_within_the_max_period() -> None:
    policy = VisitThreshold(visits_needed=3, max_period=timedelta(days=30))
    counters = VisitCounters(200, 40, 2, T0)
    # Day 30 exactly: the window [T0, T0 + 30 days) is over. The 200 pending expire, reported;
    # this purchase is visit 1 of a new window.
    outcome = apply_purchase(counters, 70, T0 + timedelta(days=30), policy)
    assert outcome.expired_cents == 200
    assert outcome.counters == VisitCounters(70, 40, 1, T0 + timedelta(days=30))
    assert outcome.transferred_cents == 0


def test_the_nth_purchase_just_inside_the_max_period_still_transfers() -> None:
    policy = VisitThreshold(visits_needed=3, max_period=timedelta(days=30))
    counters = VisitCounters(200, 0, 2, T0)
    outcome = apply_purchase(counters, 70, T0 + timedelta(days=30) - timedelta(seconds=1), policy)
    assert (outcome.transferred_cents, outcome.expired_cents) == (270, 0)


def test_threshold_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        VisitThreshold(0)
    with pytest.raises(ValueError, match="never negative"):
        apply_purchase(VisitCounters(), -1, T0, VisitThreshold(2))
