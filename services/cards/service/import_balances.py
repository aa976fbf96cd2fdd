"""The balances a customer file brings (F5): each booked once per account, ever, as an
``opening_balance`` in the cagnotte, whatever how often the file is imported."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from services.cards.adapters import cagnotte
from services.cards.adapters import imports as rows_of
from services.cards.domain.customer_import import Customer
from services.cards.service.common import event
from shared.contracts import AccountAdjusted
from shared.events import Event

if TYPE_CHECKING:
    from services.cards.service.imports import Outcome

NAMESPACE = uuid.UUID("6c3f7d0e-2b59-4c1e-9a57-3f1d2e8b4a90")


def opening_balance_reference(association_id: UUID, phone: str) -> UUID:
    """The cagnotte reference of an account's imported balance: one per account, ever."""
    return uuid.uuid5(NAMESPACE, f"opening_balance:{association_id}:{phone}")


async def book(
    conn: asyncpg.Connection,
    association_id: UUID,
    kept: list[Customer],
    accounts: dict[str, asyncpg.Record],
    import_id: UUID,
    now: datetime,
    events: list[Event[Any]],
    out: Outcome,
) -> set[str]:
    """Book the balances of the file not booked yet; the phones whose balance was booked."""
    with_balance = {
        opening_balance_reference(association_id, c.phone): c for c in kept if c.balance_cents > 0
    }
    if not with_balance:
        return set()
    booked = await rows_of.opening_balances_booked(conn, list(with_balance))
    todo = [(ref, c) for ref, c in with_balance.items() if ref not in booked]
    if not todo:
        return set()
    after = await rows_of.credit(
        conn, [accounts[c.phone]["id"] for _, c in todo], [c.balance_cents for _, c in todo]
    )
    actor = f"import {import_id}"
    entries = []
    for ref, c in todo:
        account_id = accounts[c.phone]["id"]
        note = f"customer file import, line {c.line}"
        entries.append(
            cagnotte.entry(
                account_id,
                "opening_balance",
                "available",
                ref,
                c.balance_cents,
                after[account_id],
                now,
                actor=actor,
                note=note,
            )
        )
        events.append(
            event(
                _credited(ref, account_id, association_id, c, after, actor, note, now),
                f"account/{account_id}",
            )
        )
    await cagnotte.append_entries(conn, entries)
    out.opening_balances += len(todo)
    out.opening_balance_cents += sum(c.balance_cents for _, c in todo)
    return {c.phone for _, c in todo}


def _credited(
    ref: UUID,
    account_id: UUID,
    association_id: UUID,
    c: Customer,
    after: dict[UUID, int],
    actor: str,
    note: str,
    now: datetime,
) -> AccountAdjusted:
    return AccountAdjusted(
        movement_id=ref,
        kind="opening_balance",
        account_id=account_id,
        association_id=association_id,
        purse="cagnotte",
        bucket="available",
        amount_cents=c.balance_cents,
        balance_cents=after[account_id],
        actor=actor,
        reason=note,
        occurred_at=now,
    )
