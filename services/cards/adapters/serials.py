"""Card serials (F3): the 9 digits after an association's issuer prefix, gap-free.

The counter row is locked for the whole transaction that writes the cards, so a rolled-back
issuance gives its serials back; it is created on first use past any card already numbered
under the prefix (cards imported before any was issued)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from shared.http import Problem
from shared.rules.codes import ISSUER_DIGITS, SERIAL_DIGITS, card_number

MAX_SERIAL = 10**SERIAL_DIGITS - 1


async def lock_next(conn: asyncpg.Connection, association_id: UUID, prefix: str) -> int:
    """Lock the association's counter and return its next serial."""
    for _ in range(2):
        serial: int | None = await conn.fetchval(
            "SELECT next_serial FROM card_serials WHERE association_id = $1 FOR UPDATE",
            association_id,
        )
        if serial is not None:
            return serial
        await conn.execute(
            """INSERT INTO card_serials (association_id, next_serial)
               SELECT $1, coalesce(max(substr(number, $4, $5)::bigint), 0) + 1
               FROM cards WHERE number BETWEEN $2 AND $3
               ON CONFLICT (association_id) DO NOTHING""",
            association_id,
            card_number(prefix, 0),
            card_number(prefix, MAX_SERIAL),
            ISSUER_DIGITS + 1,
            SERIAL_DIGITS,
        )
    raise AssertionError("the serial counter row was just created")


async def take(conn: asyncpg.Connection, association_id: UUID, first: int, count: int) -> None:
    """Use ``count`` serials from ``first`` (which ``lock_next`` gave, in this transaction)."""
    if first + count - 1 > MAX_SERIAL:
        raise Problem(
            409,
            "No serial left",
            f"the association's {SERIAL_DIGITS}-digit serials are used up "
            f"({MAX_SERIAL - first + 1} left, {count} asked)",
        )
    await conn.execute(
        "UPDATE card_serials SET next_serial = $2 WHERE association_id = $1",
        association_id,
        first + count,
    )


async def reserve(
    conn: asyncpg.Connection, association_id: UUID, prefix: str, numbers: Iterable[str]
) -> None:
    """Imported cards under the association's own prefix use up their serials: move the next
    serial past them, so that a card issued later never collides."""
    used = [
        int(n[ISSUER_DIGITS : ISSUER_DIGITS + SERIAL_DIGITS])
        for n in numbers
        if n.startswith(prefix)
    ]
    if used and max(used) >= await lock_next(conn, association_id, prefix):
        await conn.execute(
            "UPDATE card_serials SET next_serial = $2 WHERE association_id = $1",
            association_id,
            max(used) + 1,
        )
