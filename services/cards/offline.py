"""Booking what chip cards did offline: the chunks of terminal journals the gateway committed
(``CardTransactionsSynced``), checked (services/cards/card_checks.py) and booked in bulk.

Per transaction: the certificate, the card (known, of the terminal's association, accepted at
its merchant, not blocked before the transaction, not expired nor dormant then), its date
(``shared.rules.dates``), the (card, ATC) already seen (same content: a re-send, nothing;
other content: a clone, the card blacklisted), the chain of balances by ATC, a gap in ATCs and
the reward against the rules of the parameters the terminal was using. A transaction that
fails any check is not booked: it is held in quarantine with its reasons
(services/cards/quarantine.py), where the back office approves it (booked then, through
``book``, like any other) or rejects it. Nothing is published for a held line, so clearing and
the settlement files never see its money. The chunk stays acknowledged: the terminal does not
retry a line the server holds.

Booking appends the card's own deltas to the ledger, so the account equals the card once all
its transactions have arrived, in whatever order (deltas commute); the visit counters come
from the card's highest ATC. One ``CardTransactionsBooked`` per chunk tells clearing and crm.

The whole batch of chunks is one transaction, with a few statements whatever its size: the
nightly storm is 15,000 sales/s on two cores. Should the batch fail for a reason other than a
transient one (a line the checks let through and the database refuses), it is redone one line
at a time: the lines that fail are held as ``unprocessable``, the others booked, and nothing is
dead-lettered with its chunk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any
from uuid import UUID

import asyncpg

from services.cards import ledger, quarantine, store
from services.cards.card_checks import (
    ANOMALY_KINDS,
    WINDOW,
    AnomalyKind,
    CardFacts,
    Link,
    card_findings,
    certified,
    check_card,
    check_reward,
    digest,
)
from services.cards.cards_api import blacklist_change
from services.cards.domain import BLOCKED, AccountState
from services.cards.rulebooks import BOOKS
from shared import clock, metrics
from shared import logging as log
from shared.card.crypto import verify_message
from shared.clock import PARIS
from shared.contracts import (
    CardTransaction,
    CardTransactionsBooked,
    CardTransactionsSynced,
    card_transaction_id,
)
from shared.db import is_transient
from shared.events import Event, new_event
from shared.rules.dates import DateWindow
from shared.rules.params import TerminalParameters, TerminalRules
from shared.rules.params import compile as compile_rules
from shared.settings import Settings

SOURCE = "cards"


@dataclass(slots=True)
class _Tx:
    """One transaction of the batch and what the checks made of it."""

    event: Event[CardTransactionsSynced]
    tx: CardTransaction
    transaction_id: UUID
    digest: bytes = b""
    card: asyncpg.Record | None = None
    book: bool = False
    fee_cents: int = 0
    taux_client_bps: int | None = None
    reasons: list[tuple[AnomalyKind, str]] = field(default_factory=list)  # why it is held


# (kind, card, atc, terminal, seq, transaction, chunk, merchant, booked, detail)
Anomaly = tuple[str, str, int, UUID, int, UUID, UUID, UUID, bool, str]


def _anomaly(t: _Tx, kind: AnomalyKind, detail: str, booked: bool) -> Anomaly:
    d = t.event.data
    return (
        kind,
        t.tx.card_number,
        t.tx.atc,
        d.terminal_id,
        t.tx.seq,
        t.transaction_id,
        d.chunk_id,
        d.merchant_id,
        booked,
        detail,
    )


def handler(
    settings: Settings,
) -> Callable[[asyncpg.Connection, list[Event[Any]]], Awaitable[Sequence[Event[Any]]]]:
    cert_master = bytes.fromhex(settings.card_cert_key)  # once, not per transaction
    gap_alert = settings.atc_gap_alert
    window = settings.date_window()

    async def on_synced(conn: asyncpg.Connection, events: list[Event[Any]]) -> Sequence[Event[Any]]:
        try:
            async with conn.transaction():  # a savepoint: the fallback starts from clean
                return await book_synced(conn, events, cert_master, gap_alert, window=window)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.get("offline").warning(
                "card_chunks_one_line_at_a_time", error=repr(exc), chunks=len(events)
            )
        return await _line_by_line(conn, events, cert_master, gap_alert, window)

    return on_synced


async def _line_by_line(
    conn: asyncpg.Connection,
    events: list[Event[CardTransactionsSynced]],
    cert_master: bytes,
    gap_alert: int,
    window: DateWindow,
) -> list[Event[Any]]:
    """The batch again, one line at a time, each in its savepoint: a line that still fails is
    held as ``unprocessable`` with the error; the others are booked as usual."""
    out: list[Event[Any]] = []
    now = clock.now()
    for e in events:
        for tx in e.data.transactions:
            single = replace(e, data=e.data.model_copy(update={"transactions": [tx]}))
            try:
                async with conn.transaction():
                    out += await book_synced(conn, [single], cert_master, gap_alert, now, window)
            except Exception as exc:
                if is_transient(exc):
                    raise
                t = _Tx(single, tx, card_transaction_id(e.data.terminal_id, tx.seq))
                detail = f"the line could not be booked: {exc!r}"[:1000]
                log.get("offline").error(
                    "card_line_unprocessable",
                    terminal_id=str(e.data.terminal_id),
                    seq=tx.seq,
                    error=repr(exc),
                )
                async with conn.transaction():
                    await quarantine.hold(
                        conn,
                        [
                            quarantine.Held(
                                single, tx, t.transaction_id, (("unprocessable", detail),)
                            )
                        ],
                        now,
                    )
                    await _record_anomalies(conn, [_anomaly(t, "unprocessable", detail, False)])
    return out


async def _known(
    conn: asyncpg.Connection, wanted: dict[str, set[int]]
) -> dict[str, dict[int, Link]]:
    """Per card, the transactions known at the ATCs wanted and at its highest ATC."""
    numbers = sorted(wanted)
    atcs = [sorted(wanted[n]) for n in numbers]
    rows = await conn.fetch(
        """SELECT t.card_number, t.atc, t.digest, t.available_delta, t.pending_delta,
                  t.units_delta, t.available_after, t.pending_after, t.units_after
           FROM card_transactions t
           JOIN (SELECT unnest($1::text[]) AS card_number, unnest($2::bigint[]) AS atc) w
             ON t.card_number = w.card_number AND t.atc = w.atc
           UNION
           SELECT t.card_number, t.atc, t.digest, t.available_delta, t.pending_delta,
                  t.units_delta, t.available_after, t.pending_after, t.units_after
           FROM unnest($3::text[]) n(card_number)
           CROSS JOIN LATERAL (SELECT * FROM card_transactions c
                               WHERE c.card_number = n.card_number
                               ORDER BY c.atc DESC LIMIT 1) t""",
        [n for n, a in zip(numbers, atcs, strict=True) for _ in a],
        [x for a in atcs for x in a],
        numbers,
    )
    out: dict[str, dict[int, Link]] = defaultdict(dict)
    for r in rows:
        out[r["card_number"]][r["atc"]] = Link(
            r["atc"],
            bytes(r["digest"]),
            (r["available_delta"], r["pending_delta"], r["units_delta"]),
            (r["available_after"], r["pending_after"], r["units_after"]),
        )
    return out


async def book_synced(
    conn: asyncpg.Connection,
    events: list[Event[CardTransactionsSynced]],
    cert_master: bytes,
    gap_alert: int,
    now: datetime | None = None,
    window: DateWindow = WINDOW,
) -> Sequence[Event[Any]]:
    now = now or clock.now()
    snap = await BOOKS.current(conn)
    batch: list[_Tx] = []
    held: list[_Tx] = []
    anomalies: list[Anomaly] = []

    def hold(t: _Tx, kind: AnomalyKind, detail: str) -> None:
        if not t.reasons:
            held.append(t)
        t.reasons.append((kind, detail))
        anomalies.append(_anomaly(t, kind, detail, False))

    for e in events:
        terminal = e.data.terminal_id
        for tx in e.data.transactions:
            t = _Tx(e, tx, card_transaction_id(terminal, tx.seq))
            try:
                fields = certified(tx, terminal)
                message = fields.message()
                good = verify_message(
                    cert_master, tx.card_number, message, bytes.fromhex(tx.certificate), tx.key_version
                )
                t.digest = digest(fields, tx, message)
            except Exception as exc:  # a line the checks cannot even read: held, not lost
                hold(t, "unprocessable", f"the line cannot be checked: {exc!r}"[:1000])
                continue
            if not good:
                hold(t, "bad_certificate", "the card's certificate does not verify")
                continue
            batch.append(t)
    batch = await _not_held_before(conn, batch)
    cards = await store.cards(conn, {t.tx.card_number for t in batch})
    checked: list[_Tx] = []
    for t in batch:
        t.card = cards.get(t.tx.card_number)
        if t.card is None:
            hold(t, "unknown_card", "no such card")
            continue
        d = t.event.data
        rules = snap.rules(t.card["card_type_id"])
        try:
            findings = card_findings(
                _facts(t.card),
                t.tx,
                d.association_id,
                rules is not None and d.merchant_id in rules.accepted_at,
                now,
                datetime.combine(t.card["books_start"], time(), PARIS),
                window,
            )
        except Exception as exc:  # a time without an offset, say
            hold(t, "unprocessable", f"the line cannot be checked: {exc!r}"[:1000])
            continue
        for kind, detail in findings:
            hold(t, kind, detail)
        if not t.reasons:
            checked.append(t)
    # The sales path's lock order (account, then card, then blacklist): chunks of one card
    # from two terminals are checked one after the other, each seeing the other's rows.
    accounts = await store.lock_accounts(conn, (t.card["account_id"] for t in checked if t.card))
    by_card: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(checked):
        by_card[t.tx.card_number].append(i)
    wanted = {
        n: {checked[i].tx.atc + d for i in idx for d in (-1, 0, 1)} for n, idx in by_card.items()
    }
    known = await _known(conn, wanted)
    clones: set[str] = set()
    for number, idx in by_card.items():
        links = known.get(number, {})
        verdict = check_card(
            links, ((i, Link.of(checked[i].tx, checked[i].digest)) for i in idx), gap_alert
        )
        for i, v in verdict.verdicts.items():
            checked[i].book = v == "new"
        for i, f in verdict.findings:
            if f.kind == "clone":
                clones.add(number)
            checked[i].book = False
            hold(checked[i], f.kind, f.detail)

    versions = await _versioned_rules(conn, [t for t in checked if t.book])
    for t in checked:
        if not t.book:
            continue
        assert t.card is not None
        d = t.event.data
        rules = snap.rules(t.card["card_type_id"])
        server = check_reward(
            rules.book if rules else None, rules.program if rules else None,
            d.merchant_id, True, t.tx,
        )  # fmt: skip
        check = server
        compiled = versions.get((d.merchant_id, d.params_version))
        if compiled is not None:
            # The terminal's own version: one that synced before a rate change is not at fault.
            at_v = compiled.get(t.card["card_type_id"])
            check = check_reward(
                at_v.book if at_v else None, at_v.program if at_v else None,
                d.merchant_id, True, t.tx,
            )  # fmt: skip
        # The operator's fee is the server's rules' whatever the terminal held; the customer's
        # rate is the one the reward was computed at.
        t.fee_cents, t.taux_client_bps = server.fee_cents, check.taux_client_bps
        if check.problem is not None:
            t.book = False
            hold(t, "reward_mismatch", check.problem)

    booked = [t for t in checked if t.book]
    await book(conn, booked, accounts)
    out: list[Event[Any]] = []
    if clones:
        out += await block_cards(conn, sorted(clones), now)
    await quarantine.hold(conn, [_held(t) for t in held], now)
    await _record_anomalies(conn, anomalies)
    out += _booked_events(events, booked)
    return out


def _facts(card: asyncpg.Record) -> CardFacts:
    return CardFacts(
        association_id=card["association_id"],
        status=card["status"],
        status_changed_at=card["status_changed_at"],
        expires_on=card["expires_on"],
        last_used_at=card["last_used_at"],
        issued_at=card["issued_at"],
        dormant_after_days=card["dormant_after_days"],
    )


def _held(t: _Tx) -> quarantine.Held:
    return quarantine.Held(t.event, t.tx, t.transaction_id, tuple(t.reasons))


async def _not_held_before(conn: asyncpg.Connection, batch: list[_Tx]) -> list[_Tx]:
    """A line already in quarantine is not checked again (a chunk delivered twice under two
    event ids): it is held or was decided, never both held and booked."""
    if not batch:
        return batch
    rows = await conn.fetch(
        "SELECT transaction_id FROM card_quarantine WHERE transaction_id = ANY($1::uuid[])",
        [t.transaction_id for t in batch],
    )
    there = {r["transaction_id"] for r in rows}
    return [t for t in batch if t.transaction_id not in there] if there else batch


_VERSIONS: dict[tuple[UUID, int], dict[UUID, TerminalRules] | None] = {}


async def _versioned_rules(
    conn: asyncpg.Connection, txs: list[_Tx]
) -> dict[tuple[UUID, int | None], dict[UUID, TerminalRules]]:
    """The compiled rules of the parameters each chunk's terminal said it used (the newest
    document published for its merchant at or below that version); the documents never change,
    so they are kept once compiled."""
    wanted = {
        (t.event.data.merchant_id, t.event.data.params_version)
        for t in txs
        if t.event.data.params_version is not None
    }
    out: dict[tuple[UUID, int | None], dict[UUID, TerminalRules]] = {}
    for merchant, version in wanted:
        assert version is not None
        key = (merchant, version)
        if key not in _VERSIONS:
            document = await conn.fetchval(
                """SELECT document FROM terminal_parameters_history
                   WHERE merchant_id = $1 AND rules_version <= $2
                   ORDER BY rules_version DESC LIMIT 1""",
                merchant,
                version,
            )
            _VERSIONS[key] = (
                compile_rules(TerminalParameters.from_json(document)) if document else None
            )
        compiled = _VERSIONS[key]
        if compiled is not None:
            out[key] = compiled
    return out


async def book(
    conn: asyncpg.Connection,
    booked: list[_Tx],
    accounts: dict[UUID, asyncpg.Record] | None = None,
) -> None:
    """Book checked (or approved) transactions: their rows, the ledger entries, the accounts'
    balances and visits, the cards' last use. The events are the caller's to build."""
    if not booked:
        return
    if accounts is None:
        accounts = await store.lock_accounts(conn, (t.card["account_id"] for t in booked if t.card))
    tops = {
        r["card_number"]: r["top"]
        for r in await conn.fetch(
            """SELECT card_number, max(atc) AS top FROM card_transactions
               WHERE card_number = ANY($1::text[]) GROUP BY card_number""",
            sorted({t.tx.card_number for t in booked}),
        )
    }
    newest: dict[str, _Tx] = {}  # per card, its transaction of the highest ATC, if new
    for t in booked:
        n = t.tx.card_number
        if t.tx.atc > max(tops.get(n, 0), newest[n].tx.atc if n in newest else 0):
            newest[n] = t
    states = {a: ledger.state_of(r) for a, r in accounts.items()}
    await _store_transactions(conn, booked)
    entries = _entries(booked, states)
    for t in newest.values():
        assert t.card is not None
        a = t.card["account_id"]
        states[a] = replace(
            states[a], visits=t.tx.visits_after, window_started_at=t.tx.window_started_at
        )
    await store.append_entries(conn, entries)
    await ledger.save(conn, [(a, states[a]) for a in sorted(states)])
    used: dict[str, datetime] = {}
    for t in booked:
        n = t.tx.card_number
        used[n] = max(used.get(n, t.tx.occurred_at), t.tx.occurred_at)
    await store.touch_cards(conn, used)


async def _store_transactions(conn: asyncpg.Connection, booked: list[_Tx]) -> None:
    if not booked:
        return
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
    # The account locks make (card, atc) new here; a conflict would fail the batch loudly
    # rather than book a transaction twice.
    await conn.copy_records_to_table(
        "card_transactions",
        records=records,
        columns=(
            "card_number",
            "atc",
            "digest",
            "transaction_id",
            "terminal_id",
            "seq",
            "chunk_id",
            "merchant_id",
            "account_id",
            "kind",
            "occurred_at",
            "available_delta",
            "pending_delta",
            "units_delta",
            "available_after",
            "pending_after",
            "units_after",
            "visits_after",
            "window_started_at",
        ),
    )


def _entries(booked: list[_Tx], states: dict[UUID, AccountState]) -> list[tuple[Any, ...]]:
    """The card's deltas as ledger entries, ``states`` moved along. A sale: ``cagnottage``
    on available (it carries the purchase and the fee: one per sale) and on pending, the
    pending forfeited at this purchase, the units; a redemption: ``decagnottage``."""
    entries: list[tuple[Any, ...]] = []
    running: dict[UUID, tuple[int, int, int]] = {}
    for t in sorted(booked, key=lambda t: (t.tx.card_number, t.tx.atc)):
        tx, d = t.tx, t.event.data
        assert t.card is not None
        a = t.card["account_id"]
        if a not in running:
            running[a] = (states[a].available, states[a].pending, states[a].units)
        available, pending, units = running[a]
        available += tx.available_delta
        pending += tx.pending_delta
        units += tx.units_delta
        running[a] = (available, pending, units)
        common: dict[str, Any] = {
            "merchant_id": d.merchant_id,
            "shop_id": d.shop_id,
            "terminal_id": d.terminal_id,
            "card_number": tx.card_number,
            "card_atc": tx.atc,
        }
        ref, at = t.transaction_id, tx.occurred_at
        if tx.kind == "redemption":
            entries.append(
                store.entry(
                    a,
                    "decagnottage",
                    "available",
                    ref,
                    tx.available_delta,
                    available,
                    at,
                    purchase_cents=tx.amount_cents,
                    **common,
                )
            )
            # A card only debits available; should it certify more (a reward_mismatch
            # anomaly says so), the account still follows the card.
            if tx.pending_delta:
                entries.append(
                    store.entry(
                        a, "decagnottage", "pending", ref, tx.pending_delta, pending, at, **common
                    )
                )
            if tx.units_delta:
                entries.append(
                    store.entry(
                        a, "decagnottage", "units", ref, tx.units_delta, units, at, **common
                    )
                )
            continue
        entries.append(
            store.entry(
                a,
                "cagnottage",
                "available",
                ref,
                tx.available_delta,
                available,
                at,
                purchase_cents=tx.amount_cents,
                product_family=tx.product_family,
                taux_client_bps=t.taux_client_bps,
                fee_cents=t.fee_cents,
                **common,
            )
        )
        to_pending = tx.pending_delta + tx.expired_cents
        if to_pending:
            entries.append(
                store.entry(
                    a,
                    "cagnottage",
                    "pending",
                    ref,
                    to_pending,
                    pending + tx.expired_cents,
                    at,
                    **common,
                )
            )
        if tx.expired_cents:
            entries.append(
                store.entry(
                    a, "pending_expired", "pending", ref, -tx.expired_cents, pending, at, **common
                )
            )
        if tx.units_delta:
            entries.append(
                store.entry(a, "cagnottage", "units", ref, tx.units_delta, units, at, **common)
            )
    for a, (available, pending, units) in running.items():
        states[a] = replace(states[a], available=available, pending=pending, units=units)
    return entries


async def block_cards(
    conn: asyncpg.Connection, numbers: list[str], now: datetime
) -> list[Event[Any]]:
    """A cloned card (or one the back office found at fault in quarantine) goes on the
    blacklist, as ``cloned``: another holds its identity (unless a blocking status put it
    there already)."""
    rows = await conn.fetch(
        """UPDATE cards SET status = 'cloned', status_changed_at = $2
           WHERE number = ANY($1::text[]) AND status <> ALL($3::text[])
           RETURNING number, association_id""",
        numbers,
        now,
        list(BLOCKED),
    )
    events: list[Event[Any]] = []
    for r in sorted(rows, key=lambda r: r["number"]):
        await blacklist_change(conn, r, "add", "cloned", now, events)
    return events


async def _record_anomalies(conn: asyncpg.Connection, anomalies: list[Anomaly]) -> None:
    if not anomalies:
        return
    cols = list(zip(*anomalies, strict=True))
    rows = await conn.fetch(
        """INSERT INTO card_anomalies (kind, card_number, atc, terminal_id, seq, transaction_id,
                                       chunk_id, merchant_id, booked, detail)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::uuid[], $5::bigint[],
                                $6::uuid[], $7::uuid[], $8::uuid[], $9::boolean[], $10::text[])
           ON CONFLICT (kind, card_number, terminal_id, seq) DO NOTHING
           RETURNING kind""",
        *cols,
    )
    # Counted once: a re-sent chunk finds its anomalies already there.
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["kind"]] += 1
    for kind in ANOMALY_KINDS:
        if counts[kind]:
            metrics.card_anomalies.labels(kind).inc(counts[kind])


def _booked_events(
    events: list[Event[CardTransactionsSynced]], booked: list[_Tx]
) -> list[Event[Any]]:
    per_chunk: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in booked:
        tx = t.tx
        assert t.card is not None
        sale = tx.kind == "sale"
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
                # What the card's balances gained: the ledger's, whatever the terminal said.
                "reward_cents": tx.available_delta + tx.pending_delta + tx.expired_cents
                if sale
                else 0,
                "expired_cents": tx.expired_cents if sale else 0,
                "fee_cents": t.fee_cents,
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
                CardTransactionsBooked.model_validate(
                    {
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
