"""Booking does not slow down as the cagnotte grows (issue 11, finding 14): the look-ups the
cards service makes for each batch of sales, redemptions and returns (is this one already
booked? what did this sale book?) walk an index: with 200,000 entries in the cagnotte they read
a few pages per reference, not the cagnotte. bench/ingest.py --history N measures the rate
itself, from 0 to 10 million sales (docs/benchmarks.md)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from services.cards.adapters import cagnotte as store
from tests import harness
from tests.conftest import NetworkFactory, eventually

pytestmark = pytest.mark.timeout(180)


class Recorder:
    """Stands for the connection: keeps the SQL a store function runs, then runs it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        self.calls.append((query, args))
        return list(await self.conn.fetch(query, *args))


async def pages_read(conn: asyncpg.Connection, query: str, args: tuple[Any, ...]) -> int:
    """Shared buffers hit or read by the query, as PostgreSQL executes it (workers included)."""
    plan = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}", *args)
    top = orjson.loads(plan)[0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


async def grow(conn: asyncpg.Connection, account: uuid.UUID, n: int) -> list[uuid.UUID]:
    """n earlier sales of the account in the cagnotte (rolled back with the test)."""
    rows = await conn.fetch(
        """INSERT INTO cards.cagnotte_entries (account_id, kind, bucket, reference_id, amount_cents,
                                               balance_after_cents, purchase_cents, occurred_at)
           SELECT $1, 'cagnottage', 'available', gen_random_uuid(), 10, 10 * g, 200, $2::timestamptz
           FROM generate_series(1, $3::int) g
           RETURNING reference_id""",
        account,
        await conn.fetchval("SELECT now()"),
        n,
    )
    await conn.execute("ANALYZE cards.cagnotte_entries")
    return [r["reference_id"] for r in rows]


async def test_booked_look_ups_read_pages_per_reference_not_per_entry_of_the_cagnotte(
    services: harness.Services, make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    sale = await net.terminals[0].sale("+33611223344", 1500)
    assert sale.status in (200, 201, 202), sale

    async def opened() -> bool:
        return bool(
            await db.fetchval(
                "SELECT count(*) FROM cards.accounts WHERE association_id = $1",
                net.association_id,
            )
        )

    await eventually(opened, what="the account opened by the first sale")
    account = await db.fetchval(
        "SELECT id FROM cards.accounts WHERE association_id = $1", net.association_id
    )
    tx = db.transaction()
    await tx.start()
    try:
        await db.execute("SET LOCAL search_path = cards")  # as the cards service's pool does
        refs = await grow(db, account, 200_000)
        table = await db.fetchval(
            "SELECT relpages FROM pg_class WHERE oid = 'cards.cagnotte_entries'::regclass"
        )
        # a batch as the consumer sees one: 20 sales already booked and 5 new ones
        batch = refs[-20:] + [uuid.uuid4() for _ in range(5)]
        rec = Recorder(db)
        assert await store.already_booked(rec, "cagnottage", batch) == set(batch[:20])
        assert set(await store.sales_booked(rec, batch)) == set(batch[:20])
        for (query, args), name in zip(rec.calls, ("already_booked", "sales_booked"), strict=True):
            pages = await pages_read(db, query, args)
            # an index walk: a few pages per reference, kind and bucket, whatever the history; a
            # scan reads the whole cagnotte (2,000 pages and more here)
            assert pages <= 40 * len(batch) < table, (
                f"{name} read {pages} pages for {len(batch)} references; the cagnotte has {table}"
            )
    finally:
        await tx.rollback()
