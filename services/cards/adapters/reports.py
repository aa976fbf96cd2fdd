"""Read-only reports' SQL: what an association's cardholders are owed by the cagnotte at a
cut-off (the reconciliation's figure), and the anomalies the offline card checks recorded."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from shared.db.query import one_or_404

# One statement: the association's accounts by its (association_id, phone) index, their entries
# by (account_id, id). ``infinity`` when no cut-off: one plan for both.
_LIABILITY = """
SELECT a.id AS association_id, coalesce($2::timestamptz, $3::timestamptz) AS as_of,
       (SELECT count(*) FROM accounts c
        WHERE c.association_id = a.id
          AND c.opened_at <= coalesce($2::timestamptz, 'infinity')) AS accounts,
       t.cagnotte_cents, t.stored_value_cents
FROM associations a
CROSS JOIN LATERAL (
    SELECT coalesce(sum(e.amount_cents) FILTER (WHERE e.bucket IN ('available', 'pending')), 0)
               ::bigint AS cagnotte_cents,
           coalesce(sum(e.amount_cents) FILTER (WHERE e.bucket = 'stored_value'), 0)
               ::bigint AS stored_value_cents
    FROM accounts c JOIN cagnotte_entries e ON e.account_id = c.id
    WHERE c.association_id = a.id
      AND e.occurred_at <= coalesce($2::timestamptz, 'infinity')
) t
WHERE a.id = $1"""

_PER_ACCOUNT = """
SELECT c.id AS account_id,
       coalesce(sum(e.amount_cents) FILTER (WHERE e.bucket IN ('available', 'pending')), 0)
           ::bigint AS cagnotte_cents,
       coalesce(sum(e.amount_cents) FILTER (WHERE e.bucket = 'stored_value'), 0)
           ::bigint AS stored_value_cents
FROM accounts c JOIN cagnotte_entries e ON e.account_id = c.id
WHERE c.association_id = $1 AND e.occurred_at <= coalesce($2::timestamptz, 'infinity')
GROUP BY c.id
HAVING coalesce(sum(e.amount_cents) FILTER (WHERE e.bucket IN ('available', 'pending')), 0) <> 0
    OR coalesce(sum(e.amount_cents) FILTER (WHERE e.bucket = 'stored_value'), 0) <> 0
ORDER BY c.id"""


async def liability(
    pool: asyncpg.Pool, association_id: UUID, as_of: datetime | None, now: datetime
) -> asyncpg.Record:
    """The association's totals at ``as_of`` (None: every entry, as of ``now``), or a 404."""
    return await one_or_404(
        pool, "association", association_id, _LIABILITY, association_id, as_of, now
    )


async def per_account(
    pool: asyncpg.Pool, association_id: UUID, as_of: datetime | None
) -> list[asyncpg.Record]:
    """Each account owed something at ``as_of``, in id order."""
    rows: list[asyncpg.Record] = await pool.fetch(_PER_ACCOUNT, association_id, as_of)
    return rows


async def anomalies(
    pool: asyncpg.Pool,
    card_number: str | None,
    kind: str | None,
    before: int | None,
    limit: int,
    association_id: UUID | None = None,
) -> list[asyncpg.Record]:
    """Newest first, filtered by card number, kind and the association of the terminal's
    merchant, below the id ``before`` (paging)."""
    rows: list[asyncpg.Record] = await pool.fetch(
        """SELECT * FROM card_anomalies
           WHERE ($1::text IS NULL OR card_number = $1) AND ($2::text IS NULL OR kind = $2)
             AND ($3::bigint IS NULL OR id < $3)
             AND ($5::uuid IS NULL
                  OR merchant_id IN (SELECT id FROM merchants WHERE association_id = $5))
           ORDER BY id DESC LIMIT $4""",
        card_number,
        kind,
        before,
        limit,
        association_id,
    )
    return rows
