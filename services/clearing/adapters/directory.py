"""What the statements show of merchants and cardholders, as the cards' events tell it."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg


async def save_merchant(
    conn: asyncpg.Connection,
    merchant_id: UUID,
    association_id: UUID,
    name: str,
    taux_client_bps: int,
    taux_uc_bps: int,
    created_at: datetime,
    closed_on: date | None,
) -> None:
    """The merchant as its latest event says (its creation date stays the first one)."""
    await conn.execute(
        """INSERT INTO merchants (id, association_id, name, taux_client_bps, taux_uc_bps,
                                  created_at, closed_on)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name,
               taux_client_bps = excluded.taux_client_bps,
               taux_uc_bps = excluded.taux_uc_bps, closed_on = excluded.closed_on""",
        merchant_id,
        association_id,
        name,
        taux_client_bps,
        taux_uc_bps,
        created_at,
        closed_on,
    )


async def save_holder(
    conn: asyncpg.Connection,
    account_id: UUID,
    association_id: UUID,
    title: str | None,
    first_name: str | None,
    last_name: str | None,
) -> None:
    """The names on an account: those it lacks are filled, none is overwritten."""
    await conn.execute(
        """INSERT INTO holders (account_id, association_id, title, first_name, last_name)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_id) DO UPDATE SET
               title = coalesce(holders.title, excluded.title),
               first_name = coalesce(holders.first_name, excluded.first_name),
               last_name = coalesce(holders.last_name, excluded.last_name)
           WHERE holders.erased_at IS NULL""",
        account_id,
        association_id,
        title,
        first_name,
        last_name,
    )


async def rename_holder(
    conn: asyncpg.Connection,
    account_id: UUID,
    association_id: UUID,
    first_name: str | None,
    last_name: str | None,
    at: datetime,
    title: str | None = None,
    with_title: bool = False,
) -> None:
    """The names given at ``at`` replace those on the account unless later ones were given
    already (events of an account may come out of order); the title too ``with_title``."""
    await conn.execute(
        """INSERT INTO holders (account_id, association_id, title, first_name, last_name,
                                names_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (account_id) DO UPDATE SET
               title = CASE WHEN $7 THEN excluded.title ELSE holders.title END,
               first_name = excluded.first_name, last_name = excluded.last_name,
               names_at = excluded.names_at
           WHERE holders.erased_at IS NULL
             AND (holders.names_at IS NULL OR holders.names_at <= excluded.names_at)""",
        account_id,
        association_id,
        title,
        first_name,
        last_name,
        at,
        with_title,
    )


async def erase_holder(
    conn: asyncpg.Connection, account_id: UUID, association_id: UUID, pseudonym: str, at: datetime
) -> None:
    """The holder's lines keep their amounts under ``pseudonym``."""
    await conn.execute(
        """INSERT INTO holders (account_id, association_id, last_name, erased_at)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (account_id) DO UPDATE SET
               title = NULL, first_name = NULL, last_name = excluded.last_name,
               erased_at = excluded.erased_at""",
        account_id,
        association_id,
        pseudonym,
        at,
    )
