"""Back-office routes of the quarantine of offline card transactions (services/cards/quarantine.py):
list an association's held lines, approve one (booked then, like any offline transaction) or
reject it (nothing booked; the card blocked when it is at fault), and count per terminal what
cards booked and holds, for the reconciliation "every line the gateway acknowledged is booked or
held" (services/cards/quarantine_check.py)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from services.cards import offline, quarantine, store
from services.cards.card_checks import AnomalyKind, certified, check_reward, digest
from services.cards.rulebooks import BOOKS
from services.cards.web import PROBLEMS, api, association
from shared import clock, db, outbox
from shared.contracts import CardTransaction, CardTransactionsSynced, card_transaction_id
from shared.events import Event, new_event
from shared.fields import Text
from shared.http import Problem, json_response, parse_model, read_query, uuid_param
from shared.service import back_office

MAX_ID = 2**63 - 1
Status = Literal["held", "approved", "rejected"]
Why = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=1000)]


class QuarantineQuery(BaseModel):
    status: Status | None = None
    reason: AnomalyKind | None = None
    terminal_id: UUID | None = None
    before: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="only lines with a smaller id (paging)"
    )
    limit: int = Field(default=100, ge=1, le=1000)


class HeldLine(BaseModel):
    id: int
    transaction_id: UUID = Field(description="card_transaction_id(terminal, seq)")
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    terminal_id: UUID
    seq: int
    chunk_id: UUID
    params_version: int | None
    card_number: str
    atc: int
    kind: str
    amount_cents: int
    occurred_at: str = Field(description="as the terminal sent it")
    reasons: list[AnomalyKind]
    detail: str
    line: dict[str, Any] = Field(description="the journal line as the terminal sent it")
    status: Status
    held_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    card_blocked: bool | None
    card_claims: dict[str, Any] | None = Field(description="at a rejection: the card's balances")
    server_holds: dict[str, Any] | None = Field(description="at a rejection: the server's")


class QuarantinePage(BaseModel):
    lines: list[HeldLine] = Field(description="newest first")
    next: int | None = Field(description="more follow: ask again with before=next")


class ApproveIn(BaseModel):
    actor: Text = Field(description="who approves")
    reason: Why = Field(description="why it may be booked (at least 5 characters)")


class RejectIn(BaseModel):
    actor: Text = Field(description="who rejects")
    reason: Why = Field(description="why (at least 5 characters)")
    card_at_fault: bool = Field(
        description="the card is at fault (forged, cloned): it is blocked and blacklisted"
    )


def _problem(status: int, title: str, detail: str, reason: str) -> Problem:
    return Problem(status, title, detail, PROBLEMS + reason.replace("_", "-"), reason=reason)


def _line(row: asyncpg.Record) -> HeldLine:
    return HeldLine.model_validate(dict(row))


@api.route(
    "GET",
    "/v1/associations/{association_id}/card-quarantine",
    summary="The offline card transactions of an association held in quarantine",
    query=QuarantineQuery,
    returns=QuarantinePage,
    tag="cards",
)
async def list_quarantine(request: web.Request) -> web.Response:
    """Newest first, filtered by status, reason and terminal. A held line is not booked: its
    money is in no balance, no clearing entry and no settlement file until it is approved."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    q = read_query(request, QuarantineQuery)
    async with rt.pool.acquire() as conn:
        await association(conn, association_id)
        rows = await conn.fetch(
            """SELECT * FROM card_quarantine
               WHERE association_id = $1 AND ($2::text IS NULL OR status = $2)
                 AND ($3::text IS NULL OR $3 = ANY(reasons))
                 AND ($4::uuid IS NULL OR terminal_id = $4)
                 AND ($5::bigint IS NULL OR id < $5)
               ORDER BY id DESC LIMIT $6""",
            association_id,
            q.status,
            q.reason,
            q.terminal_id,
            q.before,
            q.limit,
        )
    lines = [_line(r) for r in rows]
    more = len(lines) == q.limit
    return json_response(QuarantinePage(lines=lines, next=lines[-1].id if more else None))


async def _held(conn: asyncpg.Connection, qid: int) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM card_quarantine WHERE id = $1 FOR UPDATE", qid
    )
    if row is None:
        raise _problem(404, "Unknown quarantined line", f"no line {qid}", "unknown_line")
    if row["status"] != "held":
        raise _problem(
            409,
            "Already decided",
            f"line {qid} was {row['status']} at {row['decided_at'].isoformat()}",
            "already_decided",
        )
    return row


def _qid(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not 1 <= int(raw) <= MAX_ID:
        raise _problem(400, "Invalid id", f"{raw!r} is not a quarantine id", "invalid_id")
    return int(raw)


@api.route(
    "POST",
    "/v1/card-quarantine/{id}/approve",
    summary="Book a quarantined offline card transaction, with who and why",
    body=ApproveIn,
    returns=HeldLine,
    tag="cards",
)
async def approve(request: web.Request) -> web.Response:
    """Booked as the chunk would have booked it (the card's deltas to its account, one
    ``CardTransactionsBooked`` for clearing and crm). Refused (409) when its card is unknown,
    its (card, ATC) is already booked (a clone's line), or the line cannot be read."""
    rt = back_office(request)
    qid = _qid(request)
    body = parse_model(await request.read(), ApproveIn)

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        row = await _held(conn, qid)
        now = clock.now()
        try:
            tx = CardTransaction.model_validate(row["line"])
        except ValidationError as exc:
            raise _problem(
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
            offline.SOURCE, data, subject=f"terminal/{row['terminal_id']}"
        )
        card = (await store.cards(conn, [tx.card_number])).get(tx.card_number)
        if card is None:
            raise _problem(409, "Cannot be booked", "no such card", "unknown_card")
        await store.lock_accounts(conn, [card["account_id"]])
        taken = await conn.fetchval(
            "SELECT transaction_id FROM card_transactions WHERE card_number = $1 AND atc = $2",
            tx.card_number,
            tx.atc,
        )
        if taken is not None:
            raise _problem(
                409,
                "Cannot be booked",
                f"ATC {tx.atc} of card {tx.card_number} is already booked "
                f"(transaction {taken}): this line is another content for it",
                "atc_already_booked",
            )
        fields = certified(tx, row["terminal_id"])
        t = offline._Tx(event, tx, card_transaction_id(row["terminal_id"], tx.seq))
        t.digest, t.card, t.book = digest(fields, tx), card, True
        rules = (await BOOKS.current(conn)).rules(card["card_type_id"])
        check = check_reward(
            rules.book if rules else None, rules.program if rules else None,
            row["merchant_id"], True, tx,
        )  # fmt: skip
        # The fee and rate the server's rules give: what the operator is owed for the sale.
        t.fee_cents, t.taux_client_bps = check.fee_cents, check.taux_client_bps
        await offline.book(conn, [t])
        done: asyncpg.Record = await conn.fetchrow(
            """UPDATE card_quarantine SET status = 'approved', decided_at = $2, decided_by = $3,
                   decision_reason = $4
               WHERE id = $1 RETURNING *""",
            qid,
            now,
            body.actor,
            body.reason,
        )
        await outbox.write(conn, offline._booked_events([event], [t]))
        return done

    return json_response(_line(await db.transaction(rt.pool, work)))


@api.route(
    "POST",
    "/v1/card-quarantine/{id}/reject",
    summary="Refuse a quarantined offline card transaction for good",
    body=RejectIn,
    returns=HeldLine,
    tag="cards",
)
async def reject(request: web.Request) -> web.Response:
    """Nothing is booked and the server's account stays as it was; what the card claims after
    this line and what the server holds are recorded. ``card_at_fault`` blocks the card."""
    rt = back_office(request)
    qid = _qid(request)
    body = parse_model(await request.read(), RejectIn)

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        row = await _held(conn, qid)
        now = clock.now()
        line = row["line"]
        claims = {
            k: line.get(k)
            for k in ("atc", "available_after", "pending_after", "units_after", "visits_after")
        }
        account = await conn.fetchrow(
            """SELECT a.balance_cents, a.pending_cents, a.units, a.visits
               FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.number = $1""",
            row["card_number"],
        )
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
        if body.card_at_fault and account is not None:
            events = await offline.block_cards(conn, [row["card_number"]], now)
        done: asyncpg.Record = await conn.fetchrow(
            """UPDATE card_quarantine SET status = 'rejected', decided_at = $2, decided_by = $3,
                   decision_reason = $4, card_blocked = $5, card_claims = $6,
                   server_holds = $7
               WHERE id = $1 RETURNING *""",
            qid,
            now,
            body.actor,
            body.reason,
            body.card_at_fault and account is not None,
            claims,
            holds,
        )
        await outbox.write(conn, events)
        return done

    return json_response(_line(await db.transaction(rt.pool, work)))


class AccountedQuery(BaseModel):
    terminal_id: UUID | None = Field(default=None, description="one terminal (default: all)")


class TerminalAccounted(BaseModel):
    terminal_id: UUID
    booked: int = Field(description="lines booked (approved ones included)")
    held: int = Field(description="lines held or rejected in quarantine")


class Accounted(BaseModel):
    terminals: list[TerminalAccounted]


@api.route(
    "GET",
    "/v1/card-transactions/accounted",
    summary="Per terminal, the offline lines cards booked and those it holds",
    query=AccountedQuery,
    returns=Accounted,
    tag="cards",
)
async def accounted(request: web.Request) -> web.Response:
    """What the gateway acknowledged must be one or the other, once the chunks are handled."""
    rt = back_office(request)
    q = read_query(request, AccountedQuery)
    async with rt.pool.acquire() as conn:
        counts = await quarantine.accounted(conn, [q.terminal_id] if q.terminal_id else None)
    return json_response(
        Accounted(
            terminals=[
                TerminalAccounted(terminal_id=t, booked=b, held=h)
                for t, (b, h) in sorted(counts.items())
            ]
        )
    )
