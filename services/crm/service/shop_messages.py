"""A cardholder's message to a shop of their network (issue 15, "Cardholder space"): kept for
the shop's people, sent once whatever the retries (the id is the sender's form's)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.crm.adapters import scopes
from services.crm.adapters import shop_messages as rows
from shared import clock
from shared.http import Problem

INBOX_SIZE = 200


async def send(
    pool: asyncpg.Pool,
    message_id: UUID,
    account_id: UUID,
    merchant_id: UUID,
    body: str,
    sent_by: str,
) -> tuple[asyncpg.Record, bool]:
    """The message kept, and whether it is new. The same id again with the same message is
    the same message (a form sent twice); with another, 409 ``message_id_reused``."""
    association_id = await scopes.customer_association(pool, account_id)
    row, created = await rows.add(
        pool, message_id, association_id, merchant_id, account_id, body, sent_by, clock.now()
    )
    if not created and (row["account_id"], row["merchant_id"], row["body"]) != (
        account_id,
        merchant_id,
        body,
    ):
        raise Problem(
            409, "Message id reused", "this id names another message", reason="message_id_reused"
        )
    return row, created


async def inbox(pool: asyncpg.Pool, merchant_id: UUID) -> list[asyncpg.Record]:
    return await rows.to_merchant(pool, merchant_id, INBOX_SIZE)


async def sent(pool: asyncpg.Pool, account_id: UUID) -> list[asyncpg.Record]:
    return await rows.of_account(pool, account_id)
