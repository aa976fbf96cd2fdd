"""Use cases of the cards service, each run on a batch of events inside one transaction.

A customer is named by a phone (a cardless account of the terminal's association, earning
under the association's default card type) or a card number (the card's account and type,
after the card's checks: blacklist, expiry, dormancy, acceptance at this merchant). The reward
is the shared rules engine's (``shared.rules``), the same the offline terminal computes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, cast
from uuid import UUID

import asyncpg

from services.cards import ledger, store
from services.cards.domain import (
    Bucket,
    CardState,
    Movement,
    Overdrawn,
    ReturnRefusal,
    SaleBooked,
    apply,
    card_refusal,
    credit_sale,
    reverse,
)
from services.cards.rulebooks import BOOKS, CardTypeRules, Snapshot
from shared import clock
from shared.clock import PARIS
from shared.contracts import (
    AccountOpened,
    CagnotteCredited,
    CagnotteRedeemed,
    EnrolmentRefused,
    EnrolmentRequested,
    RedemptionRefused,
    RedemptionRequested,
    RefusalReason,
    ReturnRecorded,
    ReturnRefused,
    RewardReversed,
    RuleRefusal,
    SaleRecorded,
    SaleRefused,
)
from shared.events import Event, new_event
from shared.rules.dates import DateWindow
from shared.rules.engine import Sale

SOURCE = "cards"
# The production window; the service passes the one its settings give (services/cards/__main__.py).
WINDOW = DateWindow()

Refusal = tuple[RefusalReason, str]


@dataclass(frozen=True, slots=True)
class _Resolved:
    account_id: UUID
    rules: CardTypeRules
    card_number: str | None


def _merchant_error(snap: Snapshot, merchant_id: UUID, association_id: UUID) -> Refusal | None:
    merchant = snap.merchants.get(merchant_id)
    if merchant is None:
        return "unknown_merchant", "this merchant is not registered with the cards service"
    if merchant.association_id != association_id:
        return (
            "merchant_not_in_association",
            "the terminal's merchant belongs to another association",
        )
    return None


async def _dates_out_of_reason(
    conn: asyncpg.Connection, events: Sequence[Event[Any]], window: DateWindow
) -> dict[str, Refusal]:
    """Per event id, why its date may not be booked (shared/rules/dates.py): in the future,
    older than the window or before its association's books start. The gateway refuses the
    terminals' requests already; this is for every other way an event reaches cards."""
    starts: dict[UUID, date] = {
        r["id"]: r["books_start"]
        for r in await conn.fetch(
            "SELECT id, books_start FROM associations WHERE id = ANY($1::uuid[])",
            list({e.data.association_id for e in events}),
        )
    }
    now = clock.now()
    out: dict[str, Refusal] = {}
    for e in events:
        d = e.data
        start = starts.get(d.association_id)
        books_start = datetime.combine(start, time(), PARIS) if start else None
        refusal = window.refusal(d.occurred_at, now, books_start)
        if refusal is not None:
            out[e.id] = (
                refusal,
                f"occurred at {d.occurred_at.isoformat()}, checked at {now.isoformat()}"
                + (f", books start {start.isoformat()}" if start else ""),
            )
    return out


async def _resolve(
    conn: asyncpg.Connection,
    snap: Snapshot,
    events: Sequence[Event[Any]],
    phone_accounts: dict[tuple[UUID, str], UUID],
) -> list[_Resolved | Refusal]:
    """Per event, in order: the account and rules that apply, or (reason, detail) of a refusal."""
    cards = await store.cards(conn, (e.data.card_number for e in events if e.data.card_number))
    return [_resolve_one(snap, e.data, cards, phone_accounts) for e in events]


def _resolve_one(
    snap: Snapshot,
    d: SaleRecorded | RedemptionRequested,
    cards: dict[str, asyncpg.Record],
    phone_accounts: dict[tuple[UUID, str], UUID],
) -> _Resolved | Refusal:
    err = _merchant_error(snap, d.merchant_id, d.association_id)
    if err:
        return err
    if d.card_number is None:
        assert d.phone is not None
        account = phone_accounts.get((d.association_id, d.phone))
        card_type = snap.default_card_type(d.association_id)
        rules = snap.rules(card_type) if card_type else None
        if account is None:
            return "unknown_account", "no account with this phone number in the association"
        if rules is None:
            return "unknown_merchant", "the association has no default card type"
        return _Resolved(account, rules, None)
    card = cards.get(d.card_number)
    if card is None:
        return "unknown_card", f"no card {d.card_number}"
    state = CardState(
        card["number"], card["status"], card["expires_on"], card["last_used_at"], card["issued_at"]
    )
    refusal = card_refusal(state, d.occurred_at, card["dormant_after_days"])
    if refusal:
        return cast(RefusalReason, refusal[0]), refusal[1]
    rules = snap.rules(card["card_type_id"])
    if rules is None or d.merchant_id not in rules.accepted_at:
        return "card_not_accepted", f"card {d.card_number}'s type is not accepted by this merchant"
    return _Resolved(card["account_id"], rules, d.card_number)


async def on_sales(
    conn: asyncpg.Connection, events: list[Event[SaleRecorded]], window: DateWindow = WINDOW
) -> Sequence[Event[Any]]:
    """Cagnottage: the reward of each sale under its card type's rules and visit threshold;
    the first purchase of a new phone opens its account."""
    out: list[Event[Any]] = []
    snap = await BOOKS.current(conn)
    undated = await _dates_out_of_reason(conn, events, window)
    wanted: list[Wanted] = []
    for e in events:
        d = e.data
        if e.id in undated:
            continue  # no account opened for a sale that is refused
        if d.phone is not None and _merchant_error(snap, d.merchant_id, d.association_id) is None:
            wanted.append((d.association_id, d.phone, d.merchant_id, d.sale_id, None, None, None))
    phone_accounts, opened = await _accounts(conn, wanted, {e.data.sale_id: e for e in events}, out)
    resolved = await _resolve(conn, snap, events, phone_accounts)
    rows = await store.lock_accounts(
        conn, (r.account_id for r in resolved if isinstance(r, _Resolved))
    )
    states = {a: ledger.state_of(r) for a, r in rows.items()}
    booked = await store.already_booked(conn, "cagnottage", [e.data.sale_id for e in events])
    entries: list[tuple[Any, ...]] = []
    used: dict[str, datetime] = {}
    for i, e in enumerate(events):
        d = e.data
        if d.sale_id in booked:
            continue  # the same sale under another event id: credited once only
        r = undated.get(e.id) or resolved[i]
        if isinstance(r, _Resolved) and r.rules.book is None:
            r = (
                "card_does_not_earn",
                "this card holds money loaded by the customer and earns no reward",
            )
        if not isinstance(r, _Resolved):
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
        credit = credit_sale(state, evaluation, book.program, r.rules.threshold, d.occurred_at)
        _, applied = apply(state, credit.movements)
        states[r.account_id] = credit.state
        for m, after in applied:
            first = m.kind == "cagnottage"  # one per sale: it carries the purchase and the fee
            entries.append(
                store.entry(
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
    await store.append_entries(conn, entries)
    await ledger.save(conn, [(a, states[a]) for a in sorted(states)])
    await store.touch_cards(conn, used)
    return out


async def on_redemptions(
    conn: asyncpg.Connection,
    events: list[Event[RedemptionRequested]],
    window: DateWindow = WINDOW,
) -> Sequence[Event[Any]]:
    """Décagnottage, or spending stored value: debit the purse or refuse; never below zero."""
    out: list[Event[Any]] = []
    snap = await BOOKS.current(conn)
    undated = await _dates_out_of_reason(conn, events, window)
    phone_accounts = await store.account_ids(
        conn, ((e.data.association_id, e.data.phone) for e in events if e.data.phone)
    )
    resolved = await _resolve(conn, snap, events, phone_accounts)
    rows = await store.lock_accounts(
        conn, (r.account_id for r in resolved if isinstance(r, _Resolved))
    )
    states = {a: ledger.state_of(r) for a, r in rows.items()}
    booked = await store.already_booked(
        conn, "decagnottage", [e.data.redemption_id for e in events]
    )
    entries: list[tuple[Any, ...]] = []
    used: dict[str, datetime] = {}
    for i, e in enumerate(events):
        d = e.data
        if d.redemption_id in booked:
            continue
        r = undated.get(e.id) or resolved[i]
        if not isinstance(r, _Resolved):
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
            store.entry(
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
    await store.append_entries(conn, entries)
    await ledger.save(conn, [(a, states[a]) for a in sorted(states)])
    await store.touch_cards(conn, used)
    return out


def sale_booked(rows: list[asyncpg.Record]) -> tuple[UUID, UUID, SaleBooked]:
    """The account and merchant of a sale, what it left in the ledger and what its returns
    already took back (``rows``: its cagnottage and conversion entries and its reversals)."""
    cents = ("available", "pending")
    # One cagnottage entry per sale carries the purchase and the fee (see on_sales).
    sale = next(r for r in rows if r["kind"] == "cagnottage" and r["purchase_cents"] is not None)
    reward = sum(
        r["amount_cents"]
        for r in rows
        if r["kind"] != "reversal" and r["bucket"] in cents and r["amount_cents"] > 0
    )
    units = sum(
        r["amount_cents"] for r in rows if r["kind"] == "cagnottage" and r["bucket"] == "units"
    )
    reversals = [r for r in rows if r["kind"] == "reversal"]
    return (
        sale["account_id"],
        sale["merchant_id"],
        SaleBooked(
            amount_cents=sale["purchase_cents"],
            reward_cents=reward,
            fee_cents=sale["fee_cents"] or 0,
            units_earned=units,
            returned_cents=sum(r["purchase_cents"] or 0 for r in reversals),
            reversed_reward_cents=-sum(
                r["amount_cents"] for r in reversals if r["bucket"] in cents
            ),
            reversed_fee_cents=sum(r["fee_cents"] or 0 for r in reversals),
            reversed_units=-sum(r["amount_cents"] for r in reversals if r["bucket"] == "units"),
        ),
    )


async def on_returns(
    conn: asyncpg.Connection, events: list[Event[ReturnRecorded]], window: DateWindow = WINDOW
) -> Sequence[Event[Any]]:
    """F16: a cancelled sale or a return reverses its reward (and fee) by new entries that name
    the sale; an account that no longer holds the reward is not taken below zero."""
    out: list[Event[Any]] = []
    sale_ids = sorted({e.data.sale_id for e in events})
    # Lock before reading (finding 2): the history read after the account's lock includes
    # every return committed by a concurrent batch, so two returns of one sale are judged
    # one after the other. Read before the lock, both would see the sale untouched.
    accounts = await store.lock_accounts(conn, await store.sale_accounts(conn, sale_ids))
    history = await store.sales_booked(conn, sale_ids)
    sales = {sale_id: sale_booked(rows) for sale_id, rows in history.items()}
    states = {a: ledger.state_of(r) for a, r in accounts.items()}
    booked = await store.already_booked(conn, "reversal", [e.data.return_id for e in events])
    undated = await _dates_out_of_reason(conn, events, window)
    entries: list[tuple[Any, ...]] = []
    for e in events:
        d = e.data
        if d.return_id in booked:
            continue
        found = sales.get(d.sale_id)
        try:
            if e.id in undated:
                raise ReturnRefusal(*undated[e.id])
            if found is None:
                raise ReturnRefusal("unknown_sale", f"no sale {d.sale_id} was credited")
            account, merchant, sale = found
            if merchant != d.merchant_id:
                raise ReturnRefusal(
                    "unknown_sale", f"sale {d.sale_id} was made at another merchant"
                )
            state = states[account]
            reversal = reverse(sale, d.amount_cents, state)
            new_state, applied = apply(state, reversal.movements)
        except ReturnRefusal as refusal:
            available = states[found[0]].available if found else None
            out.append(
                new_event(
                    SOURCE,
                    ReturnRefused(
                        return_id=d.return_id,
                        reason=cast(RefusalReason, refusal.reason),
                        detail=refusal.detail,
                        reward_cents=refusal.reward_cents,
                        available_cents=available,
                    ),
                    cause=e,
                )
            )
            continue
        booked.add(d.return_id)
        states[account] = new_state
        sales[d.sale_id] = (
            account,
            merchant,
            replace(
                sale,
                returned_cents=sale.returned_cents + d.amount_cents,
                reversed_reward_cents=sale.reversed_reward_cents + reversal.reward_cents,
                reversed_fee_cents=sale.reversed_fee_cents + reversal.fee_cents,
                reversed_units=sale.reversed_units + reversal.units,
            ),
        )
        for i, (m, after) in enumerate(applied):
            entries.append(
                store.entry(
                    account,
                    m.kind,
                    m.bucket,
                    d.return_id,
                    m.amount,
                    after,
                    d.occurred_at,
                    merchant_id=d.merchant_id,
                    shop_id=d.shop_id,
                    terminal_id=d.terminal_id,
                    purchase_cents=d.amount_cents if i == 0 else None,
                    fee_cents=reversal.fee_cents if i == 0 else None,
                    reverses=d.sale_id,
                    note=d.reason,
                )
            )
        out.append(
            new_event(
                SOURCE,
                RewardReversed(
                    **d.origin(),
                    return_id=d.return_id,
                    sale_id=d.sale_id,
                    account_id=account,
                    amount_cents=d.amount_cents,
                    reward_cents=reversal.reward_cents,
                    fee_cents=reversal.fee_cents,
                    from_pending_cents=reversal.from_pending,
                    from_available_cents=reversal.from_available,
                    units_reversed=reversal.units,
                    balance_cents=new_state.available,
                    pending_cents=new_state.pending,
                    reason=d.reason,
                ),
                subject=f"account/{account}",
                cause=e,
            )
        )
    await store.append_entries(conn, entries)
    await ledger.save(conn, [(a, states[a]) for a in sorted(states)])
    return out


async def on_enrolments(
    conn: asyncpg.Connection, events: list[Event[EnrolmentRequested]]
) -> Sequence[Event[Any]]:
    out: list[Event[Any]] = []
    snap = await BOOKS.current(conn)
    valid = []
    for e in events:
        err = _merchant_error(snap, e.data.merchant_id, e.data.association_id)
        if err:
            out.append(
                new_event(
                    SOURCE,
                    EnrolmentRefused(
                        enrolment_id=e.data.enrolment_id, reason=err[0], detail=err[1]
                    ),
                    cause=e,
                )
            )
        else:
            valid.append(e)
    existing, opened = await _accounts(
        conn,
        [
            (
                e.data.association_id,
                e.data.phone,
                e.data.merchant_id,
                e.data.enrolment_id,
                e.data.email,
                e.data.first_name,
                e.data.last_name,
            )
            for e in valid
        ],
        {e.data.enrolment_id: e for e in valid},
        out,
    )
    for e in valid:
        account = existing[(e.data.association_id, e.data.phone)]
        if account not in opened:
            out.append(
                new_event(
                    SOURCE,
                    EnrolmentRefused(
                        enrolment_id=e.data.enrolment_id,
                        reason="already_enrolled",
                        detail="this phone number already has an account in the association",
                        account_id=account,
                    ),
                    cause=e,
                )
            )
    return out


Wanted = tuple[UUID, str, UUID, UUID, str | None, str | None, str | None]


async def _accounts(
    conn: asyncpg.Connection,
    wanted: list[Wanted],
    causes: dict[UUID, Event[Any]],
    out: list[Event[Any]],
) -> tuple[dict[tuple[UUID, str], UUID], set[UUID]]:
    """The account ids of (association, phone, merchant, request, email, first, last); open
    those not yet known, emitting account.opened. Returns the ids and those opened now.

    New accounts are inserted in (association, phone) order so that concurrent batches cannot
    deadlock; the callers then lock every account in id order."""
    keys = {(w[0], w[1]) for w in wanted}
    if not keys:
        return {}, set()
    accounts = await store.account_ids(conn, keys)
    first: dict[tuple[UUID, str], Wanted] = {}
    for w in wanted:
        if (w[0], w[1]) not in accounts:
            first.setdefault((w[0], w[1]), w)
    ids = {key: uuid.uuid4() for key in first}
    created = await store.open_accounts(
        conn, [(ids[k], w[0], w[1], w[2], w[4], w[5], w[6]) for k, w in sorted(first.items())]
    )
    accounts.update((k, ids[k]) for k in first if ids[k] in created)
    if len(created) < len(first):  # another batch opened some of them first: read those
        accounts.update(await store.account_ids(conn, (k for k in first if k not in accounts)))
    now = clock.now()
    for key, w in first.items():
        account = ids[key]
        if account in created:
            out.append(
                new_event(
                    SOURCE,
                    AccountOpened(
                        account_id=account,
                        association_id=w[0],
                        merchant_id=w[2],
                        phone=w[1],
                        email=w[4],
                        first_name=w[5],
                        last_name=w[6],
                        opened_at=now,
                        request_id=w[3],
                        request_kind="sale"
                        if isinstance(causes[w[3]].data, SaleRecorded)
                        else "enrolment",
                    ),
                    subject=f"account/{account}",
                    cause=causes[w[3]],
                )
            )
    return accounts, created
