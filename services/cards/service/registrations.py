"""Telling clearing who the merchants are (``MerchantRegistered``): name, created on, closed
on, and the rates their sales earn by default, for the monthly statements (F18).

``announce`` runs in the transaction of the change (a merchant admitted or changed, an
association's rate mode or rates changed): it builds each merchant's registration from what
the transaction sees, compares it with the one last published (``merchant_registrations``)
and writes through the outbox only those that differ, so a PUT with the same content
publishes nothing. At start every merchant is compared the same way: the merchants admitted
before this existed are published once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import registrations as published
from services.cards.adapters.registrations import FIELDS
from services.cards.domain.rulebooks import default_rates
from services.cards.service.common import event
from shared import outbox
from shared.contracts import MerchantRegistered


def registration(row: asyncpg.Record | dict[str, Any]) -> MerchantRegistered:
    client, uc = default_rates(
        {
            "rate_mode": row["rate_mode"],
            "taux_client_bps": row["association_taux_client_bps"],
            "taux_uc_bps": row["association_taux_uc_bps"],
        },
        row,
    )
    return MerchantRegistered(
        merchant_id=row["id"],
        association_id=row["association_id"],
        merchant_name=row["name"],
        taux_client_bps=client,
        taux_uc_bps=uc,
        created_at=row["created_at"],
        closed_on=row["closed_on"],
        email=row["email"],
    )


async def announce(
    conn: asyncpg.Connection,
    *,
    merchant_id: UUID | None = None,
    association_id: UUID | None = None,
) -> list[MerchantRegistered]:
    """Publish the registration of one merchant, of every merchant of an association, or of
    every merchant, where it changed since last published; the ones published. Call inside
    the transaction of the change."""
    rows = await published.merchants(conn, merchant_id, association_id)
    if not rows:
        return []
    last = await published.last_published(conn, [r["id"] for r in rows])
    changed = [
        reg
        for reg in map(registration, rows)
        if last.get(reg.merchant_id) != tuple(getattr(reg, f) for f in FIELDS)
    ]
    if not changed:
        return []
    await published.published(
        conn, [(r.merchant_id, *(getattr(r, f) for f in FIELDS)) for r in changed]
    )
    await outbox.write(conn, [event(r, f"merchant/{r.merchant_id}") for r in changed])
    return changed


async def catch_up(pool: asyncpg.Pool) -> int:
    """Compare every merchant with what was last published, and publish the differences."""
    async with pool.acquire() as conn, conn.transaction():
        await published.lock(conn)
        return len(await announce(conn))
