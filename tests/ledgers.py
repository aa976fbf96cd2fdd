"""The checks every fault test ends with: each sale in each ledger exactly once, and the sum of
the cards' account balances equal to the clearing ledger's outstanding customer liability."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg


async def counts(
    conn: asyncpg.Connection, sales: Sequence[UUID], redemptions: Sequence[UUID] = ()
) -> dict[str, dict[int, int]]:
    """For each ledger, how many references appear how many times: {ledger: {times: refs}}."""
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


async def liability_check(conn: asyncpg.Connection, association: UUID) -> tuple[int, int, int]:
    """(sum of card balances, clearing's customer liability, sum of cagnotte entries)."""
    balances = await conn.fetchval(
        "SELECT coalesce(sum(balance_cents), 0) FROM cards.accounts WHERE association_id = $1",
        association,
    )
    entries = await conn.fetchval(
        """SELECT coalesce(sum(e.amount_cents), 0) FROM cards.cagnotte_entries e
           JOIN cards.accounts a ON a.id = e.account_id WHERE a.association_id = $1""",
        association,
    )
    liability = await conn.fetchval(
        """SELECT -coalesce(sum(p.amount_cents), 0) FROM clearing.postings p
           JOIN clearing.ledger_accounts a ON a.id = p.account_id
           WHERE a.association_id = $1 AND a.kind = 'customer_liability'""",
        association,
    )
    return int(balances), int(liability), int(entries)


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
    balances, liability, entries = await liability_check(conn, association)
    assert balances == liability == entries, (
        f"balances {balances}, liability {liability}, entries {entries}"
    )
    net = await conn.fetchval(
        """SELECT coalesce(sum(p.amount_cents), 0) FROM clearing.postings p
           JOIN clearing.ledger_accounts a ON a.id = p.account_id WHERE a.association_id = $1""",
        association,
    )
    assert net == 0, f"the pivot does not net to zero: {net}"
