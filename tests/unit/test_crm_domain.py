"""The customer file's pure rules: each sale counts once, and visits add up per customer and
per customer at a merchant in the order every batch locks their rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.crm.domain import (
    Cancellation,
    Visit,
    by_customer,
    by_merchant,
    counted,
    one_per_cancelled_sale,
    one_per_sale,
)
from services.notifications.domain import HandedOver, one_per_statement
from shared.contracts import MonthlyStatementReady

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
ASSOCIATION = uuid.uuid4()
SHOP = uuid.uuid4()


def _visit(account: uuid.UUID, merchant: uuid.UUID, cents: int, at: datetime) -> Visit:
    return Visit(uuid.uuid4(), account, ASSOCIATION, merchant, SHOP, cents, "menu-midi", at, 0)


def test_a_sale_seen_twice_in_a_batch_is_one_visit_the_first_copy() -> None:
    a, m = uuid.uuid4(), uuid.uuid4()
    first = _visit(a, m, 1000, T0)
    resent = first._replace(amount_cents=9999)
    other = _visit(a, m, 500, T0)
    kept = one_per_sale([first, other, resent])
    assert kept == sorted([first, other], key=lambda v: v.sale_id)


def test_a_cancellation_seen_twice_is_one() -> None:
    c = Cancellation(uuid.uuid4(), uuid.uuid4(), ASSOCIATION, uuid.uuid4(), SHOP, 700, T0)
    assert one_per_cancelled_sale([c, c._replace(amount_cents=1)]) == [c]


def test_visits_add_up_per_customer_in_account_order() -> None:
    a, b = sorted([uuid.uuid4(), uuid.uuid4()])
    m = uuid.uuid4()
    visits = counted(
        [_visit(b, m, 300, T0), _visit(a, m, 1000, T0), _visit(a, m, 250, T0 + timedelta(hours=2))]
    )
    tallies = by_customer(visits)
    assert [(acc, assoc) for acc, assoc, _ in tallies] == [(a, ASSOCIATION), (b, ASSOCIATION)]
    first = tallies[0][2]
    assert (first.visits, first.spent_cents, first.first_at, first.last_at) == (
        2,
        1250,
        T0,
        T0 + timedelta(hours=2),
    )


def test_visits_add_up_per_customer_and_merchant() -> None:
    a = uuid.uuid4()
    m, n = sorted([uuid.uuid4(), uuid.uuid4()])
    visits = counted([_visit(a, n, 100, T0), _visit(a, m, 200, T0), _visit(a, n, 50, T0)])
    assert [
        (acc, merchant, t.visits, t.spent_cents) for acc, merchant, t in by_merchant(visits)
    ] == [
        (a, m, 1, 200),
        (a, n, 2, 150),
    ]


def test_a_statement_re_sent_under_another_event_keeps_its_first_notice() -> None:
    statement = MonthlyStatementReady(
        statement_id=uuid.uuid4(),
        association_id=ASSOCIATION,
        merchant_id=uuid.uuid4(),
        merchant_name="Chez Paul",
        period_start=T0.date(),
        period_end=T0.date(),
        purchases_count=1,
        purchases_cents=1000,
        cagnottages_cents=50,
        fees_cents=10,
        redemptions_count=0,
        redemptions_cents=0,
        net_cents=60,
        xlsx_path="/x.xlsx",
        csv_path="/x.csv",
    )
    first, again = HandedOver("e1", statement), HandedOver("e2", statement)
    assert one_per_statement([first, again]) == [first]
