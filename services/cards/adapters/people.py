"""What cards keeps of a person, changed or erased as crm (which owns personal data) says."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def change_details(
    conn: asyncpg.Connection,
    account_id: UUID,
    title: str | None,
    first_name: str | None,
    last_name: str | None,
    phone: str | None,
    email: str | None,
    at: datetime,
) -> bool:
    """The names on the account and on its card records (F16: a name changed by marriage),
    and its mobile and e-mail, so the till finds the customer by the number they gave crm;
    False when the account is unknown, erased, or a later change was applied already. A mobile
    another account of the association holds is not taken from it (the account keeps its
    own), and a mobile cleared in crm stays cards' identifier."""
    found = await conn.fetchval(
        """UPDATE accounts a SET title = $2, first_name = $3, last_name = $4, email = $6,
                  details_changed_at = $7,
                  phone = CASE WHEN $5::text IS NULL OR EXISTS (
                                   SELECT 1 FROM accounts o
                                   WHERE o.association_id = a.association_id AND o.phone = $5
                                     AND o.id <> a.id)
                               THEN a.phone ELSE $5 END
           WHERE id = $1 AND erased_at IS NULL
             AND (details_changed_at IS NULL OR details_changed_at <= $7)
           RETURNING id""",
        account_id,
        title,
        first_name,
        last_name,
        phone,
        email,
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
