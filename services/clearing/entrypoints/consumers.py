"""The cards' events clearing books, one handler per fact, each a batch in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.clearing.service import booking
from shared.contracts import (
    AccountAdjusted,
    AccountHolderRenamed,
    AccountOpened,
    CardIssued,
    CustomerDetailsChanged,
    CustomerErased,
    MerchantRegistered,
    RewardReversed,
    TransactionsBooked,
)
from shared.events import Event

Nothing: Sequence[Event[Any]] = ()  # clearing publishes nothing in answer to these


async def on_booked(
    conn: asyncpg.Connection, events: list[Event[TransactionsBooked]]
) -> Sequence[Event[Any]]:
    await booking.booked(conn, events)
    return Nothing


async def on_reversed(
    conn: asyncpg.Connection, events: list[Event[RewardReversed]]
) -> Sequence[Event[Any]]:
    await booking.reversed_(conn, events)
    return Nothing


async def on_adjusted(
    conn: asyncpg.Connection, events: list[Event[AccountAdjusted]]
) -> Sequence[Event[Any]]:
    await booking.adjusted(conn, events)
    return Nothing


async def on_merchant(
    conn: asyncpg.Connection, events: list[Event[MerchantRegistered]]
) -> Sequence[Event[Any]]:
    await booking.merchants(conn, events)
    return Nothing


async def on_holder(
    conn: asyncpg.Connection, events: list[Event[AccountOpened]] | list[Event[CardIssued]]
) -> Sequence[Event[Any]]:
    await booking.holders(conn, events)
    return Nothing


async def on_renamed(
    conn: asyncpg.Connection, events: list[Event[AccountHolderRenamed]]
) -> Sequence[Event[Any]]:
    await booking.renamed(conn, events)
    return Nothing


async def on_details_changed(
    conn: asyncpg.Connection, events: list[Event[CustomerDetailsChanged]]
) -> Sequence[Event[Any]]:
    await booking.holders_changed(conn, events)
    return Nothing


async def on_erased(
    conn: asyncpg.Connection, events: list[Event[CustomerErased]]
) -> Sequence[Event[Any]]:
    await booking.holders_erased(conn, events)
    return Nothing
