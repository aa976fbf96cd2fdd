"""The catalogue's SQL: associations, merchants, product families, programs and promotions.

Upserts answer the row and whether it was created (``xmax = 0``: no older version of the row,
so the insert won). Look-ups by key answer the row or the 404 that names what is missing.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from shared.db.query import one_or_404

# --- associations ------------------------------------------------------------------------------

_ASSOCIATION = """SELECT a.*, t.program_id AS default_program_id
                  FROM associations a LEFT JOIN card_types t ON t.id = a.default_card_type_id
                  WHERE a.id = $1"""


async def association(conn: asyncpg.Connection | asyncpg.Pool, aid: UUID) -> asyncpg.Record:
    """The association, or a 404 (reason ``unknown_association``)."""
    return await one_or_404(
        conn, "association", aid, "SELECT * FROM associations WHERE id = $1", aid
    )


async def association_with_defaults(
    conn: asyncpg.Connection | asyncpg.Pool, aid: UUID
) -> asyncpg.Record:
    """The association with its default card type's program, or a 404."""
    return await one_or_404(conn, "association", aid, _ASSOCIATION, aid)


async def lock_association(conn: asyncpg.Connection, aid: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM associations WHERE id = $1 FOR UPDATE", aid
    )
    return row


async def share_association(conn: asyncpg.Connection, aid: UUID) -> bool:
    """Lock the association in share mode; False when there is none."""
    found = await conn.fetchval("SELECT true FROM associations WHERE id = $1 FOR SHARE", aid)
    return found is not None


async def has_cards(conn: asyncpg.Connection, aid: UUID) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM cards WHERE association_id = $1)", aid)
    )


async def prefix_holder(conn: asyncpg.Connection, prefix: str, aid: UUID) -> UUID | None:
    """The other association numbering its cards with ``prefix``, if any."""
    holder: UUID | None = await conn.fetchval(
        "SELECT id FROM associations WHERE issuer_prefix = $1 AND id <> $2", prefix, aid
    )
    return holder


async def upsert_association(
    conn: asyncpg.Connection,
    aid: UUID,
    *,
    name: str,
    rate_mode: str,
    taux_client_bps: int,
    taux_uc_bps: int,
    issuer_prefix: str | None,
    dormant_after_days: int,
    created_at: datetime,
    books_start: date | None,
    books_start_default: date,
) -> bool:
    """Insert or update; True when created. ``books_start`` None keeps the one set, or at
    creation takes ``books_start_default``."""
    created: bool = await conn.fetchval(
        """INSERT INTO associations (id, name, rate_mode, taux_client_bps, taux_uc_bps,
                                     issuer_prefix, dormant_after_days, created_at,
                                     books_start)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9::date, $10::date))
           ON CONFLICT (id) DO UPDATE SET name = excluded.name,
               rate_mode = excluded.rate_mode, taux_client_bps = excluded.taux_client_bps,
               taux_uc_bps = excluded.taux_uc_bps, issuer_prefix = excluded.issuer_prefix,
               dormant_after_days = excluded.dormant_after_days,
               books_start = coalesce($9::date, associations.books_start)
           RETURNING xmax = 0""",
        aid,
        name,
        rate_mode,
        taux_client_bps,
        taux_uc_bps,
        issuer_prefix,
        dormant_after_days,
        created_at,
        books_start,
        books_start_default,
    )
    return created


async def create_defaults(
    conn: asyncpg.Connection, aid: UUID, program_id: UUID, card_type_id: UUID, card_name: str
) -> None:
    """The association's default program (a cagnotte on the whole catalogue) and default card
    type (kind association, that program), made once."""
    await conn.execute(
        """INSERT INTO programs (id, association_id, name, kind)
           VALUES ($1, $2, 'Cagnotte', 'cagnotte') ON CONFLICT (id) DO NOTHING""",
        program_id,
        aid,
    )
    await conn.execute(
        """INSERT INTO card_types (id, association_id, name, kind, program_id)
           VALUES ($1, $2, $3, 'association', $4) ON CONFLICT (id) DO NOTHING""",
        card_type_id,
        aid,
        card_name,
        program_id,
    )
    await conn.execute(
        "UPDATE associations SET default_card_type_id = $2 WHERE id = $1", aid, card_type_id
    )


# --- merchants ---------------------------------------------------------------------------------


async def merchant(conn: asyncpg.Connection | asyncpg.Pool, mid: UUID) -> asyncpg.Record:
    """The merchant, or a 404 (reason ``unknown_merchant``)."""
    return await one_or_404(conn, "merchant", mid, "SELECT * FROM merchants WHERE id = $1", mid)


async def merchant_owner(conn: asyncpg.Connection | asyncpg.Pool, mid: UUID) -> UUID | None:
    """The merchant's association; None for a merchant nobody admitted."""
    owner: UUID | None = await conn.fetchval(
        "SELECT association_id FROM merchants WHERE id = $1", mid
    )
    return owner


async def lock_merchant_owner(conn: asyncpg.Connection, mid: UUID) -> UUID | None:
    owner: UUID | None = await conn.fetchval(
        "SELECT association_id FROM merchants WHERE id = $1 FOR UPDATE", mid
    )
    return owner


async def upsert_merchant(
    conn: asyncpg.Connection,
    mid: UUID,
    aid: UUID,
    *,
    name: str,
    taux_client_bps: int | None,
    taux_uc_bps: int | None,
    closed_on: date | None,
    set_closed_on: bool,
    created_at: datetime,
    email: str | None = None,
    set_email: bool = False,
) -> asyncpg.Record:
    """Insert or update (``created``: inserted); ``set_closed_on`` False keeps the closing day,
    ``set_email`` False the e-mail address."""
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO merchants (id, association_id, name, taux_client_bps, taux_uc_bps,
                                  closed_on, created_at, email)
           VALUES ($1, $2, $3, $4, $5, $6, $8, $9)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name,
               taux_client_bps = excluded.taux_client_bps, taux_uc_bps = excluded.taux_uc_bps,
               closed_on = CASE WHEN $7 THEN excluded.closed_on ELSE merchants.closed_on END,
               email = CASE WHEN $10 THEN excluded.email ELSE merchants.email END
           RETURNING *, xmax = 0 AS created""",
        mid,
        aid,
        name,
        taux_client_bps,
        taux_uc_bps,
        closed_on,
        set_closed_on,
        created_at,
        email,
        set_email,
    )
    return row


async def merchants_of(conn: asyncpg.Connection, aid: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM merchants WHERE association_id = $1 ORDER BY name, id", aid
    )
    return rows


# --- product families --------------------------------------------------------------------------


async def upsert_family(
    conn: asyncpg.Connection,
    mid: UUID,
    code: str,
    *,
    label: str,
    taux_client_bps: int | None,
    tobacco: bool,
    gambling: bool,
    book: bool,
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO product_families
               (merchant_id, code, label, taux_client_bps, tobacco, gambling, book)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (merchant_id, code) DO UPDATE SET label = excluded.label,
               taux_client_bps = excluded.taux_client_bps, tobacco = excluded.tobacco,
               gambling = excluded.gambling, book = excluded.book
           RETURNING *, xmax = 0 AS created""",
        mid,
        code,
        label,
        taux_client_bps,
        tobacco,
        gambling,
        book,
    )
    return row


async def families_of(conn: asyncpg.Connection, mid: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM product_families WHERE merchant_id = $1 ORDER BY code", mid
    )
    return rows


async def delete_family(conn: asyncpg.Connection, mid: UUID, code: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "DELETE FROM product_families WHERE merchant_id = $1 AND code = $2 RETURNING *",
        mid,
        code,
    )
    return row
