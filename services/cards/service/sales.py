"""Cagnottage and décagnottage: the use cases of sales and redemptions, each run on a batch of
events inside one transaction. The reward is the shared rules engine's (``shared.rules``), the
same the offline terminal computes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.cards.adapters import accounts, cagnotte, cards
from services.cards.adapters.rulebooks import BOOKS
from services.cards.domain import Bucket, Movement, Overdrawn, apply, credit_sale
from services.cards.service.common import SOURCE
from services.cards.service.resolution import (
    WINDOW,
    Resolved,
    Wanted,
    dates_out_of_reason,
    merchant_error,
    open_for,
    resolve,
)
from shared.contracts import (
    CagnotteCredited,
    CagnotteRedeemed,
    RedemptionRefused,
    RedemptionRequested,
    RefusalReason,
    RuleRefusal,
    SaleRecorded,
    SaleRefused,
)
from shared.events import Event, new_event
from shared.rules.dates import DateWindow
from shared.rules.engine import Sale


async def on_sales(
    conn: asyncpg.Connection, events: list[Event[SaleRecorded]], window: DateWindow = WINDOW
) -> Sequence[Event[Any]]:
    """Cagnottage: the reward of each sale under its card type's rules and visit threshold;
    the first purchase of a new phone opens its account."""
    out: list[Event[Any]] = []
    snap = await BOOKS.current(conn)
    undated = await dates_out_of_reason(conn, events, window)
    wanted: list[Wanted] = []
    for e in events:
        d = e.data
        if e.id in undated:
            continue  # no account opened for a sale that is refused
        if d.phone is not None and merchant_error(snap, d.merchant_id, d.association_id) is None:
            wanted.append((d.association_id, d.phone, d.merchant_id, d.sale_id, None, None, None))
    phone_accounts, opened = await open_for(conn, wanted, {e.data.sale_id: e for e in events}, out)
    resolved = await resolve(conn, snap, events, phone_accounts)
    rows = await accounts.lock_accounts(
        conn, (r.account_id for r in resolved if isinstance(r, Resolved))
    )
    states = {a: cagnotte.state_of(r) for a, r in rows.items()}
    booked = await cagnotte.already_booked(conn, "cagnottage", [e.data.sale_id for e in events])
    entries: list[tuple[Any, ...]] = []
    used: dict[str, datetime] = {}
    for i, e in enumerate(events):
        d = e.data
        if d.sale_id in booked:
            continue  # the same sale under another event id: credited once only
        r = undated.get(e.id) or resolved[i]
        if isinstance(r, Resolved) and r.rules.book is None:
            r = (
                "card_does_not_earn",
                "this card holds money loaded by the customer and earns no reward",
            )
        if not isinstance(r, Resolved):
            out.append(
                new_event(SOURCE, SaleRefused(sale_id=d.sale_id, reason=r[0], detail=r[1]), cause=e)
            )
            continue
        booked.add(d.sale_id)
        book = r.rules.book
        assert book is not None
        evaluation = book.evaluate(
            Sale(str(d.merchant_id), d.product_family, d.amount_cents, d.occurred_at, d.quantity)
        )
        state = states[r.account_id]
        credit = credit_sale(
            state, evaluation, book.program, r.rules.visit_threshold, d.occurred_at
        )
        _, applied = apply(state, credit.movements)
        states[r.account_id] = credit.state
        for m, after in applied:
            first = m.kind == "cagnottage"  # one per sale: it carries the purchase and the fee
            entries.append(
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
                    purchase_cents=d.amount_cents if first else None,
                    product_family=d.product_family,
                    taux_client_bps=evaluation.taux_client_bps,
                    fee_cents=evaluation.fee_cents if first else None,
                    card_number=r.card_number,
                )
            )
        if r.card_number:
            used[r.card_number] = max(used.get(r.card_number, d.occurred_at), d.occurred_at)
        s = credit.state
        out.append(
            new_event(
                SOURCE,
                CagnotteCredited(
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
                    refusals=[
                        RuleRefusal(code=x.code, detail=x.detail) for x in evaluation.refusals
                    ],
                    account_opened=r.account_id in opened,
                ),
                subject=f"account/{r.account_id}",
                cause=e,
            )
        )
    await cagnotte.append_entries(conn, entries)
    await cagnotte.save(conn, [(a, states[a]) for a in sorted(states)])
    await cards.touch(conn, used)
    return out


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
    rows = await accounts.lock_accounts(
        conn, (r.account_id for r in resolved if isinstance(r, Resolved))
    )
    states = {a: cagnotte.state_of(r) for a, r in rows.items()}
    booked = await cagnotte.already_booked(
        conn, "decagnottage", [e.data.redemption_id for e in events]
    )
    entries: list[tuple[Any, ...]] = []
    used: dict[str, datetime] = {}
    for i, e in enumerate(events):
        d = e.data
        if d.redemption_id in booked:
            continue
        r = undated.get(e.id) or resolved[i]
        if not isinstance(r, Resolved):
            out.append(
                new_event(
                    SOURCE,
                    RedemptionRefused(redemption_id=d.redemption_id, reason=r[0], detail=r[1]),
                    cause=e,
                )
            )
            continue
        bucket: Bucket = "available" if d.purse == "cagnotte" else "stored_value"
        state = states[r.account_id]
        try:
            new_state, applied = apply(state, [Movement("decagnottage", bucket, -d.amount_cents)])
        except Overdrawn as exc:
            reason: RefusalReason = (
                "insufficient_balance"
                if d.purse == "cagnotte" or exc.available
                else "no_stored_value"
            )
            out.append(
                new_event(
                    SOURCE,
                    RedemptionRefused(
                        redemption_id=d.redemption_id,
                        reason=reason,
                        detail=f"available {exc.available} cents, asked {d.amount_cents}",
                        available_cents=exc.available,
                    ),
                    cause=e,
                )
            )
            continue
        booked.add(d.redemption_id)
        states[r.account_id] = new_state
        ((m, after),) = applied
        entries.append(
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
        if r.card_number:
            used[r.card_number] = max(used.get(r.card_number, d.occurred_at), d.occurred_at)
        out.append(
            new_event(
                SOURCE,
                CagnotteRedeemed(
                    **d.origin(),
                    redemption_id=d.redemption_id,
                    account_id=r.account_id,
                    card_number=r.card_number,
                    amount_cents=d.amount_cents,
                    balance_cents=after,
                    purse=d.purse,
                ),
                subject=f"account/{r.account_id}",
                cause=e,
            )
        )
    await cagnotte.append_entries(conn, entries)
    await cagnotte.save(conn, [(a, states[a]) for a in sorted(states)])
    await cards.touch(conn, used)
    return out
