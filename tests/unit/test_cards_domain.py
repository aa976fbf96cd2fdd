"""The cards service's pure rules: a sale's entries, the visit threshold, returns, card checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.cards.domain import (
    AccountState,
    CardState,
    Credit,
    Movement,
    Overdrawn,
    ReturnRefusal,
    SaleBooked,
    apply,
    card_refusal,
    credit_sale,
    reverse,
)
from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates
from shared.rules.engine import RuleBook, Sale
from shared.rules.programs import Program, ProgramKind
from shared.rules.visit_threshold import VisitThreshold

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)
NETWORK = NetworkRates(CalculationMode.NETWORK, 500, 50)  # 5 % to the customer, 0.5 % fee
CAGNOTTE = Program("p")
POINTS = Program(
    "pts", ProgramKind.POINTS, points_per_euro=1, units_per_reward=100, reward_cents=500
)


def credit(
    state: AccountState,
    amount: int,
    policy: VisitThreshold,
    at: datetime = T0,
    program: Program = CAGNOTTE,
) -> Credit:
    ev = RuleBook(NETWORK, [Merchant("m")], program).evaluate(Sale("m", None, amount, at))
    return credit_sale(state, ev, program, policy, at)


def test_without_threshold_a_sale_is_one_entry_to_available() -> None:
    # 24.60 € at 5 % = 1.23 €
    c = credit(AccountState(available=100), 2460, VisitThreshold(1))
    assert c.movements == [Movement("cagnottage", "available", 123)]
    assert c.state.available == 223 and c.reward_cents == 123


def test_the_threshold_moves_pending_to_available_at_the_third_visit() -> None:
    policy = VisitThreshold(3)
    s = AccountState()
    # visits 1 and 2: 10.00 € and 20.00 € at 5 % = 0.50 € and 1.00 €, both pending
    c1 = credit(s, 1000, policy)
    assert c1.movements == [Movement("cagnottage", "pending", 50)]
    c2 = credit(c1.state, 2000, policy, T0 + timedelta(days=1))
    assert (c2.state.pending, c2.state.available, c2.state.visits) == (150, 0, 2)
    # visit 3: 30.00 € = 1.50 €; 0.50 + 1.00 + 1.50 = 3.00 € move to available, counters reset
    c3 = credit(c2.state, 3000, policy, T0 + timedelta(days=2))
    assert c3.movements == [
        Movement("cagnottage", "pending", 150),
        Movement("threshold_transfer", "pending", -300),
        Movement("threshold_transfer", "available", 300),
    ]
    assert (c3.state.pending, c3.state.available, c3.state.visits) == (0, 300, 0)
    assert c3.transferred_cents == 300


def test_pending_expires_when_the_window_passes() -> None:
    policy = VisitThreshold(3, timedelta(days=30))
    c1 = credit(AccountState(), 1000, policy)  # 0.50 € pending, window opens at T0
    c2 = credit(c1.state, 2000, policy, T0 + timedelta(days=31))
    # the 0.50 € expire; this 1.00 € is the first visit of a new window
    assert c2.movements == [
        Movement("pending_expired", "pending", -50),
        Movement("cagnottage", "pending", 100),
    ]
    assert c2.expired_cents == 50 and c2.state.pending == 100 and c2.state.visits == 1


def test_points_convert_into_euros_by_whole_rewards() -> None:
    # 1 point per euro; 100 points = 5.00 €. 40 points held + 75.40 € → 75 points = 115:
    # one reward of 5.00 €, 15 points left.
    c = credit(AccountState(units=40), 7540, VisitThreshold(1), program=POINTS)
    assert c.movements == [
        Movement("cagnottage", "units", 75),
        Movement("conversion", "units", -100),
        Movement("conversion", "available", 500),
    ]
    assert (c.state.units, c.state.available, c.units_earned, c.reward_cents) == (15, 500, 75, 500)


def test_a_debit_below_zero_is_refused_but_an_adjustment_may() -> None:
    with pytest.raises(Overdrawn):
        apply(AccountState(available=100), [Movement("decagnottage", "available", -101)])
    state, applied = apply(AccountState(available=100), [Movement("adjustment", "available", -150)])
    assert state.available == -50 and applied[0][1] == -50


def test_a_full_return_takes_back_exactly_the_reward_left_after_partial_ones() -> None:
    sale = SaleBooked(amount_cents=3000, reward_cents=150, fee_cents=15, units_earned=0)
    # a third returned: 150 × 1000 / 3000 = 50, fee 15 / 3 = 5
    r1 = reverse(sale, 1000, AccountState(available=150))
    assert (r1.reward_cents, r1.fee_cents) == (50, 5)
    after = SaleBooked(3000, 150, 15, 0, 1000, 50, 5, 0)
    # the rest: exactly 100 and 10, whatever rounding did before
    r2 = reverse(after, 2000, AccountState(available=100))
    assert (r2.reward_cents, r2.fee_cents) == (100, 10)
    with pytest.raises(ReturnRefusal) as exc:
        reverse(SaleBooked(3000, 150, 15, 0, 3000, 150, 15, 0), 1, AccountState(available=100))
    assert exc.value.reason == "return_exceeds_sale"


def test_a_return_takes_pending_first_and_refuses_to_go_negative() -> None:
    sale = SaleBooked(amount_cents=2000, reward_cents=100, fee_cents=10, units_earned=0)
    r = reverse(sale, 2000, AccountState(available=80, pending=30))
    assert r.movements == [
        Movement("reversal", "pending", -30),
        Movement("reversal", "available", -70),
    ]
    with pytest.raises(ReturnRefusal) as exc:
        reverse(sale, 2000, AccountState(available=20))  # the reward was spent
    assert exc.value.reason == "would_go_negative" and exc.value.reward_cents == 100


def test_card_checks() -> None:
    card = CardState("1", "active", date(2028, 1, 31), T0, T0 - timedelta(days=400))
    assert card_refusal(card, T0 + timedelta(days=10), 183) is None
    assert card_refusal(card, T0 + timedelta(days=183), 183)[0] == "card_dormant"  # type: ignore[index]
    assert card_refusal(card, datetime(2028, 2, 1, tzinfo=UTC), 10_000)[0] == "card_expired"  # type: ignore[index]
    lost = CardState("1", "lost", None, T0, T0)
    assert card_refusal(lost, T0, 183)[0] == "card_lost"  # type: ignore[index]


@given(
    st.lists(st.tuples(st.integers(1, 500_000), st.integers(0, 60)), min_size=1, max_size=30),
    st.integers(1, 5),
    st.one_of(st.none(), st.integers(1, 90)),
)
def test_sales_conserve_money_and_balances_equal_their_entries(
    sales: list[tuple[int, int]], visits: int, max_days: int | None
) -> None:
    policy = VisitThreshold(visits, timedelta(days=max_days) if max_days else None)
    state, at = AccountState(), T0
    entries = {"available": 0, "pending": 0}
    rewarded = expired = 0
    for amount, gap in sales:
        at += timedelta(days=gap)
        c = credit(state, amount, policy, at)
        _, applied = apply(state, c.movements)
        for m, after in applied:
            entries[m.bucket] += m.amount
            assert after >= 0
        rewarded += c.reward_cents
        expired += c.expired_cents
        state = c.state
    assert entries == {"available": state.available, "pending": state.pending}
    assert state.available + state.pending == rewarded - expired
