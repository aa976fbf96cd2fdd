"""The checks every fault test ends with: each sale in each service's books exactly once, and the books
agreeing: the cards' counters, the cagnotte and the compte pivot owe customers the same
rewards and the same stored value, and the pivot nets to zero."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg


async def counts(
    conn: asyncpg.Connection, sales: Sequence[UUID], redemptions: Sequence[UUID] = ()
) -> dict[str, dict[int, int]]:
    """For each service's books, how many references appear how many times: {books: {times: refs}}."""
    queries = {
        "cards.cagnottage": (
            "SELECT reference_id AS r, count(*) AS n FROM cards.cagnotte_entries WHERE kind = 'cagnottage' AND reference_id = ANY($1) GROUP BY 1",
            sales,
        ),
        "clearing.accrual": (
            "SELECT reference_id AS r, count(*) AS n FROM clearing.journal_entries WHERE kind = 'accrual' AND reference_id = ANY($1) GROUP BY 1",
            sales,
        ),
        "crm.visits": (
            "SELECT sale_id AS r, count(*) AS n FROM crm.visits WHERE sale_id = ANY($1) GROUP BY 1",
            sales,
        ),
        "cards.decagnottage": (
            "SELECT reference_id AS r, count(*) AS n FROM cards.cagnotte_entries WHERE kind = 'decagnottage' AND reference_id = ANY($1) GROUP BY 1",
            redemptions,
        ),
        "clearing.redemption": (
            "SELECT reference_id AS r, count(*) AS n FROM clearing.journal_entries WHERE kind = 'redemption' AND reference_id = ANY($1) GROUP BY 1",
            redemptions,
        ),
    }
    out: dict[str, dict[int, int]] = {}
    for name, (sql, refs) in queries.items():
        if not refs:
            continue
        hist: dict[int, int] = {}
        rows = await conn.fetch(sql, list(refs))
        for r in rows:
            hist[r["n"]] = hist.get(r["n"], 0) + 1
        missing = len(set(refs)) - len(rows)
        if missing:
            hist[0] = missing
        out[name] = hist
    return out


async def _pivot(conn: asyncpg.Connection, association: UUID, kind: str) -> int:
    """What the pivot owes on a liability account: its credit balance."""
    return int(
        await conn.fetchval(
            """SELECT -coalesce(sum(p.amount_cents), 0) FROM clearing.postings p
               JOIN clearing.pivot_accounts a ON a.id = p.account_id
               WHERE a.association_id = $1 AND a.kind = $2""",
            association,
            kind,
        )
    )


async def _entries(conn: asyncpg.Connection, association: UUID, buckets: Sequence[str]) -> int:
    return int(
        await conn.fetchval(
            """SELECT coalesce(sum(e.amount_cents), 0) FROM cards.cagnotte_entries e
               JOIN cards.accounts a ON a.id = e.account_id
               WHERE a.association_id = $1 AND e.bucket = ANY($2)""",
            association,
            list(buckets),
        )
    )


async def liability_check(conn: asyncpg.Connection, association: UUID) -> tuple[int, int, int]:
    """The rewards owed to cardholders, three ways: (sum of the cards' available and pending
    counters, clearing's customer liability, sum of the cards' entries in those buckets)."""
    balances = await conn.fetchval(
        """SELECT coalesce(sum(balance_cents + pending_cents), 0) FROM cards.accounts
           WHERE association_id = $1""",
        association,
    )
    liability = await _pivot(conn, association, "customer_liability")
    entries = await _entries(conn, association, ("available", "pending"))
    return int(balances), liability, entries


async def funds_check(conn: asyncpg.Connection, association: UUID) -> tuple[int, int, int]:
    """The money loaded by customers, three ways: (sum of the cards' stored value, clearing's
    customer funds, sum of the cards' entries in bucket stored_value)."""
    stored = await conn.fetchval(
        "SELECT coalesce(sum(stored_value_cents), 0) FROM cards.accounts WHERE association_id = $1",
        association,
    )
    funds = await _pivot(conn, association, "customer_funds")
    entries = await _entries(conn, association, ("stored_value",))
    return int(stored), funds, entries


async def pivot_net(conn: asyncpg.Connection, association: UUID) -> int:
    return int(
        await conn.fetchval(
            """SELECT coalesce(sum(p.amount_cents), 0) FROM clearing.postings p
               JOIN clearing.pivot_accounts a ON a.id = p.account_id WHERE a.association_id = $1""",
            association,
        )
    )


async def assert_books_agree(conn: asyncpg.Connection, association: UUID) -> None:
    """The cards' counters, the cagnotte and the compte pivot tell the same story: rewards
    owed, stored value owed, and a pivot that nets to zero."""
    balances, liability, entries = await liability_check(conn, association)
    assert balances == liability == entries, (
        f"rewards: cards' counters {balances}, clearing's liability {liability}, "
        f"cards' entries {entries}"
    )
    stored, funds, stored_entries = await funds_check(conn, association)
    assert stored == funds == stored_entries, (
        f"stored value: cards' counters {stored}, clearing's funds {funds}, "
        f"cards' entries {stored_entries}"
    )
    net = await pivot_net(conn, association)
    assert net == 0, f"the pivot does not net to zero: {net}"


async def assert_exactly_once(
    conn: asyncpg.Connection,
    association: UUID,
    sales: Sequence[UUID],
    redemptions: Sequence[UUID] = (),
) -> None:
    hist = await counts(conn, sales, redemptions)
    expected = {
        k: {
            1: len(set(sales if "redemption" not in k and "decagnottage" not in k else redemptions))
        }
        for k in hist
    }
    assert hist == expected, f"not exactly once: {hist}"
    await assert_books_agree(conn, association)
