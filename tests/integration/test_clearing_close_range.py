"""A close covers a plausible range only, and a settlement holds what the journal says even for
an entry booked at the edge of the calendar (issue 11, finding 4), against the real clearing
service. The entries come as cards' events straight to clearing's queue (as in
test_clearing_books): cards now refuses such dates, but entries booked before it did remain.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import aio_pika
import aiohttp
import asyncpg
import pytest_asyncio

from services.clearing.domain.periods import MAX_CLOSE_MONTHS
from services.clearing.service import closing as books
from services.clearing.service import settling
from shared import clock
from shared import db as db_module
from shared.client import AdminClient
from shared.events import new_event, pack
from tests import harness
from tests.conftest import eventually
from tests.integration.test_clearing_books import _credited, _id

CLEARING = harness.url("clearing")


@pytest_asyncio.fixture
async def channel(services: harness.Services) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        yield await connection.channel(publisher_confirms=True)


async def _book_sale(
    channel: aio_pika.abc.AbstractChannel,
    db: asyncpg.Connection,
    association: uuid.UUID,
    merchant: uuid.UUID,
    at: datetime,
    amount: int,
) -> None:
    sale = _credited(association, merchant, uuid.uuid4(), amount, at)
    await channel.default_exchange.publish(
        aio_pika.Message(
            pack([new_event("cards", sale).to_json()]),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key="clearing.events",
    )

    async def booked() -> bool:
        found = await db.fetchval(
            "SELECT count(*) FROM clearing.journal_entries WHERE reference_id = $1", _id(sale)
        )
        return bool(found)

    await eventually(booked, what="the sale booked by clearing")


def _month(months_back: int) -> date:
    today = clock.today_paris()
    index = today.year * 12 + today.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _label(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


async def test_a_close_of_more_than_24_months_at_once_is_refused_with_its_reason(
    channel: aio_pika.abc.AbstractChannel, db: asyncpg.Connection, http: aiohttp.ClientSession
) -> None:
    admin = AdminClient(http, harness.ADMIN_TOKEN)
    aid, mid = uuid.uuid4(), uuid.uuid4()
    first = _month(30)
    await _book_sale(channel, db, aid, mid, datetime(first.year, first.month, 10, tzinfo=UTC), 4000)
    url = f"{CLEARING}/v1/associations/{aid}/periods/{{}}/close"

    r = await admin.call("POST", url.format(_label(_month(1))), {"actor": "test"})
    assert r.status == 409, r
    assert r.body["reason"] == "close_range_too_long", r
    assert r.body["months"] == 30 and r.body["first_open"] == _label(first), r
    # nothing closed by the refused close
    assert (
        await db.fetchval(
            "SELECT closed_through FROM clearing.books WHERE association_id = $1", aid
        )
        is None
    )
    # at most 24 months: the first 24, then the rest
    r = await admin.call(
        "POST", url.format(_label(_month(30 - MAX_CLOSE_MONTHS + 1))), {"actor": "test"}
    )
    assert r.status == 201, r
    assert len(r.body["periods"]) == MAX_CLOSE_MONTHS
    r = await admin.call("POST", url.format(_label(_month(1))), {"actor": "test"})
    assert r.status == 201, r
    assert len(r.body["periods"]) == 30 - MAX_CLOSE_MONTHS


async def test_a_settlement_holds_what_the_journal_says_for_an_entry_dated_year_one(
    channel: aio_pika.abc.AbstractChannel, db: asyncpg.Connection
) -> None:
    """A sale dated year 1 is booked in the period date.min, which the driver writes as
    -infinity; the journal's positions read "after date.min" and left it out, while the close's
    statement counted it: held 22 cents, journal 11 (the reconciliation went red). The API no
    longer closes such a range (above, and its periods are years 1000 on), so the close is run
    here by clearing's own code on its database, in a transaction rolled back."""
    aid, mid = uuid.uuid4(), uuid.uuid4()
    await _book_sale(channel, db, aid, mid, datetime(1, 1, 1, 12, tzinfo=UTC), 4000)
    conn = await asyncpg.connect(harness.DATABASE_URL, server_settings={"search_path": "clearing"})
    await db_module._init_connection(conn)  # the services' jsonb codec
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            closed = await books.close(conn, aid, date.min, "test", clock.now())
            held = {
                (h["party_kind"], h["party_id"]): h["amount_cents"] for h in closed.settlement.held
            }
            journal = {
                (p.kind, str(p.party_id)): p.cents
                for p in await settling.journal_positions(conn, aid, date.min)
            }
            # what the entries say the merchant is owed, summed here without any bound
            owed = await conn.fetchval(
                """SELECT sum(merchant_cents) FROM journal_entries
                   WHERE association_id = $1 AND merchant_id = $2""",
                aid,
                mid,
            )
        finally:
            await tx.rollback()
    finally:
        await conn.close()
    assert owed != 0
    assert held[("merchant", str(mid))] == owed
    assert journal == held
