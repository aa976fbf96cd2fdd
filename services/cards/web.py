"""The cards service's back-office edge: the ``Api`` every route module registers on, and what
those modules share (request base model, path parameters, look-ups, events)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web

from shared.events import Event, EventData, new_event
from shared.http import Problem
from shared.openapi import Api
from shared.rules.codes import InvalidCode, parse_card_number

SOURCE = "cards"
PROBLEMS = "https://comptoir.dev/problems/"
# Card types that hold money loaded by customers and earn nothing (F11); the others earn.
MONEY_KINDS = frozenset({"gift", "prepaid", "epurse"})
EARNING_KINDS = frozenset({"association", "generic", "merchant"})
MAX_BATCH = 10_000  # cards or vouchers made by one request

api = Api(
    "cards",
    "Loyalty rules and the card life cycle: associations, merchants, product families, "
    "programs, promotions, card types, cards, the blacklist, accounts, vouchers, stored value, "
    "adjustments, customer file imports and the dry run of a sale.",
)


def event(data: EventData, subject: str) -> Event[Any]:
    return new_event(SOURCE, data, subject=subject)


def card_param(request: web.Request, name: str = "number") -> str:
    """A card number in the path, as printed or typed; 400 when it is not one."""
    try:
        return parse_card_number(request.match_info[name])
    except InvalidCode as exc:
        raise Problem(
            400,
            "Invalid card number",
            str(exc),
            PROBLEMS + "invalid-card-number",
            reason="invalid_card_number",
        ) from exc


async def association(conn: asyncpg.Connection, association_id: UUID) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM associations WHERE id = $1", association_id
    )
    if row is None:
        raise Problem(404, "Unknown association", f"no association {association_id}")
    return row
