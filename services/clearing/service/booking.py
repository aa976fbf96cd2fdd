"""Booking the cards' events in the journal of the compte pivot, a batch per transaction
(the entries each event makes: ``domain/bookings.py``), and keeping what the statements show
of merchants and cardholders."""

from __future__ import annotations

import asyncpg

from services.clearing.adapters import directory, journal
from services.clearing.domain import bookings
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


async def booked(conn: asyncpg.Connection, events: list[Event[TransactionsBooked]]) -> int:
    return await journal.book(conn, bookings.booked(events))


async def reversed_(conn: asyncpg.Connection, events: list[Event[RewardReversed]]) -> int:
    return await journal.book(conn, bookings.reversed_(events))


async def adjusted(conn: asyncpg.Connection, events: list[Event[AccountAdjusted]]) -> int:
    return await journal.book(conn, bookings.adjusted(events))


async def merchants(conn: asyncpg.Connection, events: list[Event[MerchantRegistered]]) -> None:
    for e in events:
        d = e.data
        await directory.save_merchant(
            conn,
            d.merchant_id,
            d.association_id,
            d.merchant_name,
            d.taux_client_bps,
            d.taux_uc_bps,
            d.created_at,
            d.closed_on,
        )


async def holders(
    conn: asyncpg.Connection, events: list[Event[AccountOpened]] | list[Event[CardIssued]]
) -> None:
    """The names on an account: those it opened with fill what is missing; a card issued
    with names gives the holder's names as they are now, which replace older ones."""
    for e in events:
        d = e.data
        if isinstance(d, CardIssued) and d.first_name and d.last_name:
            await directory.rename_holder(
                conn, d.account_id, d.association_id, d.first_name, d.last_name, d.issued_at
            )
            continue
        await directory.save_holder(
            conn,
            d.account_id,
            d.association_id,
            getattr(d, "title", None),
            d.first_name,
            d.last_name,
        )


async def renamed(conn: asyncpg.Connection, events: list[Event[AccountHolderRenamed]]) -> None:
    """The back office's change of the names (F16), title included: the latest wins."""
    for d in sorted((e.data for e in events), key=lambda d: (d.account_id, d.changed_at)):
        await directory.rename_holder(
            conn,
            d.account_id,
            d.association_id,
            d.first_name,
            d.last_name,
            d.changed_at,
            title=d.title,
            with_title=True,
        )


async def holders_changed(
    conn: asyncpg.Connection, events: list[Event[CustomerDetailsChanged]]
) -> None:
    """crm changed a customer's names (F16): the statements' detail lines show the new ones."""
    for d in sorted((e.data for e in events), key=lambda d: (d.account_id, d.changed_at)):
        await directory.rename_holder(
            conn,
            d.account_id,
            d.association_id,
            d.first_name,
            d.last_name,
            d.changed_at,
            title=d.title,
            with_title=True,
        )


async def holders_erased(conn: asyncpg.Connection, events: list[Event[CustomerErased]]) -> None:
    """An erased customer's lines keep their amounts, under a pseudonym."""
    for d in sorted((e.data for e in events), key=lambda d: d.account_id):
        await directory.erase_holder(conn, d.account_id, d.association_id, d.pseudonym, d.erased_at)
