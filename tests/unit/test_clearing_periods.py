"""The pure rules of periods, partner shares and statements (services/clearing/domain/)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.clearing import domain
from services.clearing.domain import Figures

A, M, P = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_a_period_is_the_paris_month_so_new_years_eve_at_23h30_utc_is_january() -> None:
    assert domain.month_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2027, 1, 1)
    assert domain.month_of(datetime(2026, 10, 31, 22, 59, tzinfo=UTC)) == date(2026, 10, 1)
    assert domain.month_of(datetime(2026, 10, 31, 23, 0, tzinfo=UTC)) == date(2026, 11, 1)


def test_an_entry_of_a_closed_month_goes_to_the_first_open_one() -> None:
    late = datetime(2026, 10, 30, 17, tzinfo=UTC)
    assert domain.booking_period(late, None) == date(2026, 10, 1)
    assert domain.booking_period(late, date(2026, 9, 1)) == date(2026, 10, 1)
    assert domain.booking_period(late, date(2026, 10, 1)) == date(2026, 11, 1)
    assert domain.booking_period(late, date(2026, 12, 1)) == date(2027, 1, 1)


def test_periods_are_written_yyyy_mm_and_anything_else_is_refused_with_an_example() -> None:
    assert domain.parse_period("2026-10") == date(2026, 10, 1)
    assert domain.period_label(date(2026, 1, 1)) == "2026-01"
    assert domain.period_end(date(2028, 2, 1)) == date(2028, 2, 29)
    for bad in ("2026-13", "2026-1", "26-10", "2026/10", "", "2026-10-01"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            domain.parse_period(bad)


@given(st.integers(0, 10**9), st.integers(0, 10_000))
def test_a_share_is_rounded_half_up_to_the_cent(amount: int, bps: int) -> None:
    share = domain.share_of(amount, bps)
    exact2 = 2 * amount * bps  # twice the exact share, in hundredths of a basis point
    assert 2 * 10_000 * share - 10_000 <= exact2 < 2 * 10_000 * share + 10_000


def test_a_partner_share_and_a_settlement_balance_and_settle_the_position() -> None:
    share = domain.partner_share(A, M, P, 250)
    assert domain.is_balanced(share)
    assert {p.account: p.amount_cents for p in share} == {
        (A, domain.MERCHANT, M): 250,
        (A, domain.PARTNER, P): -250,
    }
    collect = domain.settlement(A, (A, domain.MERCHANT, M), 640)
    pay = domain.settlement(A, (A, domain.PARTNER, P), -1510)
    assert domain.is_balanced(collect) and domain.is_balanced(pay)
    assert {p.account: p.amount_cents for p in pay} == {
        (A, domain.BANK, None): -1510,
        (A, domain.PARTNER, P): 1510,
    }
    assert domain.merchant_adjustment(A, M, 0) == []


def test_the_columns_add_up_to_the_net_the_journal_moved() -> None:
    f = Figures(
        cagnottages_cents=360,
        fees_cents=60,
        redemptions_cents=150,
        partner_share_cents=1200,
        adjustments_cents=500,
        loads_cents=1000,
        stored_value_spent_cents=300,
        net_cents=2670,
    )
    assert f.fees_and_cagnottages_cents == 420
    assert f.computed_net() == f.net_cents
    assert Figures.from_dict(f.as_dict()) == f


def test_shops_rank_within_their_association_with_its_min_max_and_average() -> None:
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    ranks = domain.ranking(
        {
            a: Figures(purchases_cents=13000),
            b: Figures(purchases_cents=12000),
            c: Figures(purchases_cents=13000),
            d: Figures(purchases_cents=1),
        }
    )
    # 38001 / 4 = 9500.25: rounded half up; in hundredths 950025 exactly
    assert ranks[a]["purchases_cents"] == domain.Rank(1, 4, 1, 13000, 9500, 950025)
    assert ranks[c]["purchases_cents"].rank == 1  # equal figures share the better rank
    assert ranks[b]["purchases_cents"].rank == 3
    assert ranks[d]["purchases_cents"].rank == 4
    assert domain.ranking({}) == {}
