"""The customers' status levels as cards reviews them (``account.level_changed.v1``): the
current level per scope kept in the customer file, and the customer told of the change by
a marketing message, only with the consent it needs (e-mail, else SMS; the scope's consent:
the association's for its levels, the merchant's for a merchant's; ``messages.marketing``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import asyncpg

from services.crm.adapters import levels as rows
from services.crm.adapters import people as people_rows
from services.crm.service import messages
from services.crm.service.common import Links
from shared.contracts import LevelChanged
from shared.contracts.messages import Channel
from shared.events import Event

TEMPLATE = "level_changed"
NAMESPACE = UUID("0b7f3c52-5d0e-5c1a-8f3e-4a7d2c9e6b14")
CHANNELS: tuple[Channel, ...] = ("email", "sms")


def message_id(event_id: str) -> UUID:
    """The message of a change, the same whatever the redelivery (one per change)."""
    return uuid.uuid5(NAMESPACE, f"level/{event_id}")


async def on_changes(
    conn: asyncpg.Connection, links: Links, changes: Iterable[tuple[str, LevelChanged]]
) -> list[Event[Any]]:
    """(event id, change): each scope's newest change kept; the customer told of those that
    took (a change older than the one kept is not told)."""
    latest: dict[tuple[UUID, UUID | None], tuple[str, LevelChanged]] = {}
    for event_id, d in changes:
        key = (d.account_id, d.merchant_id)
        if key not in latest or latest[key][1].occurred_at < d.occurred_at:
            latest[key] = (event_id, d)
    if not latest:
        return []
    before = await rows.names(conn, sorted(latest, key=str))
    taken = await rows.apply(
        conn,
        [
            (
                d.account_id,
                d.association_id,
                d.merchant_id,
                d.level_code,
                d.level_name,
                d.occurred_at,
            )
            for _, d in sorted(
                latest.values(), key=lambda x: (str(x[1].account_id), str(x[1].merchant_id))
            )
        ],
    )
    files = await people_rows.files(conn, sorted({a for a, _ in taken}))
    out: list[Event[Any]] = []
    for key in sorted(taken, key=str):
        event_id, d = latest[key]
        file = files.get(d.account_id)
        if file is None:
            continue  # no customer file (yet): nothing to tell
        variables = {
            "first_name": file["first_name"],
            "level_name": d.level_name or d.level_code,
            "level_code": d.level_code,
            "previous_level": _previous(d, before.get(key)),
        }
        for channel in CHANNELS:
            answer = await messages.marketing(
                conn,
                links,
                file,
                channel,
                d.merchant_id,
                TEMPLATE,
                {k: v for k, v in variables.items() if v is not None},
                message_id=message_id(event_id),
            )
            if answer != "no_consent":
                if not isinstance(answer, str):
                    out.append(answer)
                break  # sent, or capped: not again on another channel
    return out


def _previous(d: LevelChanged, held: tuple[str | None, str | None] | None) -> str | None:
    """The name of the level the customer held, as crm knew it (else its code)."""
    if held is not None and held[0] == d.previous_level_code and held[1]:
        return held[1]
    return d.previous_level_code


async def of_customer(pool: asyncpg.Pool, account_id: UUID) -> list[asyncpg.Record]:
    return await rows.of_customer(pool, account_id)
