"""The I/O side of a customer file import (F5): ``domain.customer_import.read`` validated the file,
this writes its accepted lines into one association, inside the caller's transaction.

Running the same file again changes nothing: accounts are upserted by (association, phone)
and only their missing details are completed (what the customer set is never overwritten);
an imported balance is booked once per account, its reference derived from the account's
identity (``import_balances.opening_balance_reference``), not from the import; a card number is linked once.
The work goes by batches of ``BATCH`` lines, a few statements each (unnest, COPY), never one
round trip per line.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import imports as rows_of
from services.cards.adapters import serials
from services.cards.adapters.imports import DETAILS
from services.cards.domain.customer_import import Customer
from services.cards.service import import_balances
from services.cards.service.common import event
from shared import clock, outbox
from shared.contracts import AccountOpened, CardIssued
from shared.events import Event

BATCH = 5000


class ImportConflict(Exception):
    """Something the import was about to write appeared meanwhile; nothing was written (the
    transaction rolls back) and running the import again is safe."""


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[Customer, str]] = field(default_factory=list)
    opening_balances: int = 0
    opening_balance_cents: int = 0
    cards_linked: int = 0


async def upsert(
    conn: asyncpg.Connection,
    association_id: UUID,
    customers: Sequence[Customer],
    import_id: UUID,
    now: datetime,
) -> Outcome:
    """Write the accepted customers of a file; a line whose card number is taken (by another
    account, another association, or an earlier line of the file) is rejected, the rest goes
    on. Call inside a transaction; raises ``LookupError`` for an unknown association and
    ``ImportConflict`` when a concurrent writer got in the way."""
    # Two imports of one association run one after the other: each sees the other's cards.
    association = await rows_of.lock_association(conn, association_id)
    if association is None:
        raise LookupError(f"no association {association_id}")
    if association["issuer_prefix"] is not None:
        # Before any card is written: the serials' row is locked first, as issuance does.
        await serials.reserve(
            conn,
            association_id,
            association["issuer_prefix"],
            (c.card_number for c in customers if c.card_number is not None),
        )
    out = Outcome()
    # A card number and an e-mail address name one account: the first line keeps them.
    first_card: dict[str, int] = {}
    first_email: dict[str, int] = {}
    kept: list[Customer] = []
    for c in customers:
        if c.card_number is not None and c.card_number in first_card:
            out.rejected.append(
                (c, f"card {c.card_number} is already on line {first_card[c.card_number]}")
            )
            continue
        if c.email is not None and c.email in first_email:
            out.rejected.append((c, f"e-mail {c.email} is already on line {first_email[c.email]}"))
            continue
        if c.card_number is not None:
            first_card[c.card_number] = c.line
        if c.email is not None:
            first_email[c.email] = c.line
        kept.append(c)
    for start in range(0, len(kept), BATCH):
        await _batch(
            conn,
            association_id,
            association["default_card_type_id"],
            kept[start : start + BATCH],
            import_id,
            now,
            out,
        )
    return out


def _columns(customers: Sequence[Customer]) -> list[list[Any]]:
    return [[getattr(c, name) for c in customers] for name in DETAILS]


async def _batch(
    conn: asyncpg.Connection,
    association_id: UUID,
    default_card_type: UUID | None,
    chunk: list[Customer],
    import_id: UUID,
    now: datetime,
    out: Outcome,
) -> None:
    """One batch of lines: the accounts, cards and e-mail addresses they name, locked and read
    at once; the lines that may go on; then accounts opened, details completed, balances
    booked and cards issued, a few statements each, and their events in the outbox."""
    accounts = await rows_of.lock_by_phone(conn, association_id, [c.phone for c in chunk])
    numbers = [c.card_number for c in chunk if c.card_number is not None]
    cards = await rows_of.cards_by_number(conn, numbers)
    # The e-mail addresses the batch would set (an account's own is never overwritten), and
    # the accounts that already have them, on the account or as a linked identifier.
    emails = [
        c.email
        for c in chunk
        if c.email is not None and (c.phone not in accounts or accounts[c.phone]["email"] is None)
    ]
    owners = await rows_of.email_owners(conn, association_id, emails)
    kept = _admissible(chunk, association_id, default_card_type, accounts, cards, owners, out)

    events: list[Event[Any]] = []
    created = await _open_accounts(conn, association_id, kept, accounts, import_id, events)
    changed = await _complete_details(conn, kept, accounts, created)
    changed |= await import_balances.book(
        conn, association_id, kept, accounts, import_id, now, events, out
    )
    changed |= await _issue_cards(
        conn, association_id, default_card_type, kept, accounts, cards, events, out
    )

    out.created += len(created)
    existing = [c for c in kept if c.phone not in created]
    out.updated += sum(1 for c in existing if c.phone in changed)
    out.unchanged += sum(1 for c in existing if c.phone not in changed)
    await outbox.write(conn, events)


def _admissible(
    chunk: list[Customer],
    association_id: UUID,
    default_card_type: UUID | None,
    accounts: dict[str, asyncpg.Record],
    cards: dict[str, asyncpg.Record],
    owners: dict[str, UUID],
    out: Outcome,
) -> list[Customer]:
    """The lines that may be written; the others go to ``out.rejected`` with their reason (an
    e-mail address or a card of someone else, a card with no card type to issue it under)."""
    kept: list[Customer] = []
    for c in chunk:
        account = accounts.get(c.phone)
        owner = owners.get(c.email or "")
        if owner is not None and (account is None or owner != account["id"]):
            out.rejected.append((c, f"e-mail {c.email} belongs to another account"))
            continue
        if c.card_number is not None:
            card = cards.get(c.card_number)
            if card is not None and card["association_id"] != association_id:
                out.rejected.append((c, f"card {c.card_number} belongs to another association"))
                continue
            if card is not None and (account is None or card["account_id"] != account["id"]):
                out.rejected.append((c, f"card {c.card_number} belongs to another account"))
                continue
            if card is None and default_card_type is None:
                out.rejected.append(
                    (c, f"the association has no default card type to issue card {c.card_number}")
                )
                continue
        kept.append(c)
    return kept


async def _open_accounts(
    conn: asyncpg.Connection,
    association_id: UUID,
    kept: list[Customer],
    accounts: dict[str, asyncpg.Record],
    import_id: UUID,
    events: list[Event[Any]],
) -> set[str]:
    """Open the accounts of the lines whose phone has none (``accounts`` gets them); the
    phones of the accounts opened. One opened meanwhile by a sale is locked and read instead,
    to be completed like any existing account."""
    # New accounts, in phone order (unique index entries taken in one order by every batch).
    new = sorted((c for c in kept if c.phone not in accounts), key=lambda c: c.phone)
    if not new:
        return set()
    details: list[rows_of.NewAccount] = [
        (
            uuid.uuid4(),
            c.phone,
            c.email,
            c.title,
            c.first_name,
            c.last_name,
            c.birth_date,
            c.postal_code,
        )
        for c in new
    ]
    # The liability counts accounts opened by then, on the services' clock.
    rows = await rows_of.open_accounts(conn, association_id, details, clock.now())
    by_phone = {c.phone: c for c in new}
    created: set[str] = set()
    for r in rows:
        created.add(r["phone"])
        accounts[r["phone"]] = r
        events.append(_opened(by_phone[r["phone"]], r, association_id, import_id))
    raced = [c.phone for c in new if c.phone not in created]
    if raced:
        accounts.update(await rows_of.lock_by_phone(conn, association_id, raced))
    return created


def _opened(c: Customer, row: asyncpg.Record, association_id: UUID, import_id: UUID) -> Event[Any]:
    return event(
        AccountOpened(
            account_id=row["id"],
            association_id=association_id,
            phone=c.phone,
            email=c.email,
            title=c.title,
            first_name=c.first_name,
            last_name=c.last_name,
            opened_at=row["opened_at"],
            request_id=import_id,
            request_kind="import",
        ),
        f"account/{row['id']}",
    )


async def _complete_details(
    conn: asyncpg.Connection,
    kept: list[Customer],
    accounts: dict[str, asyncpg.Record],
    created: set[str],
) -> set[str]:
    """Fill in the details an existing account lacks (never one it has); the phones changed."""
    completed = [
        c
        for c in kept
        if c.phone not in created
        and any(
            accounts[c.phone][name] is None and getattr(c, name) is not None for name in DETAILS
        )
    ]
    if not completed:
        return set()
    await rows_of.complete_details(
        conn, [accounts[c.phone]["id"] for c in completed], _columns(completed)
    )
    return {c.phone for c in completed}


async def _issue_cards(
    conn: asyncpg.Connection,
    association_id: UUID,
    default_card_type: UUID | None,
    kept: list[Customer],
    accounts: dict[str, asyncpg.Record],
    cards: dict[str, asyncpg.Record],
    events: list[Event[Any]],
    out: Outcome,
) -> set[str]:
    """Link the file's new card numbers to their accounts, a ``CardIssued`` each; the phones
    whose account got a card."""
    linked = await _link_cards(conn, association_id, default_card_type, kept, accounts, cards)
    for number, (c, issued_at) in linked.items():
        events.append(
            event(
                CardIssued(
                    card_number=number,
                    account_id=accounts[c.phone]["id"],
                    association_id=association_id,
                    card_type_id=default_card_type,  # type: ignore[arg-type]  # checked above
                    first_name=c.first_name,
                    last_name=c.last_name,
                    issued_at=issued_at,
                ),
                f"account/{accounts[c.phone]['id']}",
            )
        )
    out.cards_linked += len(linked)
    return {c.phone for c, _ in linked.values()}


async def _link_cards(
    conn: asyncpg.Connection,
    association_id: UUID,
    default_card_type: UUID | None,
    kept: list[Customer],
    accounts: dict[str, asyncpg.Record],
    cards: dict[str, asyncpg.Record],
) -> dict[str, tuple[Customer, datetime]]:
    """Issue the file's card numbers not issued yet, of the association's default card type."""
    todo = sorted(
        (c for c in kept if c.card_number is not None and c.card_number not in cards),
        key=lambda c: c.card_number or "",
    )
    if not todo:
        return {}
    rows = await rows_of.issue_cards(
        conn,
        association_id,
        default_card_type,
        [
            (c.card_number, accounts[c.phone]["id"], c.first_name, c.last_name)
            for c in todo
            if c.card_number is not None  # all of them: todo has card numbers only
        ],
        clock.now(),  # dormancy counts from issue on the services' clock, not the database's
    )
    if len(rows) != len(todo):
        issued = {r["number"] for r in rows}
        missing = [c.card_number for c in todo if c.card_number not in issued]
        raise ImportConflict(
            f"card numbers issued while the file was imported: {', '.join(map(str, missing[:5]))}"
        )
    by_number = {c.card_number: c for c in todo}
    return {r["number"]: (by_number[r["number"]], r["issued_at"]) for r in rows}
