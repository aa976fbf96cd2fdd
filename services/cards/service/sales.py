"""Cagnottage and décagnottage: the use cases of sales and redemptions, each run on a batch of
events inside one transaction. The reward is the shared rules engine's (``shared.rules``), the
same the offline terminal computes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import account_promotions, accounts, cagnotte, cards
from services.cards.adapters.rulebooks import BOOKS
from services.cards.domain import AccountState, Bucket, Movement, Overdrawn, apply, credit_sale
from services.cards.domain.account_promotions import by_account
from services.cards.domain.rulebooks import Snapshot
from services.cards.service import levels
from services.cards.service.common import SOURCE
from services.cards.service.resolution import (
    WINDOW,
    Refusal,
    Resolved,
    Wanted,
    dates_out_of_reason,
    merchant_error,
    open_for,
    resolve,
)
from shared.contracts import (
    BookedTransaction,
    CagnotteCredited,
    CagnotteRedeemed,
    RedemptionRefused,
    RedemptionRequested,
    RefusalReason,
    RuleRefusal,
    SaleRecorded,
    SaleRefused,
    TransactionsBooked,
)
from shared.events import Event, new_event
from shared.rules.dates import DateWindow
from shared.rules.engine import Evaluation, Sale
from shared.rules.promotions import Promotion

# A booked fact's place: the association, merchant, shop and terminal of its sales.
_Till = tuple[UUID, UUID, UUID, UUID]


@dataclass
class _Books:
    """What a batch reads of its accounts (locked in id order) and writes back at its end: the
    accounts' states, the references already booked, the new cagnotte entries, the cards used,
    and the lines booked at each till (one booked fact each, see ``facts``)."""

    states: dict[UUID, AccountState]
    booked: set[UUID]
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    used: dict[str, datetime] = field(default_factory=dict)
    lines: dict[_Till, tuple[Event[Any], list[BookedTransaction]]] = field(default_factory=dict)

    @classmethod
    async def lock(
        cls,
        conn: asyncpg.Connection,
        resolved: Sequence[Resolved | Refusal],
        kind: str,
        references: list[UUID],
    ) -> _Books:
        rows = await accounts.lock_accounts(
            conn, (r.account_id for r in resolved if isinstance(r, Resolved))
        )
        states = {a: cagnotte.state_of(r) for a, r in rows.items()}
        return cls(states, await cagnotte.already_booked(conn, kind, references))

    def card_used(self, card_number: str | None, at: datetime) -> None:
        if card_number:
            self.used[card_number] = max(self.used.get(card_number, at), at)

    async def save(self, conn: asyncpg.Connection) -> None:
        await cagnotte.append_entries(conn, self.entries)
        await cagnotte.save(conn, [(a, self.states[a]) for a in sorted(self.states)])
        await cards.touch(conn, self.used)

    def facts(self) -> list[Event[Any]]:
        """One ``TransactionsBooked`` per till for the batch's lines, as a synced chunk gives
        one for its lines (subject the terminal, cause its first sale): an event a line cost
        clearing, crm and notifications an envelope to parse and an inbox row each, cards an
        envelope to write; clearing and crm spent 15 % more CPU a sale (docs/benchmarks.md,
        2026-12-07)."""
        return [
            new_event(
                SOURCE,
                TransactionsBooked(
                    origin="online",
                    association_id=association_id,
                    merchant_id=merchant_id,
                    shop_id=shop_id,
                    terminal_id=terminal_id,
                    transactions=lines,
                ),
                subject=f"terminal/{terminal_id}",
                cause=first,
            )
            for (association_id, merchant_id, shop_id, terminal_id), (first, lines) in (
                self.lines.items()
            )
        ]


async def on_sales(
    conn: asyncpg.Connection, events: list[Event[SaleRecorded]], window: DateWindow = WINDOW
) -> Sequence[Event[Any]]:
    """Cagnottage: the reward of each sale under its card type's rules and visit threshold;
    the first purchase of a new phone opens its account."""
    out: list[Event[Any]] = []
    snap = await BOOKS.current(conn)
    undated = await dates_out_of_reason(conn, events, window)
    phone_accounts, opened = await _open_first_purchases(conn, snap, events, undated, out)
    resolved = await resolve(conn, snap, events, phone_accounts)
    books = await _Books.lock(conn, resolved, "cagnottage", [e.data.sale_id for e in events])
    personal = await _personal(conn, books, events)
    for i, e in enumerate(events):
        d = e.data
        if d.sale_id in books.booked:
            continue  # the same sale under another event id: credited once only
        r = _earning(undated.get(e.id) or resolved[i])
        if isinstance(r, Resolved):
            books.booked.add(d.sale_id)
            label = snap.family_label(d.merchant_id, d.product_family)
            offers = personal.get(r.account_id, ())
            out.append(_credit(books, e, r, r.account_id in opened, label, offers))
        else:
            refused = SaleRefused(sale_id=d.sale_id, reason=r[0], detail=r[1])
            out.append(new_event(SOURCE, refused, cause=e))
    await books.save(conn)
    return out + books.facts()


async def _open_first_purchases(
    conn: asyncpg.Connection,
    snap: Snapshot,
    events: list[Event[SaleRecorded]],
    undated: dict[str, Refusal],
    out: list[Event[Any]],
) -> tuple[dict[tuple[UUID, str], UUID], set[UUID]]:
    """The accounts of the sales named by a phone, opened at their first purchase (F3) unless
    the sale is refused for its date or its merchant."""
    wanted: list[Wanted] = [
        (d.association_id, d.phone, d.merchant_id, d.sale_id, None, None, None)
        for e in events
        for d in (e.data,)
        if e.id not in undated
        and d.phone is not None
        and merchant_error(snap, d.merchant_id, d.association_id) is None
    ]
    return await open_for(conn, wanted, {e.data.sale_id: e for e in events}, out)


async def _personal(
    conn: asyncpg.Connection, books: _Books, events: list[Event[SaleRecorded]]
) -> dict[UUID, tuple[Promotion, ...]]:
    """The accounts' own promotions (a birthday offer) live during the batch's sales, and
    the status levels they hold: a query each per batch; the engine tells which is live at
    each sale's time."""
    if not books.states:
        return {}
    at = [e.data.occurred_at for e in events]
    found = by_account(await account_promotions.live_between(conn, books.states, min(at), max(at)))
    for account, held in (await levels.personal(conn, books.states)).items():
        found[account] = found.get(account, ()) + held
    return found


def _earning(r: Resolved | Refusal) -> Resolved | Refusal:
    """A card holding only money the customer loaded earns nothing: the sale is refused."""
    if isinstance(r, Resolved) and r.rules.book is None:
        return (
            "card_does_not_earn",
            "this card holds money loaded by the customer and earns no reward",
        )
    return r


def _credit(
    books: _Books,
    e: Event[SaleRecorded],
    r: Resolved,
    opened: bool,
    label: str | None,
    personal: tuple[Promotion, ...] = (),
) -> Event[Any]:
    """One sale credited: its movements in the cagnotte, the till's answer, its line of the
    booked fact (with its family's ``label`` and the rate applied, for the statement's detail
    line).
    ``personal``: the account's own promotions (its birthday offer)."""
    d = e.data
    book = r.rules.book
    assert book is not None
    evaluation = book.evaluate(
        Sale(str(d.merchant_id), d.product_family, d.amount_cents, d.occurred_at, d.quantity),
        personal,
    )
    state = books.states[r.account_id]
    credit = credit_sale(state, evaluation, book.program, r.rules.visit_threshold, d.occurred_at)
    _, applied = apply(state, credit.movements)
    books.states[r.account_id] = s = credit.state
    books.entries.extend(_sale_entries(d, r, applied, evaluation))
    books.card_used(r.card_number, d.occurred_at)
    answer = CagnotteCredited(
        **d.origin(),
        sale_id=d.sale_id,
        account_id=r.account_id,
        card_number=r.card_number,
        amount_cents=d.amount_cents,
        product_family=d.product_family,
        reward_cents=credit.reward_cents,
        fee_cents=evaluation.fee_cents,
        taux_client_bps=evaluation.taux_client_bps,
        taux_uc_bps=evaluation.taux_uc_bps,
        balance_cents=s.available,
        pending_cents=s.pending,
        transferred_cents=credit.transferred_cents,
        expired_cents=credit.expired_cents,
        program_kind=book.program.kind.value,
        units_earned=credit.units_earned,
        units_balance=s.units,
        visits=s.visits,
        refusals=[RuleRefusal(code=x.code, detail=x.detail) for x in evaluation.refusals],
        account_opened=opened,
    )
    return _answered(
        books,
        e,
        r,
        answer,
        transaction_id=d.sale_id,
        kind="sale",
        product_family=d.product_family,
        product_family_label=label,
        reward_cents=credit.reward_cents,
        expired_cents=credit.expired_cents,
        fee_cents=evaluation.fee_cents,
        taux_client_bps=evaluation.taux_client_bps if evaluation.rate_source else None,
        rate_source=evaluation.rate_source,
        balance_cents=s.available,
        pending_cents=s.pending,
        transferred_cents=credit.transferred_cents,
    )


def _sale_entries(
    d: SaleRecorded, r: Resolved, applied: list[tuple[Movement, int]], evaluation: Evaluation
) -> list[tuple[Any, ...]]:
    """The cagnotte entries of a sale's movements; the cagnottage carries the purchase and fee."""
    return [
        cagnotte.entry(
            r.account_id,
            m.kind,
            m.bucket,
            d.sale_id,
            m.amount,
            after,
            d.occurred_at,
            merchant_id=d.merchant_id,
            shop_id=d.shop_id,
            terminal_id=d.terminal_id,
            purchase_cents=d.amount_cents if m.kind == "cagnottage" else None,
            product_family=d.product_family,
            taux_client_bps=evaluation.taux_client_bps,
            fee_cents=evaluation.fee_cents if m.kind == "cagnottage" else None,
            card_number=r.card_number,
        )
        for m, after in applied
    ]


async def on_redemptions(
    conn: asyncpg.Connection,
    events: list[Event[RedemptionRequested]],
    window: DateWindow = WINDOW,
) -> Sequence[Event[Any]]:
    """Décagnottage, or spending stored value: debit the purse or refuse; never below zero."""
    out: list[Event[Any]] = []
    snap = await BOOKS.current(conn)
    undated = await dates_out_of_reason(conn, events, window)
    phone_accounts = await accounts.account_ids(
        conn, ((e.data.association_id, e.data.phone) for e in events if e.data.phone)
    )
    resolved = await resolve(conn, snap, events, phone_accounts)
    references = [e.data.redemption_id for e in events]
    books = await _Books.lock(conn, resolved, "decagnottage", references)
    for i, e in enumerate(events):
        d = e.data
        if d.redemption_id in books.booked:
            continue
        r = undated.get(e.id) or resolved[i]
        if not isinstance(r, Resolved):
            refused = RedemptionRefused(redemption_id=d.redemption_id, reason=r[0], detail=r[1])
            out.append(new_event(SOURCE, refused, cause=e))
            continue
        out.append(_debit(books, e, r))
    await books.save(conn)
    return out + books.facts()


def _debit(books: _Books, e: Event[RedemptionRequested], r: Resolved) -> Event[Any]:
    """One redemption: the purse debited, or refused when it would go below zero."""
    d = e.data
    bucket: Bucket = "available" if d.purse == "cagnotte" else "stored_value"
    try:
        new_state, applied = apply(
            books.states[r.account_id], [Movement("decagnottage", bucket, -d.amount_cents)]
        )
    except Overdrawn as exc:
        reason: RefusalReason = (
            "insufficient_balance" if d.purse == "cagnotte" or exc.available else "no_stored_value"
        )
        refused = RedemptionRefused(
            redemption_id=d.redemption_id,
            reason=reason,
            detail=f"available {exc.available} cents, asked {d.amount_cents}",
            available_cents=exc.available,
        )
        return new_event(SOURCE, refused, cause=e)
    books.booked.add(d.redemption_id)
    books.states[r.account_id] = new_state
    ((m, after),) = applied
    books.entries.append(
        cagnotte.entry(
            r.account_id,
            m.kind,
            m.bucket,
            d.redemption_id,
            m.amount,
            after,
            d.occurred_at,
            merchant_id=d.merchant_id,
            shop_id=d.shop_id,
            terminal_id=d.terminal_id,
            purchase_cents=d.amount_cents,
            card_number=r.card_number,
        )
    )
    books.card_used(r.card_number, d.occurred_at)
    answer = CagnotteRedeemed(
        **d.origin(),
        redemption_id=d.redemption_id,
        account_id=r.account_id,
        card_number=r.card_number,
        amount_cents=d.amount_cents,
        balance_cents=after,
        purse=d.purse,
    )
    return _answered(
        books, e, r, answer, transaction_id=d.redemption_id, kind="redemption", purse=d.purse
    )


def _answered(
    books: _Books,
    e: Event[SaleRecorded] | Event[RedemptionRequested],
    r: Resolved,
    answer: CagnotteCredited | CagnotteRedeemed,
    **line: Any,
) -> Event[Any]:
    """The till's answer (for the gateway); the line clearing and crm book goes with its
    till's others into the batch's booked fact (``_Books.facts``)."""
    d = e.data
    till = (d.association_id, d.merchant_id, d.shop_id, d.terminal_id)
    booked = BookedTransaction(
        account_id=r.account_id,
        card_number=r.card_number,
        occurred_at=d.occurred_at,
        amount_cents=d.amount_cents,
        **line,
    )
    books.lines.setdefault(till, (e, []))[1].append(booked)
    return new_event(SOURCE, answer, subject=f"account/{r.account_id}", cause=e)
