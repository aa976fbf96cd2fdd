"""What the statements read: each merchant's figures off the journal entries of a period,
the merchants, their adjustments, and the detail lines page by page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from services.clearing.domain.figures import Figures
from services.clearing.domain.statement_lines import DETAIL_KINDS
from services.clearing.domain.statements import MerchantInfo, adjustment_line
from shared.clock import PARIS

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool

_FIGURES = """
SELECT merchant_id,
    count(*) FILTER (WHERE kind = 'accrual') AS purchases_count,
    coalesce(sum(purchase_cents) FILTER (WHERE kind = 'accrual'), 0) AS purchases_cents,
    coalesce(sum(reward_cents) FILTER (WHERE kind = 'accrual'), 0)
      - coalesce(sum(reward_cents) FILTER (WHERE kind = 'reversal'), 0) AS cagnottages_cents,
    coalesce(sum(fee_cents) FILTER (WHERE kind = 'accrual'), 0)
      - coalesce(sum(fee_cents) FILTER (WHERE kind = 'reversal'), 0) AS fees_cents,
    count(*) FILTER (WHERE kind = 'reversal') AS returns_count,
    coalesce(sum(amount_cents) FILTER (WHERE kind = 'reversal'), 0) AS returns_cents,
    count(*) FILTER (WHERE kind = 'redemption') AS redemptions_count,
    coalesce(sum(amount_cents) FILTER (WHERE kind = 'redemption'), 0) AS redemptions_cents,
    coalesce(sum(amount_cents) FILTER (WHERE kind = 'stored_value_spend'), 0)
      AS stored_value_spent_cents,
    coalesce(sum(amount_cents) FILTER (WHERE kind = 'load'), 0) AS loads_cents,
    coalesce(sum(merchant_cents) FILTER (WHERE kind = 'partner_share'), 0)
      AS partner_share_cents,
    coalesce(sum(merchant_cents) FILTER (WHERE kind = 'merchant_adjustment'), 0)
      AS adjustments_cents,
    coalesce(sum(merchant_cents) FILTER (WHERE kind <> 'settlement'), 0) AS net_cents
FROM journal_entries
WHERE association_id = $1 AND period = $2 AND merchant_id IS NOT NULL
GROUP BY merchant_id
"""
_DETAIL_KINDS = DETAIL_KINDS
# One page of the details after the line ($4, $5): keyset pagination in the order of the
# index on (merchant_id, period, occurred_at). The plain "occurred_at >= $4" is what the index
# can seek to; the row comparison then skips the lines of that instant already sent.
_DETAILS = """
SELECT e.id, e.occurred_at, e.kind, h.title, h.last_name, h.first_name, e.card_number,
       e.purchase_cents, e.amount_cents, e.product_family, e.product_family_label,
       e.rate_bps, e.rate_source, e.reward_cents, e.fee_cents,
       e.merchant_cents, e.adjusts_period, e.note, e.booked_at, p.name AS partner_name
FROM journal_entries e
LEFT JOIN holders h ON h.account_id = e.account_id
LEFT JOIN partners p ON p.id = e.partner_id
WHERE e.merchant_id = $1 AND e.period = $2 AND e.kind = ANY($3)
  AND e.occurred_at >= $4 AND (e.occurred_at, e.id) > ($4, $5)
ORDER BY e.occurred_at, e.id
LIMIT $6
"""


async def merchants(conn: Db, association_id: UUID) -> dict[UUID, MerchantInfo]:
    rows = await conn.fetch("SELECT * FROM merchants WHERE association_id = $1", association_id)
    return {r["id"]: _info(r) for r in rows}


def _info(r: asyncpg.Record) -> MerchantInfo:
    return MerchantInfo(
        r["id"],
        r["association_id"],
        r["name"],
        r["created_at"].astimezone(PARIS).date(),
        r["closed_on"],
        r["taux_uc_bps"],
        r["taux_client_bps"],
    )


async def figures(
    conn: Db, association_id: UUID, period: date, period_ends: datetime
) -> dict[UUID, Figures]:
    """Every merchant's figures for the period: the merchants with entries, and the open
    ones that had none (their shop still ranks, at zero)."""
    rows = await conn.fetch(_FIGURES, association_id, period)
    out = {
        r["merchant_id"]: Figures(
            **{k: int(v) for k, v in r.items() if k != "merchant_id"}
        )  # sums are numeric
        for r in rows
    }
    for mid in await conn.fetch(
        """SELECT id FROM merchants WHERE association_id = $1 AND created_at < $2
           AND (closed_on IS NULL OR closed_on >= $3)""",
        association_id,
        period_ends,
        period,
    ):
        out.setdefault(mid["id"], Figures())
    return out


async def adjustments(
    conn: Db, association_id: UUID, period: date
) -> dict[UUID, list[dict[str, Any]]]:
    """The merchant adjustments booked in the period, by merchant."""
    rows = await conn.fetch(
        """SELECT merchant_id, reference_id, adjusts_period, merchant_cents, note, occurred_at
           FROM journal_entries WHERE association_id = $1 AND period = $2
           AND kind = 'merchant_adjustment' ORDER BY occurred_at, id""",
        association_id,
        period,
    )
    out: dict[UUID, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["merchant_id"], []).append(adjustment_line(r))
    return out


async def association_of(conn: Db, merchant_id: UUID) -> UUID | None:
    """The merchant's association: from its registration, else from its entries."""
    aid: UUID | None = await conn.fetchval(
        "SELECT association_id FROM merchants WHERE id = $1", merchant_id
    ) or await conn.fetchval(
        "SELECT association_id FROM journal_entries WHERE merchant_id = $1 LIMIT 1", merchant_id
    )
    return aid


async def detail_page(
    conn: asyncpg.Connection,
    merchant_id: UUID,
    period: date,
    after: tuple[datetime, int],
    size: int,
) -> list[asyncpg.Record]:
    """The ``size`` detail lines after ``after`` (the last line sent: its time and id)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        _DETAILS, merchant_id, period, _DETAIL_KINDS, *after, size
    )
    return rows
