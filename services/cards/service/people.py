"""crm's changes and erasures of personal data, applied to what cards keeps: the names on the
accounts and card records (F16), the mobile and e-mail that identify the account, and at an
erasure everything that names the person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.cards.adapters import people
from shared.contracts import CustomerDetailsChanged, CustomerErased
from shared.events import Event


async def on_details_changed(
    conn: asyncpg.Connection, events: list[Event[CustomerDetailsChanged]]
) -> Sequence[Event[Any]]:
    for d in sorted((e.data for e in events), key=lambda d: (d.account_id, d.changed_at)):
        await people.change_details(
            conn, d.account_id, d.title, d.first_name, d.last_name, d.phone, d.email, d.changed_at
        )
    return []


async def on_erased(
    conn: asyncpg.Connection, events: list[Event[CustomerErased]]
) -> Sequence[Event[Any]]:
    for d in sorted((e.data for e in events), key=lambda d: d.account_id):
        await people.erase(conn, d.account_id, d.pseudonym, d.erased_at)
    return []
