"""The settlement of a close: each party's position, the SEPA files that settle it, the
entries that book them (the rules: ``domain/settlements.py``)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.clearing.adapters import books, journal
from services.clearing.adapters import settlement as repo
from services.clearing.domain import settlements as rules
from services.clearing.domain.epc import BankDetailsError
from services.clearing.domain.settlements import Position, Settlement
from shared.http import Problem

Move = tuple[str, UUID, int]  # (party kind, party, cents)


async def journal_positions(
    conn: asyncpg.Connection, association_id: UUID, period: date
) -> list[Position]:
    """What each party owes (> 0) or is owed (< 0) through the period, by the whole journal."""
    return rules.position_sums(await repo.journal_moves(conn, association_id, period))


async def positions(
    conn: asyncpg.Connection,
    association_id: UUID,
    period: date,
    closed: date | None,
    frozen: list[Move],
) -> list[Position]:
    """What each party owes (> 0) or is owed (< 0) through the period: what the last close
    (``closed``) held, plus for the months since what their statements, just frozen, say
    merchants and the operator are due (``frozen``) and what partners' accounts moved.
    A settlement zeroes what it settles, so this is the whole journal's sum (the
    reconciliation's ``held_positions`` checks it), read from the months being closed."""
    held: list[Move] = []
    if closed is not None:
        kept = await books.held(conn, association_id, closed)
        if kept is None:  # every close writes its settlement: not expected, but exact
            return await journal_positions(conn, association_id, period)
        held = rules.held_moves(kept)
    partners = await repo.partner_moves(conn, association_id, period, closed)
    return rules.position_sums([*held, *frozen, *partners])


async def settle(
    conn: asyncpg.Connection,
    association_id: UUID,
    period: date,
    now: datetime,
    closed: date | None,
    frozen: list[Move],
) -> Settlement:
    """The settlement files of the period (the books were closed through ``closed`` before;
    ``frozen``: what the statements of the months since say is due), and the entries that
    settle what they carry."""
    all_positions = await positions(conn, association_id, period, closed, frozen)
    creditor, details = await repo.bank_details(
        conn, association_id, [p.party_id for p in all_positions]
    )
    names = await repo.names(conn, association_id)
    try:
        s = rules.plan(
            rules.ref("settlement", association_id, period),
            period,
            now,
            creditor,
            all_positions,
            details,
            names,
        )
        await journal.book(conn, rules.settlement_entries(association_id, period, s, now))
    except BankDetailsError as exc:  # stored details were checked: only a rule change does this
        raise Problem(409, "Bank details no longer valid", exc.detail) from exc
    await books.save_settlement(conn, association_id, period, s)
    return s
