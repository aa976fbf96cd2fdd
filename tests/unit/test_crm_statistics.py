"""The statistics' pure rules (services/crm/domain/statistics*.py, docs/statistics.md): what
each fact adds to the aggregates, in Paris days and hours; the periods and scopes accepted;
each figure's arithmetic."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.crm.domain import statistics_exports as layout
from services.crm.domain import statistics_figures as fig
from services.crm.domain import statistics_sponsorship as sponsorship
from services.crm.domain.statistics import (
    NETWORK,
    NO_MERCHANT,
    Deltas,
    Line,
    LineKind,
    count,
    paris,
)

ASSO, MERCHANT, SHOP, ACCOUNT = (uuid.uuid4() for _ in range(4))


def line(
    kind: LineKind, cents: int, at: datetime, reward: int = 0, sale_id: uuid.UUID | None = None
) -> Line:
    account = None if kind == "anonymous_sale" else ACCOUNT
    return Line(kind, uuid.uuid4(), ASSO, MERCHANT, SHOP, account, at, cents, reward, None, sale_id)


def test_a_day_and_an_hour_are_paris_ones() -> None:
    # 23:30 UTC on 31 May is 1:30 on 1 June in Paris (summer time).
    assert paris(datetime(2031, 5, 31, 23, 30, tzinfo=UTC)) == (date(2031, 6, 1), 1)
    # 23:30 UTC on 31 December is 0:30 on 1 January (winter time).
    assert paris(datetime(2031, 12, 31, 23, 30, tzinfo=UTC)) == (date(2032, 1, 1), 0)


def test_a_sale_counts_in_its_shop_its_association_and_the_network() -> None:
    sale = line("sale", 2000, datetime(2031, 6, 3, 8, 45, tzinfo=UTC), reward=60)
    d = count([sale], {})
    day = date(2031, 6, 3)
    assert set(d.days) == {(SHOP, day), (ASSO, day), (NETWORK, day)}
    shop = d.days[(SHOP, day)]
    assert shop.merchant_id == MERCHANT and d.days[(ASSO, day)].merchant_id is None
    assert shop.counters["member_sales"] == 1
    assert shop.counters["member_sales_cents"] == 2000
    assert shop.counters["rewards_granted_cents"] == 60
    assert shop.sales_by_hour[10] == 1 and sum(shop.sales_by_hour) == 1  # 10:45 in Paris
    assert d.customers[(SHOP, day, ACCOUNT)].visits == 1


def test_a_return_takes_its_amount_off_on_its_own_day_and_the_visit_stays() -> None:
    sale = line("sale", 1500, datetime(2031, 6, 3, 17, 0, tzinfo=UTC), reward=45)
    back = line("return", 500, datetime(2031, 6, 5, 9, 0, tzinfo=UTC), reward=15, sale_id=sale.id)
    d = count([sale, back], {})
    ret = d.days[(SHOP, date(2031, 6, 5))]
    assert (ret.counters["returns"], ret.counters["returned_cents"]) == (1, 500)
    assert ret.counters["rewards_granted_cents"] == -15 and sum(ret.sales_by_hour) == 0
    assert d.customers[(SHOP, date(2031, 6, 5), ACCOUNT)].spent_cents == -500
    assert d.customers[(SHOP, date(2031, 6, 3), ACCOUNT)].visits == 1


def test_a_cancelled_sale_leaves_its_own_day_as_if_never_made() -> None:
    sale = line("sale", 2500, datetime(2031, 6, 8, 7, 10, tzinfo=UTC), reward=75)
    undo = line(
        "cancellation", 2500, datetime(2031, 6, 9, 8, 0, tzinfo=UTC), reward=75, sale_id=sale.id
    )
    d = count([undo], {sale.id: sale})
    day = d.days[(SHOP, date(2031, 6, 8))]
    assert day.counters["member_sales"] == -1
    assert day.counters["member_sales_cents"] == -2500
    assert day.sales_by_hour[9] == -1
    assert (SHOP, date(2031, 6, 9)) not in d.days
    assert d.customers[(SHOP, date(2031, 6, 8), ACCOUNT)].visits == -1


def test_a_sale_without_a_member_counts_in_revenue_and_traffic_but_is_no_visit() -> None:
    d = count([line("anonymous_sale", 800, datetime(2031, 5, 25, 10, 0, tzinfo=UTC))], {})
    row = d.days[(SHOP, date(2031, 5, 25))]
    assert (row.counters["anonymous_sales"], row.counters["member_sales"]) == (1, 0)
    assert row.sales_by_hour[12] == 1 and d.customers == {}


def test_an_enrolment_counts_for_its_association_its_merchant_and_the_network() -> None:
    d = Deltas()
    d.enrolled(ASSO, None, datetime(2031, 6, 2, 10, 0, tzinfo=UTC))
    d.enrolled(ASSO, MERCHANT, datetime(2031, 6, 2, 11, 0, tzinfo=UTC))
    day = date(2031, 6, 2)
    assert d.enrolments == {
        (ASSO, day): 2,
        (NO_MERCHANT, day): 1,
        (MERCHANT, day): 1,
        (NETWORK, day): 2,
    }


def test_the_previous_period_has_as_many_days_and_ends_the_day_before() -> None:
    p = fig.period(date(2031, 5, 20), date(2031, 6, 10))
    assert p.days == 22
    assert p.previous() == fig.Period(date(2031, 4, 28), date(2031, 5, 19))
    assert fig.period(date(2031, 1, 1), date(2031, 1, 1)).previous().days == 1


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (date(2031, 6, 10), date(2031, 5, 20), "invalid_range"),
        (date(2020, 1, 1), date(2031, 1, 1), "range_too_long"),
    ],
)
def test_a_period_backwards_or_too_long_is_refused(start: date, end: date, reason: str) -> None:
    with pytest.raises(fig.RangeRefused) as exc:
        fig.period(start, end)
    assert exc.value.reason == reason


def test_one_scope_at_most() -> None:
    assert fig.scope(None, None, None) == fig.Scope("network", None)
    assert fig.scope(SHOP, None, None) == fig.Scope("shop", SHOP)
    with pytest.raises(fig.RangeRefused) as exc:
        fig.scope(SHOP, None, ASSO)
    assert exc.value.reason == "ambiguous_scope"


def test_the_member_share_is_unknown_without_a_sale_recorded_without_a_member() -> None:
    members_only = fig.money_figures({"member_sales": 2, "member_sales_cents": 3000})
    assert members_only["member_share_bps"] is None
    assert members_only["revenue_cents"] == 3000
    both = fig.money_figures(
        {
            "member_sales": 5,
            "member_sales_cents": 15500,
            "returned_cents": 500,
            "returns": 1,
            "anonymous_sales": 2,
            "anonymous_sales_cents": 2000,
        }
    )
    assert (both["revenue_cents"], both["member_revenue_cents"]) == (17000, 15000)
    assert both["member_share_bps"] == 8824  # 88.235... % rounded half up
    assert (both["sales"], both["average_basket_cents"]) == (7, 2500)
    assert fig.money_figures({})["average_basket_cents"] is None


def test_traffic_frequency_and_visits_per_customer() -> None:
    t = fig.traffic([(2, 10, 1), (7, 10, 2), (7, 12, 1)])
    assert t["by_hour"][10] == 3 and t["by_hour"][12] == 1
    assert t["by_weekday"] == [0, 1, 0, 0, 0, 0, 3]
    assert [b["customers"] for b in fig.frequency([3, 1, 1, 12, 6])] == [2, 0, 1, 1, 1]
    assert fig.visits_per_customer(5, 3) == "1.67"
    assert fig.visits_per_customer(4, 4) == "1.00"
    assert fig.visits_per_customer(0, 0) is None


def test_inactive_window_and_enrolment_series() -> None:
    assert fig.inactive_window(date(2031, 9, 1)) == (date(2030, 6, 4), date(2031, 6, 3))
    p = fig.period(date(2031, 5, 30), date(2031, 6, 2))
    assert fig.series(p, {date(2031, 6, 1): 2}) == [
        {"start": "2031-05-30", "enrolments": 0},
        {"start": "2031-05-31", "enrolments": 0},
        {"start": "2031-06-01", "enrolments": 2},
        {"start": "2031-06-02", "enrolments": 0},
    ]
    year = fig.period(date(2031, 1, 15), date(2031, 12, 31))
    months = fig.series(year, {date(2031, 1, 20): 1, date(2031, 2, 1): 3})
    assert months[:2] == [
        {"start": "2031-01-01", "enrolments": 1},
        {"start": "2031-02-01", "enrolments": 3},
    ]
    assert len(months) == 12


def test_a_period_of_paris_days_is_bounded_by_paris_midnights_across_a_clock_change() -> None:
    # 30 March 2031 is summer time's first day: April's midnights are UTC+2, March's UTC+1.
    first, start, end = sponsorship.instants(fig.period(date(2031, 4, 1), date(2031, 4, 30)))
    assert first == datetime(2031, 3, 1, 23, 0, tzinfo=UTC)  # 2 March, 00:00 in Paris
    assert start == datetime(2031, 3, 31, 22, 0, tzinfo=UTC)
    assert end == datetime(2031, 4, 30, 22, 0, tzinfo=UTC)  # 1 May: the period's end, excluded


def test_the_sponsorship_figures_add_both_sides_rewards_and_leave_the_network_unknown() -> None:
    sums = {"newcomers": 3, "sponsor_rewards": 2, "sponsor_rewards_cents": 700}
    sums |= {"sponsor_rewards_capped": 1, "newcomer_rewards": 3, "newcomer_rewards_cents": 800}
    kept = sponsorship.sponsorship_figures(sums, {"sponsored_customers": 3})
    assert kept["rewards_cents"] == 1500
    assert (kept["sponsored_customers"], kept["sponsored_revenue_cents"]) == (3, 0)
    network = sponsorship.sponsorship_figures({}, None)
    assert network["newcomers"] == 0 and network["rewards_cents"] == 0
    assert network["sponsored_visits"] is None and network["sponsored_revenue_cents"] is None


def test_a_sponsorship_line_is_dated_by_its_paris_day() -> None:
    row = {
        "at": datetime(2031, 4, 30, 22, 30, tzinfo=UTC),  # 1 May, 00:30 in Paris
        "nature": "sponsor_reward",
        "newcomer_id": ACCOUNT,
        "sponsor_id": ACCOUNT,
        "merchant_id": None,
        "status": "capped",
        "amount_cents": 0,
    }
    line = layout.sponsorship_line(row)
    assert line[1] == date(2031, 5, 1) and line[5] is None and line[6:] == ["capped", 0]
