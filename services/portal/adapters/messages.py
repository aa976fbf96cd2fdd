"""The portal's messages (a password link, a cardholder's code) asked of notifications as
``message.requested`` through the outbox, in the transaction that made the link or code."""

from __future__ import annotations

import uuid
from typing import Any, Literal
from uuid import UUID

import asyncpg

from shared import outbox
from shared.contracts import MessageRequested
from shared.events import new_event

# The network's own messages (an operator's link) belong to no association: this id says so.
NETWORK = UUID(int=0)


async def request(
    conn: asyncpg.Connection,
    channel: Literal["email", "sms"],
    to: str,
    template: str,
    variables: dict[str, Any],
    language: Literal["fr", "en"],
    association_id: UUID | None,
    merchant_id: UUID | None = None,
    account_id: UUID | None = None,
) -> UUID:
    message_id = uuid.uuid4()
    data = MessageRequested(
        message_id=message_id,
        channel=channel,
        category="transactional",
        to=to,
        language=language,
        template=template,
        variables=variables,
        association_id=association_id or NETWORK,
        merchant_id=merchant_id,
        account_id=account_id,
    )
    await outbox.write(conn, [new_event("portal", data, subject=str(message_id))])
    return message_id
