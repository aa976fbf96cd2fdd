"""The SQL of card types, their own rates per merchant and their acceptances by other
associations (or by one of their merchants)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.db.query import one_or_404


async def card_type(conn: asyncpg.Connection, ctid: UUID, lock: bool = False) -> asyncpg.Record:
    """The card type, or a 404 (reason ``unknown_card_type``)."""
    sql = "SELECT * FROM card_types WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return await one_or_404(conn, "card type", ctid, sql, ctid)


async def lock_card_type(conn: asyncpg.Connection, ctid: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM card_types WHERE id = $1 FOR UPDATE", ctid
    )
    return row


async def has_cards(conn: asyncpg.Connection, ctid: UUID) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM cards WHERE card_type_id = $1)", ctid)
    )


async def upsert_card_type(
    conn: asyncpg.Connection,
    ctid: UUID,
    aid: UUID,
    *,
    name: str,
    kind: str,
    program_id: UUID | None,
    taux_client_bps: int | None,
    taux_uc_bps: int | None,
    merchant_id: UUID | None,
    validity_months: int | None,
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO card_types (id, association_id, name, kind, program_id,
               taux_client_bps, taux_uc_bps, merchant_id, validity_months)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
               program_id = excluded.program_id, taux_client_bps = excluded.taux_client_bps,
               taux_uc_bps = excluded.taux_uc_bps, merchant_id = excluded.merchant_id,
               validity_months = excluded.validity_months
           RETURNING *, xmax = 0 AS created""",
        ctid,
        aid,
        name,
        kind,
        program_id,
        taux_client_bps,
        taux_uc_bps,
        merchant_id,
        validity_months,
    )
    return row


async def card_types_of(conn: asyncpg.Connection, aid: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM card_types WHERE association_id = $1 ORDER BY created_at, id", aid
    )
    return rows


async def rates_of(conn: asyncpg.Connection, ctid: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM card_type_rates WHERE card_type_id = $1 ORDER BY merchant_id", ctid
    )
    return rows


async def acceptances_of(conn: asyncpg.Connection, ctid: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM acceptances WHERE card_type_id = $1
           ORDER BY association_id, merchant_id NULLS FIRST""",
        ctid,
    )
    return rows


async def accepted_by(
    conn: asyncpg.Connection, ctid: UUID, association_id: UUID, merchant_id: UUID
) -> bool:
    """An acceptance lets the merchant (or its whole association) take the card type."""
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM acceptances WHERE card_type_id = $1
                 AND association_id = $2 AND (merchant_id IS NULL OR merchant_id = $3))""",
            ctid,
            association_id,
            merchant_id,
        )
    )


async def upsert_rate(
    conn: asyncpg.Connection,
    ctid: UUID,
    mid: UUID,
    taux_client_bps: int | None,
    taux_uc_bps: int | None,
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO card_type_rates (card_type_id, merchant_id, taux_client_bps, taux_uc_bps)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (card_type_id, merchant_id) DO UPDATE SET
               taux_client_bps = excluded.taux_client_bps, taux_uc_bps = excluded.taux_uc_bps
           RETURNING *, xmax = 0 AS created""",
        ctid,
        mid,
        taux_client_bps,
        taux_uc_bps,
    )
    return row


async def delete_rate(conn: asyncpg.Connection, ctid: UUID, mid: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "DELETE FROM card_type_rates WHERE card_type_id = $1 AND merchant_id = $2 RETURNING *",
        ctid,
        mid,
    )
    return row


async def insert_acceptance(
    conn: asyncpg.Connection, ctid: UUID, aid: UUID, mid: UUID | None
) -> bool:
    """True when inserted, False when it was there."""
    inserted = await conn.fetchval(
        """INSERT INTO acceptances (card_type_id, association_id, merchant_id)
           VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true""",
        ctid,
        aid,
        mid,
    )
    return bool(inserted)


async def delete_acceptance(
    conn: asyncpg.Connection, ctid: UUID, aid: UUID, mid: UUID | None
) -> bool:
    deleted = await conn.fetchval(
        """DELETE FROM acceptances WHERE card_type_id = $1 AND association_id = $2
             AND merchant_id IS NOT DISTINCT FROM $3 RETURNING true""",
        ctid,
        aid,
        mid,
    )
    return bool(deleted)
