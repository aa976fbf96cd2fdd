"""The back office's decisions on a quarantined offline line (``service.quarantine``): approve
it (booked then, like any offline transaction) or reject it (nothing booked; the card blocked
when it is at fault)."""

from __future__ import annotations

from typing import Any

import asyncpg
from pydantic import ValidationError

from services.cards.adapters import accounts, card_transactions, cards
from services.cards.adapters import quarantine as quarantine_rows
from services.cards.adapters.rulebooks import BOOKS
from services.cards.domain.card_checks import certified, check_reward, digest
from services.cards.service import blacklist, offline_booking
from services.cards.service.common import PROBLEMS, SOURCE
from services.cards.service.offline_booking import Line
from shared import clock, db, outbox
from shared.contracts import CardTransaction, CardTransactionsSynced, card_transaction_id
from shared.events import Event, new_event
from shared.http import Problem


def problem(status: int, title: str, detail: str, reason: str) -> Problem:
    return Problem(status, title, detail, PROBLEMS + reason.replace("_", "-"), reason=reason)


async def _held(conn: asyncpg.Connection, line_id: int) -> asyncpg.Record:
    row = await quarantine_rows.lock(conn, line_id)
    if row is None:
        raise problem(404, "Unknown quarantined line", f"no line {line_id}", "unknown_line")
    if row["status"] != "held":
        raise problem(
            409,
            "Already decided",
            f"line {line_id} was {row['status']} at {row['decided_at'].isoformat()}",
            "already_decided",
        )
    return row


async def approve(pool: asyncpg.Pool, line_id: int, actor: str, reason: str) -> asyncpg.Record:
    """Booked as the chunk would have booked it (the card's deltas to its account, one
    ``TransactionsBooked`` for clearing and crm). Refused (409) when its card is unknown,
    its (card, ATC) is already booked (a clone's line), or the line cannot be read."""

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        row = await _held(conn, line_id)
        now = clock.now()
        try:
            tx = CardTransaction.model_validate(row["line"])
        except ValidationError as exc:
            raise problem(
                409, "Cannot be booked", f"the line cannot be read: {exc}"[:500], "unreadable_line"
            ) from exc
        data = CardTransactionsSynced(
            chunk_id=row["chunk_id"],
            association_id=row["association_id"],
            merchant_id=row["merchant_id"],
            shop_id=row["shop_id"],
            terminal_id=row["terminal_id"],
            synced_at=now,
            transactions=[tx],
            params_version=row["params_version"],
        )
        event: Event[CardTransactionsSynced] = new_event(
            SOURCE, data, subject=f"terminal/{row['terminal_id']}"
        )
        card = (await cards.for_checks(conn, [tx.card_number])).get(tx.card_number)
        if card is None:
            raise problem(409, "Cannot be booked", "no such card", "unknown_card")
        await accounts.lock_accounts(conn, [card["account_id"]])
        taken = await card_transactions.booked_at(conn, tx.card_number, tx.atc)
        if taken is not None:
            raise problem(
                409,
                "Cannot be booked",
                f"ATC {tx.atc} of card {tx.card_number} is already booked "
                f"(transaction {taken}): this line is another content for it",
                "atc_already_booked",
            )
        fields = certified(tx, row["terminal_id"])
        t = Line(event, tx, card_transaction_id(row["terminal_id"], tx.seq))
        t.digest, t.card, t.book = digest(fields, tx), card, True
        snap = await BOOKS.current(conn)
        rules = snap.rules(card["card_type_id"])
        check = check_reward(
            rules.book if rules else None, rules.program if rules else None,
            row["merchant_id"], True, tx,
        )  # fmt: skip
        # The fee and rate the server's rules give: what the operator is owed for the sale.
        t.fee_cents, t.taux_client_bps = check.fee_cents, check.taux_client_bps
        await offline_booking.book(conn, [t])
        done = await quarantine_rows.approved(conn, line_id, now, actor, reason)
        await outbox.write(conn, offline_booking.booked_events([event], [t], snap))
        return done

    return await db.transaction(pool, work)


async def reject(
    pool: asyncpg.Pool, line_id: int, actor: str, reason: str, card_at_fault: bool
) -> asyncpg.Record:
    """Nothing is booked and the server's account stays as it was; what the card claims after
    this line and what the server holds are recorded. ``card_at_fault`` blocks the card."""

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        row = await _held(conn, line_id)
        now = clock.now()
        line = row["line"]
        claims = {
            k: line.get(k)
            for k in ("atc", "available_after", "pending_after", "units_after", "visits_after")
        }
        account = await quarantine_rows.card_account(conn, row["card_number"])
        holds = (
            {
                "available": account["balance_cents"],
                "pending": account["pending_cents"],
                "units": account["units"],
                "visits": account["visits"],
            }
            if account
            else None
        )
        events: list[Event[Any]] = []
        blocked = card_at_fault and account is not None
        if blocked:
            events = await blacklist.block_cloned(conn, [row["card_number"]], now)
        done = await quarantine_rows.rejected(
            conn, line_id, now, actor, reason, blocked, claims, holds
        )
        await outbox.write(conn, events)
        return done

    return await db.transaction(pool, work)
