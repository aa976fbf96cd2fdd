"""The posting rules of the compte pivot (services/clearing/domain/), without I/O."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.clearing import domain
from services.clearing.domain import MovementKind, PivotAccount, Posting, Purse

A, M, N, P = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
KINDS: tuple[MovementKind, ...] = get_args(MovementKind)
PURSES: tuple[Purse, ...] = get_args(Purse)


def _by_kind(postings: list[Posting]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for p in postings:
        out[p.account[1] + (f":{p.account[2]}" if p.account[2] else "")] += p.amount_cents
    return dict(out)


def test_the_contract_and_the_rules_know_the_same_movement_kinds_and_purses() -> None:
    from shared.contracts import AccountAdjusted

    assert set(KINDS) == set(get_args(AccountAdjusted.model_fields["kind"].annotation))
    assert set(KINDS) == set(domain.MOVEMENT_COUNTERPART)
    assert set(PURSES) == set(domain.PURSE_ACCOUNT) == set(domain.SPEND_KIND)


def test_expired_pending_rewards_leave_the_liability_for_the_forfeited_account() -> None:
    assert _by_kind(domain.pending_expired(A, 70)) == {"customer_liability": 70, "forfeited": -70}
    assert domain.pending_expired(A, 0) == []


def test_a_stored_value_spend_draws_on_customer_funds_not_on_the_rewards() -> None:
    assert _by_kind(domain.redemption(A, N, 500, "stored_value")) == {
        "customer_funds": 500,
        f"merchant:{N}": -500,
    }
    assert _by_kind(domain.redemption(A, N, 500)) == {
        "customer_liability": 500,
        f"merchant:{N}": -500,
    }


def test_a_reversal_mirrors_the_accrual_of_what_it_takes_back() -> None:
    assert _by_kind(domain.reversal(A, M, reward_cents=61, fee_cents=6)) == {
        "customer_liability": 61,
        "operator_fees": 6,
        f"merchant:{M}": -67,
    }
    accrued = domain.accrual(A, M, 61, 6) + domain.reversal(A, M, 61, 6)
    assert all(v == 0 for v in _by_kind(accrued).values())


def test_a_reversal_of_a_zero_fee_writes_no_empty_posting() -> None:
    assert _by_kind(domain.reversal(A, M, 10, 0)) == {
        "customer_liability": 10,
        f"merchant:{M}": -10,
    }


@pytest.mark.parametrize(
    ("kind", "counterpart"),
    [
        ("adjustment", "adjustments"),
        ("opening_balance", "opening_balances"),
        ("pending_lost", "forfeited"),
        ("voucher", "vouchers"),
        ("load", f"merchant:{M}"),
    ],
)
@pytest.mark.parametrize(
    ("purse", "account"), [("cagnotte", "customer_liability"), ("stored_value", "customer_funds")]
)
def test_a_positive_movement_credits_the_purse_account_and_debits_its_counterpart(
    kind: MovementKind, counterpart: str, purse: Purse, account: str
) -> None:
    assert _by_kind(domain.movement(A, kind, purse, 250, M)) == {counterpart: 250, account: -250}


def test_a_negative_movement_swaps_the_sides() -> None:
    # A dormant card's 3.00 € of pending rewards lost at its reactivation: the customers are
    # owed 3.00 € less (liability debited), the association's forfeited account gains 3.00 €.
    assert _by_kind(domain.movement(A, "pending_lost", "cagnotte", -300)) == {
        "customer_liability": 300,
        "forfeited": -300,
    }


def test_a_load_names_the_merchant_that_took_the_money() -> None:
    with pytest.raises(ValueError, match="names the merchant"):
        domain.movement(A, "load", "stored_value", 2000, None)


def test_a_zero_movement_posts_nothing() -> None:
    assert domain.movement(A, "adjustment", "cagnotte", 0) == []


def test_a_month_of_the_pivot_worked_by_hand() -> None:
    """Two merchants, M (taux client 5 %, taux UC 0.5 %) and N; every figure below by hand.

    1. sale of 24.60 € at M: reward 1.23 €, fee 0.12 € → M +135, liability -123, fees -12
    2. sale of 40.00 € at M: reward 2.00 €, fee 0.20 €, and 0.50 € of pending rewards
       expired at it → M +220, liability -200, fees -20; liability +50, forfeited -50
    3. redemption of 1.00 € of cagnotte at N → liability +100, N -100
    4. gift card loaded with 20.00 € at N → N +2000, funds -2000
    5. 7.50 € of the gift card spent at M → funds +750, M -750
    6. sale 2 cancelled: reward 2.00 €, fee 0.20 € back → liability +200, fees +20, M -220
    7. gift voucher of 10.00 € validated on the cagnotte → vouchers +1000, liability -1000
    8. back-office correction of -0.23 € on the cagnotte → liability +23, adjustments -23

    merchant M   = 135 + 220 - 750 - 220       = -615 (the pivot owes M 6.15 €)
    merchant N   = -100 + 2000                  = 1900 (N owes the pivot 19.00 €)
    liability    = -123 - 200 + 50 + 100 + 200 - 1000 + 23 = -950 (owed: 9.50 €)
                   = 1.23 € + 2.00 € - 0.50 € - 1.00 € - 2.00 € + 10.00 € - 0.23 €
    funds        = -2000 + 750                  = -1250 (owed: 12.50 € of stored value)
    fees         = -12 - 20 + 20                = -12
    forfeited    = -50; vouchers = 1000; adjustments = -23
    sum          = -615 + 1900 - 950 - 1250 - 12 - 50 + 1000 - 23 = 0
    """
    entries = [
        domain.accrual(A, M, 123, 12),
        domain.accrual(A, M, 200, 20),
        domain.pending_expired(A, 50),
        domain.redemption(A, N, 100),
        domain.movement(A, "load", "stored_value", 2000, N),
        domain.redemption(A, M, 750, "stored_value"),
        domain.reversal(A, M, 200, 20),
        domain.movement(A, "voucher", "cagnotte", 1000, M),
        domain.movement(A, "adjustment", "cagnotte", -23),
    ]
    assert all(domain.is_balanced(e) for e in entries)
    assert _by_kind([p for e in entries for p in e]) == {
        f"merchant:{M}": -615,
        f"merchant:{N}": 1900,
        "customer_liability": -950,
        "customer_funds": -1250,
        "operator_fees": -12,
        "forfeited": -50,
        "vouchers": 1000,
        "adjustments": -23,
    }


_cents = st.integers(0, 100_000)
_ops = st.one_of(
    st.tuples(st.just("accrual"), _cents, _cents),
    st.tuples(st.just("expired"), _cents, st.just(0)),
    st.tuples(
        st.sampled_from(["spend_cagnotte", "spend_stored_value"]),
        st.integers(1, 100_000),
        st.just(0),
    ),
    st.tuples(st.just("reversal"), _cents, _cents),
    *(
        st.tuples(st.just(f"{kind}/{purse}"), st.integers(-100_000, 100_000), st.just(0))
        for kind in KINDS
        for purse in PURSES
    ),
)


def _entry(op: tuple[str, int, int]) -> list[Posting]:
    name, x, y = op
    if name == "accrual":
        return domain.accrual(A, M, x, y)
    if name == "expired":
        return domain.pending_expired(A, x)
    if name.startswith("spend_"):
        return domain.redemption(
            A, N, x, "cagnotte" if name == "spend_cagnotte" else "stored_value"
        )
    if name == "reversal":
        return domain.reversal(A, M, x, y)
    kind, purse = name.split("/")
    return domain.movement(A, kind, purse, x, N, P)  # type: ignore[arg-type]


@given(st.lists(_ops, max_size=60))
def test_every_entry_balances_and_the_purses_move_only_as_their_events_say(
    ops: list[tuple[str, int, int]],
) -> None:
    totals: dict[PivotAccount, int] = defaultdict(int)
    owed_rewards = owed_funds = 0
    for op in ops:
        entry = _entry(op)
        assert domain.is_balanced(entry)
        assert all(p.amount_cents != 0 for p in entry)
        for p in entry:
            totals[p.account] += p.amount_cents
        name, x, _ = op
        purse = "stored_value" if name.endswith("stored_value") else "cagnotte"
        delta = {
            "accrual": x,
            "expired": -x,
            "reversal": -x,
        }.get(name, -x if name.startswith("spend_") else x)
        if purse == "stored_value":
            owed_funds += delta
        else:
            owed_rewards += delta
    assert sum(totals.values()) == 0
    # What customers are owed, per purse, is minus the purse account's balance.
    assert -totals.get((A, domain.LIABILITY, None), 0) == owed_rewards
    assert -totals.get((A, domain.FUNDS, None), 0) == owed_funds
