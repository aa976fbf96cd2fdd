"""The crm's use cases: one function per command, over a connection the caller holds (the
consumer's transaction for a batch of events, the pool for a read). The rules are domain's,
the statements the adapters'."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from services.crm.adapters import customers
from services.crm.domain.visits import (
    Cancellation,
    CustomerCard,
    Enrolment,
    Visit,
    by_customer,
    by_merchant,
    counted,
    one_per_cancelled_sale,
    one_per_sale,
)


async def record_visits(conn: asyncpg.Connection, visits: Iterable[Visit]) -> set[UUID]:
    """The visits and the counters of their customers, each sale once; the sales new here."""
    data = one_per_sale(visits)
    if not data:
        return set()
    new = await customers.insert_visits(conn, data)
    fresh = counted(v for v in data if v.sale_id in new)  # a sale re-sent counts once
    if not fresh:
        return set()
    await customers.add_to_customers(conn, by_customer(fresh))
    await customers.add_to_merchant_files(conn, by_merchant(fresh))
    return {v.sale_id for v in data if v.sale_id in new}


async def cancel_sales(conn: asyncpg.Connection, cancellations: Iterable[Cancellation]) -> None:
    """A cancelled sale marks its visit and leaves the counters, once."""
    data = one_per_cancelled_sale(cancellations)
    if not data:
        return
    left = await customers.cancel_visits(conn, data)
    if not left:
        return
    await customers.subtract_from_customers(conn, by_customer(left))
    await customers.subtract_from_merchant_files(conn, by_merchant(left))


async def enrol(conn: asyncpg.Connection, enrolments: Iterable[Enrolment]) -> None:
    """Open the customer files, or replace their details (an account opened again)."""
    await customers.save_enrolments(conn, sorted(enrolments, key=lambda e: e.account_id))


async def record_cards(conn: asyncpg.Connection, cards: Iterable[CustomerCard]) -> None:
    """Keep the card numbers of each customer; a card seen again changes nothing."""
    await customers.save_cards(conn, sorted(cards, key=lambda c: c.card_number))


async def customer_file(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    """A customer's file and their file at each merchant visited (404 when unknown)."""
    file = await customers.customer(conn, account_id)
    return file, await customers.merchant_files(conn, account_id)
