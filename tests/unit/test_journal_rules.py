from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.cards.domain import AccountState, Movement, Overdrawn, apply
from services.clearing import domain
from services.crm.domain import tally

A, M, N = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_an_accrual_charges_the_merchant_the_reward_plus_the_fee() -> None:
    postings = domain.accrual(A, M, reward_cents=123, fee_cents=12)
    assert {(p.account[1], p.amount_cents) for p in postings} == {
        ("merchant", 135),
        ("customer_liability", -123),
        ("operator_fees", -12),
    }


def test_a_redemption_makes_the_pivot_owe_the_redeeming_merchant() -> None:
    postings = domain.redemption(A, N, 100)
    assert {(p.account, p.amount_cents) for p in postings} == {
        ((A, "merchant", N), -100),
        ((A, "customer_liability", None), 100),
    }


def test_a_zero_fee_writes_no_empty_posting() -> None:
    assert all(p.amount_cents != 0 for p in domain.accrual(A, M, 10, 0))


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 100_000), st.integers(0, 10_000)), max_size=50)
)
def test_every_journal_entry_balances_and_the_pivot_nets_to_zero(
    ops: list[tuple[bool, int, int]],
) -> None:
    all_postings = []
    for is_sale, amount, fee in ops:
        entry = (
            domain.accrual(A, M, amount, fee)
            if is_sale
            else domain.redemption(A, N, max(amount, 1))
        )
        assert domain.is_balanced(entry)
        all_postings += entry
    assert sum(p.amount_cents for p in all_postings) == 0


def test_movements_chain_balances_and_refuse_an_overdraft() -> None:
    state, applied = apply(AccountState(available=100), [Movement("cagnottage", "available", 50)])
    assert applied[0][1] == 150
    with pytest.raises(Overdrawn) as exc:
        apply(state, [Movement("decagnottage", "available", -151)])
    assert (exc.value.available, exc.value.asked) == (150, 151)
    state, applied = apply(state, [Movement("decagnottage", "available", -150)])
    assert state.available == applied[0][1] == 0


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 10_000)), max_size=100))
def test_a_balance_never_goes_negative_whatever_the_order(ops: list[tuple[bool, int]]) -> None:
    state, expected = AccountState(), 0
    for is_credit, cents in ops:
        if is_credit:
            expected += cents
            state, _ = apply(state, [Movement("cagnottage", "available", cents)])
        else:
            try:
                state, _ = apply(state, [Movement("decagnottage", "available", -cents)])
                expected -= cents
            except Overdrawn:
                assert cents > expected
        assert state.available == expected >= 0


def test_visits_are_tallied_per_key() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    t = tally([("a", 100, t0), ("b", 5, t0), ("a", 50, t0 - timedelta(days=1))])
    assert (t["a"].visits, t["a"].spent_cents, t["a"].first_at, t["a"].last_at) == (
        2,
        150,
        t0 - timedelta(days=1),
        t0,
    )
    assert t["b"].visits == 1


@pytest.mark.parametrize("fee", [0, 1])
def test_accrual_with_zero_reward_still_books_the_fee(fee: int) -> None:
    postings = domain.accrual(A, M, 0, fee)
    assert domain.is_balanced(postings)
    assert len(postings) == (2 if fee else 0)
