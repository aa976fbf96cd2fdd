"""Booking what chip cards did offline, once checked (``service.offline``) or approved from
quarantine (``service.quarantine``): the card's own deltas appended to the cagnotte, so the
account equals the card once all its transactions have arrived, in whatever order (deltas
commute); the visit counters come from the card's highest ATC. One ``TransactionsBooked``
per chunk tells clearing and crm."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, cagnotte, card_transactions, cards
from services.cards.domain import AccountState
from services.cards.domain.card_checks import AnomalyKind, threshold_transfer
from services.cards.domain.rulebooks import Snapshot
from services.cards.service.common import SOURCE
from shared.contracts import CardTransaction, CardTransactionsSynced, TransactionsBooked
from shared.events import Event, new_event


@dataclass(slots=True)
class Line:
    """One transaction of the batch and what the checks made of it."""

    event: Event[CardTransactionsSynced]
    tx: CardTransaction
    transaction_id: UUID
    digest: bytes = b""
    card: asyncpg.Record | None = None
    book: bool = False
    fee_cents: int = 0
    taux_client_bps: int | None = None
    rate_source: str | None = None  # the rule that set taux_client_bps
    family_label: str | None = None  # the product family's, in the merchant's catalogue
    reasons: list[tuple[AnomalyKind, str]] = field(default_factory=list)  # why it is held


async def book(
    conn: asyncpg.Connection,
    booked: list[Line],
    locked: dict[UUID, asyncpg.Record] | None = None,
) -> None:
    """Book checked (or approved) transactions: their rows, the cagnotte entries, the accounts'
    balances and visits, the cards' last use. The events are the caller's to build."""
    if not booked:
        return
    if locked is None:
        locked = await accounts.lock_accounts(
            conn, (t.card["account_id"] for t in booked if t.card)
        )
    tops = await card_transactions.highest_atcs(conn, (t.tx.card_number for t in booked))
    newest: dict[str, Line] = {}  # per card, its transaction of the highest ATC, if new
    for t in booked:
        n = t.tx.card_number
        if t.tx.atc > max(tops.get(n, 0), newest[n].tx.atc if n in newest else 0):
            newest[n] = t
    states = {a: cagnotte.state_of(r) for a, r in locked.items()}
    await card_transactions.append(conn, _records(booked))
    entries = _entries(booked, states)
    for t in newest.values():
        assert t.card is not None
        a = t.card["account_id"]
        states[a] = replace(
            states[a], visits=t.tx.visits_after, window_started_at=t.tx.window_started_at
        )
    await cagnotte.append_entries(conn, entries)
    await cagnotte.save(conn, [(a, states[a]) for a in sorted(states)])
    used: dict[str, datetime] = {}
    for t in booked:
        n = t.tx.card_number
        used[n] = max(used.get(n, t.tx.occurred_at), t.tx.occurred_at)
    await cards.touch(conn, used)


def _records(booked: list[Line]) -> list[tuple[Any, ...]]:
    """The rows of ``card_transactions``, in ``card_transactions.COLUMNS`` order."""
    records = []
    for t in booked:
        tx, d = t.tx, t.event.data
        assert t.card is not None
        records.append(
            (
                tx.card_number,
                tx.atc,
                t.digest,
                t.transaction_id,
                d.terminal_id,
                tx.seq,
                d.chunk_id,
                d.merchant_id,
                t.card["account_id"],
                tx.kind,
                tx.occurred_at,
                tx.available_delta,
                tx.pending_delta,
                tx.units_delta,
                tx.available_after,
                tx.pending_after,
                tx.units_after,
                tx.visits_after,
                tx.window_started_at,
            )
        )
    return records


def _entries(booked: list[Line], states: dict[UUID, AccountState]) -> list[tuple[Any, ...]]:
    """The card's deltas as cagnotte entries, ``states`` moved along, one card's transactions
    in ATC order so that each entry carries the balance after it."""
    entries: list[tuple[Any, ...]] = []
    running: dict[UUID, tuple[int, int, int]] = {}
    for t in sorted(booked, key=lambda t: (t.tx.card_number, t.tx.atc)):
        tx = t.tx
        assert t.card is not None
        a = t.card["account_id"]
        if a not in running:
            running[a] = (states[a].available, states[a].pending, states[a].units)
        available, pending, units = running[a]
        after = (
            available + tx.available_delta,
            pending + tx.pending_delta,
            units + tx.units_delta,
        )
        running[a] = after
        if tx.kind == "redemption":
            entries += _redemption_entries(t, a, *after)
        else:
            entries += _sale_entries(t, a, *after)
    for a, (available, pending, units) in running.items():
        states[a] = replace(states[a], available=available, pending=pending, units=units)
    return entries


def _where(t: Line) -> dict[str, Any]:
    """What every entry of a card transaction says of where it happened."""
    d = t.event.data
    return {
        "merchant_id": d.merchant_id,
        "shop_id": d.shop_id,
        "terminal_id": d.terminal_id,
        "card_number": t.tx.card_number,
        "card_atc": t.tx.atc,
    }


def _redemption_entries(
    t: Line, a: UUID, available: int, pending: int, units: int
) -> list[tuple[Any, ...]]:
    """A redemption: ``decagnottage`` on available, and on pending and units if the card
    moved them; the balances given are those after it."""
    tx, ref, at, common = t.tx, t.transaction_id, t.tx.occurred_at, _where(t)
    entries = [
        cagnotte.entry(
            a, "decagnottage", "available", ref, tx.available_delta, available, at,
            purchase_cents=tx.amount_cents, **common,
        )
    ]  # fmt: skip
    # A card only debits available; should it certify more (a reward_mismatch anomaly says
    # so), the account still follows the card.
    if tx.pending_delta:
        entries.append(
            cagnotte.entry(
                a, "decagnottage", "pending", ref, tx.pending_delta, pending, at, **common
            )
        )
    if tx.units_delta:
        entries.append(
            cagnotte.entry(a, "decagnottage", "units", ref, tx.units_delta, units, at, **common)
        )
    return entries


def _sale_entries(
    t: Line, a: UUID, available: int, pending: int, units: int
) -> list[tuple[Any, ...]]:
    """A sale: ``cagnottage`` on available (it carries the purchase and the fee: one per
    sale) and on pending, the pending forfeited at this purchase, the units; the balances
    given are those after it."""
    tx, ref, at, common = t.tx, t.transaction_id, t.tx.occurred_at, _where(t)
    entries = [
        cagnotte.entry(
            a, "cagnottage", "available", ref, tx.available_delta, available, at,
            purchase_cents=tx.amount_cents, product_family=tx.product_family,
            taux_client_bps=t.taux_client_bps, fee_cents=t.fee_cents, **common,
        )
    ]  # fmt: skip
    to_pending = tx.pending_delta + tx.expired_cents
    if to_pending:
        entries.append(
            cagnotte.entry(
                a, "cagnottage", "pending", ref, to_pending, pending + tx.expired_cents, at,
                **common,
            )
        )  # fmt: skip
    if tx.expired_cents:
        entries.append(
            cagnotte.entry(
                a, "pending_expired", "pending", ref, -tx.expired_cents, pending, at, **common
            )
        )
    if tx.units_delta:
        entries.append(
            cagnotte.entry(a, "cagnottage", "units", ref, tx.units_delta, units, at, **common)
        )
    return entries


def booked_events(
    events: list[Event[CardTransactionsSynced]], booked: list[Line], snap: Snapshot
) -> list[Event[Any]]:
    """One ``TransactionsBooked`` per chunk with lines booked. A sale carries the card's
    balances after it, as the card certified them (what the till showed; the account equals
    the card once all its lines arrived), and what it moved from pending to available at the
    visit threshold (the card type's, from ``snap``): crm's receipt and threshold message."""
    per_chunk: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in booked:
        tx = t.tx
        assert t.card is not None
        sale = tx.kind == "sale"
        rules = snap.rules(t.card["card_type_id"]) if sale else None
        needed = rules.visit_threshold.visits_needed if rules else 1
        # Plain dicts, validated once per chunk by pydantic-core: a model per transaction cost
        # more than the rest of the checks.
        per_chunk[t.event.id].append(
            {
                "transaction_id": t.transaction_id,
                "kind": tx.kind,
                "account_id": t.card["account_id"],
                "card_number": tx.card_number,
                "occurred_at": tx.occurred_at,
                "amount_cents": tx.amount_cents,
                "product_family": tx.product_family,
                # What the card's balances gained: the cagnotte's, whatever the terminal said.
                "reward_cents": tx.available_delta + tx.pending_delta + tx.expired_cents
                if sale
                else 0,
                "expired_cents": tx.expired_cents if sale else 0,
                "fee_cents": t.fee_cents,
                "product_family_label": t.family_label,
                "taux_client_bps": t.taux_client_bps if t.rate_source else None,
                "rate_source": t.rate_source,
                "balance_cents": tx.available_after if sale else None,
                "pending_cents": tx.pending_after if sale else None,
                "transferred_cents": threshold_transfer(tx, needed) if sale else 0,
            }
        )
    out: list[Event[Any]] = []
    for e in events:
        txs = per_chunk.get(e.id)
        if not txs:
            continue  # a chunk re-sent: nothing new
        d = e.data
        out.append(
            new_event(
                SOURCE,
                TransactionsBooked.model_validate(
                    {
                        "origin": "card",
                        "chunk_id": d.chunk_id,
                        "association_id": d.association_id,
                        "merchant_id": d.merchant_id,
                        "shop_id": d.shop_id,
                        "terminal_id": d.terminal_id,
                        "transactions": txs,
                    }
                ),
                subject=f"terminal/{d.terminal_id}",
                cause=e,
            )
        )
    return out
