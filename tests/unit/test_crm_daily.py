"""A daily job's accounts read a page at a time and done a batch at a time (service.daily's
Ahead): every account once, in order, whatever another replica did in between, and the day
finished with its last batch."""

from __future__ import annotations

import uuid
from typing import Any, cast

import asyncpg
import pytest

from services.crm.service.daily import Ahead

pytestmark = pytest.mark.asyncio

ACCOUNTS = sorted(uuid.uuid4() for _ in range(23))
CONN = cast(asyncpg.Connection, None)  # the reader below needs none


class Reader:
    def __init__(self) -> None:
        self.calls: list[tuple[uuid.UUID | None, int]] = []

    async def __call__(self, _: Any, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
        self.calls.append((after, limit))
        return [a for a in ACCOUNTS if after is None or a > after][:limit]


async def test_pages_of_ten_in_batches_of_four_do_every_account_once_in_order() -> None:
    reader = Reader()
    ahead = Ahead(reader, batch=4, page=10)
    done: list[uuid.UUID] = []
    after = None
    while True:
        found, last = await ahead.take(CONN, after)
        done += found
        after = found[-1] if found else after
        if last:
            break
    assert done == ACCOUNTS
    # three pages (10, 10, 3): a query per page, not per batch
    assert reader.calls == [(None, 10), (ACCOUNTS[9], 10), (ACCOUNTS[19], 10)]


async def test_what_another_replica_did_since_the_page_was_read_is_skipped() -> None:
    ahead = Ahead(Reader(), batch=4, page=10)
    found, _ = await ahead.take(CONN, None)
    assert found == ACCOUNTS[:4]
    # the other replica took the day's row and did up to the 13th account
    found, last = await ahead.take(CONN, ACCOUNTS[12])
    assert (found, last) == (ACCOUNTS[13:17], False)
    # a page of ten read from the 14th: the last two, and a full page may not be the end
    found, last = await ahead.take(CONN, ACCOUNTS[20])
    assert (found, last) == (ACCOUNTS[21:], False)
    assert await ahead.take(CONN, ACCOUNTS[-1]) == ([], True)


async def test_a_day_without_accounts_is_finished_at_once() -> None:
    async def nobody(_: Any, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
        return []

    assert await Ahead(nobody, batch=4, page=10).take(CONN, None) == ([], True)


async def test_a_full_last_page_takes_one_more_read_to_know_the_day_is_done() -> None:
    reader = Reader()
    ahead = Ahead(reader, batch=23, page=23)
    found, last = await ahead.take(CONN, None)
    assert (found, last) == (ACCOUNTS, False)
    assert await ahead.take(CONN, ACCOUNTS[-1]) == ([], True)
    assert len(reader.calls) == 2
