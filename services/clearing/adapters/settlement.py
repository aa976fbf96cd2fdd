"""What a settlement reads: each party's moves in the journal, and the bank details and names
of the parties."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

from services.clearing.domain.settlements import OPERATOR

Move = tuple[str, UUID, int]  # (party kind, party, cents)

# What each party's account moved in the periods after $3 (NULL: from the first) through $2.
# Not date.min for "from the first": asyncpg writes date.min as -infinity, and an entry booked
# in that period (a sale dated year 1) is not after it, so the journal's positions left it out
# while the close's statements counted it: a settlement held 22 cents where the journal said
# 11 (issue 11, finding 4). Merchants' and the
# operator's are read off the entries' columns (one pass over the entries, not three postings
# per sale); the reconciliation job checks those columns against the postings. Partner
# accounts have few postings: read directly.
_MERCHANTS_AND_OPERATOR = """
SELECT 'merchant' AS kind, merchant_id AS party, sum(merchant_cents)::bigint AS cents
FROM journal_entries
WHERE association_id = $1 AND ($3::date IS NULL OR period > $3) AND period <= $2
  AND merchant_id IS NOT NULL
GROUP BY merchant_id HAVING sum(merchant_cents) <> 0
UNION ALL
SELECT 'operator', NULL, (
    coalesce(sum(fee_cents) FILTER (WHERE kind = 'reversal'), 0)
    - coalesce(sum(fee_cents) FILTER (WHERE kind = 'accrual'), 0)
    - coalesce(sum(amount_cents) FILTER (WHERE kind = 'settlement' AND note = 'operator'), 0)
)::bigint
FROM journal_entries
WHERE association_id = $1 AND ($3::date IS NULL OR period > $3) AND period <= $2
"""
_PARTNERS = """
SELECT 'partner' AS kind, a.partner_id AS party, sum(p.amount_cents)::bigint AS cents
FROM pivot_accounts a JOIN postings p ON p.account_id = a.id
JOIN journal_entries e ON e.id = p.entry_id
WHERE a.association_id = $1 AND a.kind = 'partner' AND ($3::date IS NULL OR e.period > $3)
  AND e.period <= $2
GROUP BY a.partner_id HAVING sum(p.amount_cents) <> 0
"""
_POSITIONS = f"{_MERCHANTS_AND_OPERATOR} UNION ALL {_PARTNERS}"


async def _moved(
    conn: asyncpg.Connection, query: str, association_id: UUID, period: date, after: date | None
) -> list[Move]:
    return [
        (r["kind"], r["party"] or OPERATOR, r["cents"])
        for r in await conn.fetch(query, association_id, period, after)
    ]


async def journal_moves(conn: asyncpg.Connection, association_id: UUID, period: date) -> list[Move]:
    """What every party's account moved through the period, by the whole journal."""
    return await _moved(conn, _POSITIONS, association_id, period, None)


async def partner_moves(
    conn: asyncpg.Connection, association_id: UUID, period: date, after: date | None
) -> list[Move]:
    """What the partners' accounts moved in the periods after ``after`` through ``period``."""
    return await _moved(conn, _PARTNERS, association_id, period, after)


async def bank_details(
    conn: asyncpg.Connection, association_id: UUID, parties: list[UUID]
) -> tuple[asyncpg.Record | None, dict[tuple[str, UUID], asyncpg.Record]]:
    """The association's bank details (the creditor), and those of the parties, by party."""
    creditor: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM bank_details WHERE party_kind = 'association' AND party_id = $1",
        association_id,
    )
    details = {
        (r["party_kind"], r["party_id"]): r
        for r in await conn.fetch("SELECT * FROM bank_details WHERE party_id = ANY($1)", parties)
    }
    return creditor, details


async def names(conn: asyncpg.Connection, association_id: UUID) -> dict[UUID, str]:
    """The names of the association's merchants and partners, for the remittance texts."""
    return {
        r["id"]: r["name"]
        for r in await conn.fetch(
            """SELECT id, name FROM merchants WHERE association_id = $1
               UNION ALL SELECT id, name FROM partners WHERE association_id = $1""",
            association_id,
        )
    }
