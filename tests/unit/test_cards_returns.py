"""What a sale left in the cagnotte, read back from its entries (services/cards/domain/returns.py),
without a database: the figures a return is judged against."""

from __future__ import annotations

import uuid
from typing import Any

from services.cards.domain.returns import SaleBooked, sale_booked

ACCOUNT, MERCHANT = uuid.uuid4(), uuid.uuid4()


def entry(kind: str, bucket: str, amount: int, **kw: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "bucket": bucket,
        "amount_cents": amount,
        "account_id": ACCOUNT,
        "merchant_id": MERCHANT,
        "purchase_cents": kw.get("purchase"),
        "fee_cents": kw.get("fee"),
    }


def test_a_sale_untouched_is_its_reward_its_fee_and_its_units() -> None:
    rows = [
        entry("cagnottage", "available", 50, purchase=1000, fee=5),
        entry("cagnottage", "pending", 30),
        entry("cagnottage", "units", 10),
    ]
    assert sale_booked(rows) == (ACCOUNT, MERCHANT, SaleBooked(1000, 80, 5, 10))


def test_the_returns_already_made_are_added_up() -> None:
    rows = [
        entry("cagnottage", "available", 80, purchase=1000, fee=8),
        entry("cagnottage", "units", 10),
        entry("reversal", "available", -20, purchase=250, fee=2),
        entry("reversal", "units", -3),
        entry("reversal", "pending", -4, purchase=50, fee=0),
    ]
    _, _, sale = sale_booked(rows)
    assert (sale.returned_cents, sale.reversed_reward_cents) == (300, 24)
    assert (sale.reversed_fee_cents, sale.reversed_units) == (2, 3)


def test_a_conversion_of_units_counts_as_reward_of_the_sale() -> None:
    rows = [
        entry("cagnottage", "available", 0, purchase=2000, fee=10),
        entry("cagnottage", "units", 120),
        entry("conversion", "units", -100),
        entry("conversion", "available", 500),
    ]
    _, _, sale = sale_booked(rows)
    assert (sale.reward_cents, sale.units_earned) == (500, 120)
