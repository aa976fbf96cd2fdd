"""The rules the database keeps for any writer on the rows each sale adds, checked once a
statement since the migrations clearing 0013, cards 0017 and terminals 0009 (a foreign key
checked each row with a query and a lock of its own): a posting names an entry of the journal
and a pivot account, an entry is in an open period, an entry of the cagnotte names an account,
a request and a synced line name a terminal. A statement that breaks one fails whole, and the
rows named can be neither deleted nor re-numbered."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from tests import harness
from tests.conftest import NetworkFactory

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


class _Undone(Exception):
    pass


@contextlib.asynccontextmanager
async def undone(db: asyncpg.Connection) -> AsyncIterator[None]:
    """A transaction rolled back whatever happens in it: the tests leave nothing behind."""
    with contextlib.suppress(_Undone):
        async with db.transaction():
            yield
            raise _Undone


async def _entry(db: asyncpg.Connection, association: uuid.UUID, period: date) -> int:
    entry: int = await db.fetchval(
        """INSERT INTO clearing.journal_entries
               (kind, reference_id, event_id, association_id, occurred_at, period, event_time)
           VALUES ('adjustment', $1, $2, $3, $4, $5, $4) RETURNING id""",
        uuid.uuid4(),
        uuid.uuid4(),
        association,
        NOW,
        period,
    )
    return entry


async def _pivot(db: asyncpg.Connection, association: uuid.UUID) -> int:
    account: int = await db.fetchval(
        """INSERT INTO clearing.pivot_accounts (association_id, kind) VALUES ($1, 'adjustments')
           RETURNING id""",
        association,
    )
    return account


async def test_a_posting_names_an_entry_and_a_pivot_account_and_a_bad_copy_fails_whole(
    services: harness.Services, db: asyncpg.Connection
) -> None:
    association = uuid.uuid4()
    async with undone(db):
        entry, pivot = (
            await _entry(db, association, date(2026, 3, 1)),
            await _pivot(db, association),
        )
        good = [(entry, pivot, 100), (entry, pivot, -100)]
        await db.copy_records_to_table(
            "postings",
            schema_name="clearing",
            records=good,
            columns=("entry_id", "account_id", "amount_cents"),
        )
        for bad, constraint in (
            ((entry + 1_000_000, pivot, 5), "postings_entry_id_fkey"),
            ((entry, pivot + 1_000_000, 5), "postings_account_id_fkey"),
        ):
            with pytest.raises(asyncpg.ForeignKeyViolationError) as refused:
                async with db.transaction():
                    await db.copy_records_to_table(
                        "postings",
                        schema_name="clearing",
                        records=[*good, bad],
                        columns=("entry_id", "account_id", "amount_cents"),
                    )
            assert refused.value.constraint_name == constraint
        n = await db.fetchval("SELECT count(*) FROM clearing.postings WHERE entry_id = $1", entry)
        assert n == 2  # the good copy only: the bad ones left none of their rows
        for statement in (
            "DELETE FROM clearing.pivot_accounts WHERE id = $1",
            "UPDATE clearing.pivot_accounts SET id = id + 1000000 WHERE id = $1",
        ):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                async with db.transaction():
                    await db.execute(statement, pivot)


async def test_an_entry_of_a_closed_period_is_refused_and_one_of_an_open_period_is_not(
    services: harness.Services, db: asyncpg.Connection
) -> None:
    association = uuid.uuid4()
    async with undone(db):
        await db.execute(
            "INSERT INTO clearing.books (association_id, closed_through) VALUES ($1, $2)",
            association,
            date(2026, 2, 1),
        )
        await _entry(db, association, date(2026, 3, 1))
        with pytest.raises(asyncpg.RaiseError, match=r"period 2026-02-01 .* is closed"):
            async with db.transaction():
                await _entry(db, association, date(2026, 2, 1))


async def test_the_cagnotte_names_its_accounts_and_an_account_stays(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    async with undone(db):
        account = uuid.uuid4()
        await db.execute(
            "INSERT INTO cards.accounts (id, association_id) VALUES ($1, $2)",
            account,
            net.association_id,
        )
        entry = """INSERT INTO cards.cagnotte_entries
                       (account_id, kind, reference_id, amount_cents, balance_after_cents,
                        occurred_at)
                   SELECT a, 'cagnottage', gen_random_uuid(), 10, 10, $2
                   FROM unnest($1::uuid[]) a"""
        await db.execute(entry, [account], NOW)
        with pytest.raises(asyncpg.ForeignKeyViolationError) as refused:
            async with db.transaction():
                await db.execute(entry, [account, uuid.uuid4()], NOW)
        assert refused.value.constraint_name == "cagnotte_entries_account_id_fkey"
        with pytest.raises(asyncpg.RaiseError, match="never deleted"):
            async with db.transaction():
                await db.execute("DELETE FROM cards.accounts WHERE id = $1", account)


async def test_a_request_and_a_synced_line_name_their_terminal_and_a_terminal_stays(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    terminal = uuid.UUID(net.terminals[0].terminal_id)
    request = """INSERT INTO terminals.requests (id, kind, terminal_id, body_sha256)
                 SELECT gen_random_uuid(), 'sale', t, '\\x00' FROM unnest($1::uuid[]) t"""
    async with undone(db):
        await db.execute(request, [terminal])
        with pytest.raises(asyncpg.ForeignKeyViolationError) as refused:
            async with db.transaction():
                await db.execute(request, [terminal, uuid.uuid4()])
        assert refused.value.constraint_name == "requests_terminal_id_fkey"
        with pytest.raises(asyncpg.ForeignKeyViolationError) as refused:
            async with db.transaction():
                await db.execute(
                    """INSERT INTO terminals.offline_transactions
                           (terminal_id, chunk_id, session_id, seq, content_hash, kind,
                            card_number, atc, amount_cents, occurred_at)
                       VALUES ($1, $2, $2, 1, '\\x00', 'sale', '1', 1, 100, $3)""",
                    uuid.uuid4(),
                    uuid.uuid4(),
                    NOW,
                )
        assert refused.value.constraint_name == "offline_transactions_terminal_id_fkey"
        with pytest.raises(asyncpg.RaiseError, match="never deleted"):
            async with db.transaction():
                await db.execute("DELETE FROM terminals.terminals WHERE id = $1", terminal)
