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

import asyncio
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.rulebooks import default_rates
from services.cards.web import event
from shared import logging as log
from shared import outbox
from shared.contracts import MerchantRegistered
from shared.service import Runtime

# Two cards processes starting together compare the merchants one after the other.
LOCK = int.from_bytes(b"cardsMR", "big")
RETRY_S = 1.0

_FIELDS = (
    "association_id",
    "merchant_name",
    "taux_client_bps",
    "taux_uc_bps",
    "created_at",
    "closed_on",
)

# FOR SHARE: a change to the merchant or its association committing meanwhile is waited for
# and then read, never overwritten by an older reading.
_MERCHANTS = """SELECT m.id, m.association_id, m.name, m.taux_client_bps, m.taux_uc_bps,
                       m.created_at, m.closed_on, a.rate_mode,
                       a.taux_client_bps AS association_taux_client_bps,
                       a.taux_uc_bps AS association_taux_uc_bps
                FROM merchants m JOIN associations a ON a.id = m.association_id
                WHERE {where} ORDER BY m.id FOR SHARE OF m, a"""


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
    if merchant_id is not None:
        rows = await conn.fetch(_MERCHANTS.format(where="m.id = $1"), merchant_id)
    elif association_id is not None:
        rows = await conn.fetch(_MERCHANTS.format(where="m.association_id = $1"), association_id)
    else:
        rows = await conn.fetch(_MERCHANTS.format(where="true"))
    if not rows:
        return []
    last = {
        r["merchant_id"]: tuple(r[f] for f in _FIELDS)
        for r in await conn.fetch(
            "SELECT * FROM merchant_registrations WHERE merchant_id = ANY($1::uuid[])",
            [r["id"] for r in rows],
        )
    }
    changed = [
        reg
        for reg in map(registration, rows)
        if last.get(reg.merchant_id) != tuple(getattr(reg, f) for f in _FIELDS)
    ]
    if not changed:
        return []
    await conn.execute(
        """INSERT INTO merchant_registrations (merchant_id, association_id, merchant_name,
                                               taux_client_bps, taux_uc_bps, created_at, closed_on)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::int[],
                                $6::timestamptz[], $7::date[])
           ON CONFLICT (merchant_id) DO UPDATE SET association_id = excluded.association_id,
               merchant_name = excluded.merchant_name,
               taux_client_bps = excluded.taux_client_bps, taux_uc_bps = excluded.taux_uc_bps,
               created_at = excluded.created_at, closed_on = excluded.closed_on,
               published_at = clock_timestamp()""",
        [r.merchant_id for r in changed],
        *([getattr(r, f) for r in changed] for f in _FIELDS),
    )
    await outbox.write(conn, [event(r, f"merchant/{r.merchant_id}") for r in changed])
    return changed


async def catch_up(pool: asyncpg.Pool) -> int:
    """Compare every merchant with what was last published, and publish the differences."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
        return len(await announce(conn))


async def _run(rt: Runtime) -> None:
    logger = log.get("registrations")
    while not rt.stopping:
        try:
            n = await catch_up(rt.pool)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: try again
            logger.warning("merchant_registrations_failed", error=repr(exc))
            await asyncio.sleep(RETRY_S)
            continue
        if n:
            logger.info("merchants_registered", merchants=n, at_start=True)
        return


async def start(rt: Runtime) -> None:
    """Part of ``ServiceSpec.on_ready``: the catch-up at start, in the background."""
    task = asyncio.create_task(_run(rt), name="merchant-registrations")
    rt.state["registrations_task"] = task
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
