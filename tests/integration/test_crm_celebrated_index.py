"""The celebrated days' index (crm migration 0016) holds only the files that have a date to
celebrate, and the birthday trigger's query still takes it (issues 12 item 4 and 13 item 8).

Every visit updates its customer's counters, which the daily triggers' indexes name, so each
update writes an entry in every index of crm.customers: a file without any birthday (most files
enrolled at the till) wrote an empty array into the GIN of celebrated_days, which no birthday
trigger can match."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest

from services.crm.adapters import triggers
from tests import harness

pytestmark = pytest.mark.asyncio


def _indexes(plan: Any) -> set[str]:
    """The names of the indexes a JSON plan scans."""
    found: set[str] = set()
    stack = [json.loads(plan)[0]["Plan"]]
    while stack:
        node = stack.pop()
        if "Index Name" in node:
            found.add(node["Index Name"])
        stack.extend(node.get("Plans", []))
    return found


async def test_files_without_a_date_write_nothing_in_the_celebrated_days_index(
    services: harness.Services, db: asyncpg.Connection
) -> None:
    """Files enrolled without any date, then a visit each: the index's pending list (where a
    GIN collects its new entries) is flushed before and after, and nothing was added to it.
    Rolled back: nothing stays."""
    association = uuid.uuid4()
    index = "crm.customers_celebrated"
    rolled_back = db.transaction()
    await rolled_back.start()
    try:
        await db.fetchval("SELECT gin_clean_pending_list($1::regclass)", index)
        await db.execute(
            """INSERT INTO crm.customers (account_id, association_id, phone, enrolled_at)
               SELECT gen_random_uuid(), $1, '+3361234' || lpad(n::text, 4, '0'), now()
               FROM generate_series(1, 300) AS n""",
            association,
        )
        await db.execute(
            """UPDATE crm.customers SET visit_count = visit_count + 1, last_visit_at = now()
               WHERE association_id = $1""",
            association,
        )
        flushed = await db.fetchval("SELECT gin_clean_pending_list($1::regclass)", index)
        dated = await db.fetchval(
            """UPDATE crm.customers SET birth_date = '1980-03-17'
               WHERE association_id = $1 RETURNING 1""",
            association,
        )
        flushed_dated = await db.fetchval("SELECT gin_clean_pending_list($1::regclass)", index)
    finally:
        await rolled_back.rollback()
    assert flushed == 0  # 2 pages of empty arrays before migration 0016
    assert dated == 1 and flushed_dated > 0  # a file with a date is indexed


async def test_the_birthday_query_takes_the_celebrated_days_index(
    services: harness.Services, db: asyncpg.Connection
) -> None:
    """3,000 files of one network, a birthday each over the year, counted (ANALYZE): the day's
    few celebrants are found through the index, not by reading the network's files. Rolled
    back: nothing stays, the statistics neither."""
    association = uuid.uuid4()
    sql = triggers._NETWORK.format(condition=triggers.CELEBRATING)
    rolled_back = db.transaction()
    await rolled_back.start()
    try:
        await db.execute(
            """INSERT INTO crm.customers (account_id, association_id, enrolled_at, birth_date)
               SELECT gen_random_uuid(), $1, now(), date '1980-01-01' + n % 365
               FROM generate_series(1, 3000) AS n""",
            association,
        )
        await db.execute("ANALYZE crm.customers")
        await db.execute("SET LOCAL search_path = crm, public")
        await db.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        plan = await db.fetchval(
            f"EXPLAIN (FORMAT JSON) {sql}", association, uuid.UUID(int=0), 200, [228, 229]
        )
    finally:
        await rolled_back.rollback()
    assert "customers_celebrated" in _indexes(plan)
