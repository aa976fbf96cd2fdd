"""What cards keeps of a person, changed or erased as crm (which owns personal data) says."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def change_names(
    conn: asyncpg.Connection,
    account_id: UUID,
    title: str | None,
    first_name: str | None,
    last_name: str | None,
    at: datetime,
) -> bool:
    """The names on the account and on its card records (F16: a name changed by marriage);
    False when the account is unknown, erased, or a later change was applied already."""
    found = await conn.fetchval(
        """UPDATE accounts SET title = $2, first_name = $3, last_name = $4,
                  details_changed_at = $5
           WHERE id = $1 AND erased_at IS NULL
             AND (details_changed_at IS NULL OR details_changed_at <= $5)
           RETURNING id""",
        account_id,
        title,
        first_name,
        last_name,
        at,
    )
    if found is None:
        return False
    await conn.execute(
        "UPDATE cards SET first_name = $2, last_name = $3 WHERE account_id = $1",
        account_id,
        first_name,
        last_name,
    )
    return True


async def erase(conn: asyncpg.Connection, account_id: UUID, pseudonym: str, at: datetime) -> None:
    """The account keeps its amounts and entries under ``pseudonym``; its phone, e-mail,
    names, birth date, postal code and other identifiers (e-mails, bank-card tokens) go."""
    await conn.execute(
        """UPDATE accounts SET phone = NULL, email = NULL, title = NULL, first_name = NULL,
                  last_name = $2, birth_date = NULL, postal_code = NULL, erased_at = $3,
                  details_changed_at = $3
           WHERE id = $1 AND erased_at IS NULL""",
        account_id,
        pseudonym,
        at,
    )
    await conn.execute("DELETE FROM account_identifiers WHERE account_id = $1", account_id)
    await conn.execute(
        "UPDATE cards SET first_name = NULL, last_name = $2 WHERE account_id = $1",
        account_id,
        pseudonym,
    )
