"""Whose data a back-office request reaches (issue 15): the association, and the merchant,
a merchant, a partner or a journal reference belongs to, read before the route is
authorised (shared/access_http.authorise) and before anything else is read or changed."""

from __future__ import annotations

from typing import TypeAlias
from uuid import UUID

import asyncpg

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


def merchant_association_sql(merchant: str) -> str:
    """The association of the merchant ``merchant`` (an SQL expression) names: from its
    registration, else from its entries."""
    return f"""coalesce(
        (SELECT association_id FROM merchants WHERE id = {merchant}),
        (SELECT association_id FROM journal_entries WHERE merchant_id = {merchant} LIMIT 1))"""


async def merchant_association(conn: Db, merchant_id: UUID) -> UUID | None:
    """The merchant's association (``merchant_association_sql``)."""
    aid: UUID | None = await conn.fetchval(f"SELECT {merchant_association_sql('$1')}", merchant_id)
    return aid


async def partner_association(conn: Db, partner_id: UUID) -> UUID | None:
    aid: UUID | None = await conn.fetchval(
        "SELECT association_id FROM partners WHERE id = $1", partner_id
    )
    return aid


async def reference_associations(conn: Db, reference_id: UUID) -> list[UUID]:
    """The associations whose books hold entries of this reference (one, or none)."""
    rows = await conn.fetch(
        "SELECT DISTINCT association_id FROM journal_entries WHERE reference_id = $1",
        reference_id,
    )
    return [r["association_id"] for r in rows]
