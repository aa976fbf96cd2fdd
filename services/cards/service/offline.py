"""Booking what chip cards did offline: the chunks of terminal journals the gateway committed
(``CardTransactionsSynced``), checked (domain/card_checks.py) and booked in bulk.

Per transaction: the certificate, the card (known, of the terminal's association, accepted at
its merchant, not blocked before the transaction, not expired nor dormant then), its date
(``shared.rules.dates``), the (card, ATC) already seen (same content: a re-send, nothing;
other content: a clone, the card blacklisted), the chain of balances by ATC, a gap in ATCs and
the reward against the rules of the parameters the terminal was using. A transaction that
fails any check is not booked: it is held in quarantine with its reasons
(service/quarantine.py), where the back office approves it (booked then, through
``offline_booking.book``, like any other) or rejects it. Nothing is published for a held
line, so clearing and the settlement files never see its money. The chunk stays
acknowledged: the terminal does not retry a line the server holds.

What passes is booked by ``service.offline_booking`` (one ``TransactionsBooked`` per chunk).

The whole batch of chunks is one transaction, with a few statements whatever its size: the
nightly storm is 15,000 sales/s on two cores. Should the batch fail for a reason other than a
transient one (a line the checks let through and the database refuses), it is redone one line
at a time: the lines that fail are held as ``unprocessable``, the others booked, and nothing is
dead-lettered with its chunk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, card_transactions, cards
from services.cards.adapters import quarantine as quarantine_rows
from services.cards.adapters.card_transactions import Anomaly
from services.cards.adapters.rulebooks import BOOKS
from services.cards.domain.card_checks import (
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
from services.cards.domain.rulebooks import Snapshot
from services.cards.service import blacklist, offline_booking, quarantine
from services.cards.service.offline_booking import Line
from shared import clock, metrics
from shared import logging as log
from shared.card.crypto import Master, master_of, verify_message
from shared.card.keyring import versions_text
from shared.clock import PARIS
from shared.contracts import CardTransactionsSynced, card_transaction_id
from shared.db import is_transient
from shared.events import Event
from shared.rules.dates import DateWindow
from shared.rules.params import TerminalParameters, TerminalRules
from shared.rules.params import compile as compile_rules
from shared.settings import Settings


def _anomaly(t: Line, kind: AnomalyKind, detail: str, booked: bool) -> Anomaly:
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
    # Every key version of the keyring: a card keeps its version's keys until it is replaced,
    # so a rotation adds a version and old cards keep verifying (docs/terminal-protocol.md).
    keyring = settings.card_keyring()  # once, not per transaction
    cert_master: Master = dict(keyring.masters)
    log.get("offline").info(
        "card_keyring", key_versions=list(keyring.versions), current=keyring.current
    )
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
    cert_master: Master,
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
                await _hold_unprocessable(conn, single, exc, now)
    return out


async def _hold_unprocessable(
    conn: asyncpg.Connection, single: Event[CardTransactionsSynced], exc: Exception, now: datetime
) -> None:
    """Hold the one line of ``single`` as ``unprocessable`` with the error that stopped it."""
    tx = single.data.transactions[0]
    t = Line(single, tx, card_transaction_id(single.data.terminal_id, tx.seq))
    detail = f"the line could not be booked: {exc!r}"[:1000]
    log.get("offline").error(
        "card_line_unprocessable",
        terminal_id=str(single.data.terminal_id),
        seq=tx.seq,
        error=repr(exc),
    )
    async with conn.transaction():
        held = quarantine.Held(single, tx, t.transaction_id, (("unprocessable", detail),))
        await quarantine.hold(conn, [held], now)
        await record_anomalies(conn, [_anomaly(t, "unprocessable", detail, False)])


@dataclass(slots=True)
class _Holds:
    """The lines held so far and their anomalies: a line is held once, with every reason."""

    held: list[Line] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)

    def __call__(self, t: Line, kind: AnomalyKind, detail: str) -> None:
        if not t.reasons:
            self.held.append(t)
        t.reasons.append((kind, detail))
        self.anomalies.append(_anomaly(t, kind, detail, False))


async def book_synced(
    conn: asyncpg.Connection,
    events: list[Event[CardTransactionsSynced]],
    cert_master: Master,
    gap_alert: int,
    now: datetime | None = None,
    window: DateWindow = WINDOW,
) -> Sequence[Event[Any]]:
    now = now or clock.now()
    snap = await BOOKS.current(conn)
    hold = _Holds()
    batch = await _not_held_before(conn, _certified(events, cert_master, hold))
    found = await cards.for_checks(conn, {t.tx.card_number for t in batch})
    checked = _card_checked(batch, found, snap, now, window, hold)
    # The sales path's lock order (account, then card, then blacklist): chunks of one card
    # from two terminals are checked one after the other, each seeing the other's rows.
    locked = await accounts.lock_accounts(conn, (t.card["account_id"] for t in checked if t.card))
    clones = await _chain_checked(conn, checked, gap_alert, hold)
    versions = await _versioned_rules(conn, [t for t in checked if t.book])
    _reward_checked(checked, snap, versions, hold)

    booked = [t for t in checked if t.book]
    await offline_booking.book(conn, booked, locked)
    out: list[Event[Any]] = []
    if clones:
        out += await blacklist.block_cloned(conn, sorted(clones), now)
    await quarantine.hold(conn, [_held(t) for t in hold.held], now)
    await record_anomalies(conn, hold.anomalies)
    out += offline_booking.booked_events(events, booked, snap)
    return out


def _certified(
    events: list[Event[CardTransactionsSynced]], cert_master: Master, hold: _Holds
) -> list[Line]:
    """The lines whose card certificate verifies under the master of their key version."""
    batch: list[Line] = []
    for e in events:
        terminal = e.data.terminal_id
        for tx in e.data.transactions:
            t = Line(e, tx, card_transaction_id(terminal, tx.seq))
            if master_of(cert_master, tx.key_version) is None:
                # Told apart from a bad certificate: a version retired too early, or forged.
                hold(t, "unknown_key_version", _unknown_version(tx.key_version, cert_master))
                continue
            try:
                fields = certified(tx, terminal)
                message = fields.message()
                good = verify_message(
                    cert_master,
                    tx.card_number,
                    message,
                    bytes.fromhex(tx.certificate),
                    tx.key_version,
                )
                t.digest = digest(fields, tx, message)
            except Exception as exc:  # a line the checks cannot even read: held, not lost
                hold(t, "unprocessable", f"the line cannot be checked: {exc!r}"[:1000])
                continue
            if not good:
                hold(t, "bad_certificate", "the card's certificate does not verify")
                continue
            batch.append(t)
    return batch


def _unknown_version(key_version: int, cert_master: Master) -> str:
    held = versions_text(cert_master) if isinstance(cert_master, Mapping) else "one master"
    return f"key version {key_version} is not in the cards service's keyring (it holds {held})"


def _card_checked(
    batch: list[Line],
    found: dict[str, asyncpg.Record],
    snap: Snapshot,
    now: datetime,
    window: DateWindow,
    hold: _Holds,
) -> list[Line]:
    """The lines whose card may be used where and when they say."""
    checked: list[Line] = []
    for t in batch:
        t.card = found.get(t.tx.card_number)
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
    return checked


async def _chain_checked(
    conn: asyncpg.Connection, checked: list[Line], gap_alert: int, hold: _Holds
) -> set[str]:
    """Mark the lines new to their card's chain of ATCs to be booked (a re-sent one is not);
    the cards found cloned. Call with the cards' accounts locked."""
    by_card: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(checked):
        by_card[t.tx.card_number].append(i)
    wanted = {
        n: {checked[i].tx.atc + d for i in idx for d in (-1, 0, 1)} for n, idx in by_card.items()
    }
    known = await card_transactions.known(conn, wanted)
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
    return clones


def _reward_checked(
    checked: list[Line],
    snap: Snapshot,
    versions: dict[tuple[UUID, int | None], dict[UUID, TerminalRules]],
    hold: _Holds,
) -> None:
    """Each sale's reward against the rules of the parameters its terminal used; the fee and
    the customer's rate it is booked at."""
    for t in checked:
        if not t.book:
            continue
        assert t.card is not None
        d, fam = t.event.data, t.tx.product_family
        rules = snap.rules(t.card["card_type_id"])
        server = check_reward(
            rules.book if rules else None, rules.program if rules else None,
            d.merchant_id, True, t.tx,
        )  # fmt: skip
        check = server
        compiled = versions.get((d.merchant_id, d.params_version))
        if compiled is not None:
            # The terminal's version (and card levels): a later rate or level is not its fault.
            at_v = compiled.get(t.card["card_type_id"])
            check = check_reward(
                at_v.book if at_v else None, at_v.program if at_v else None,
                d.merchant_id, True, t.tx, at_v.personal(t.tx.card_number) if at_v else (),
            )  # fmt: skip
        # The operator's fee is the server's rules' whatever the terminal held; the customer's
        # rate is the one the reward was computed at.
        t.fee_cents, t.taux_client_bps = server.fee_cents, check.taux_client_bps
        t.rate_source, t.family_label = check.rate_source, snap.family_label(d.merchant_id, fam)
        if check.problem is not None:
            t.book = False
            hold(t, "reward_mismatch", check.problem)


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


def _held(t: Line) -> quarantine.Held:
    return quarantine.Held(t.event, t.tx, t.transaction_id, tuple(t.reasons))


async def _not_held_before(conn: asyncpg.Connection, batch: list[Line]) -> list[Line]:
    """A line already in quarantine is not checked again (a chunk delivered twice under two
    event ids): it is held or was decided, never both held and booked."""
    there = await quarantine_rows.held_already(conn, [t.transaction_id for t in batch])
    return [t for t in batch if t.transaction_id not in there] if there else batch


_VERSIONS: dict[tuple[UUID, int], dict[UUID, TerminalRules] | None] = {}


async def _versioned_rules(
    conn: asyncpg.Connection, txs: list[Line]
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
            document = await card_transactions.parameters_document(conn, merchant, version)
            _VERSIONS[key] = (
                compile_rules(TerminalParameters.from_json(document)) if document else None
            )
        compiled = _VERSIONS[key]
        if compiled is not None:
            out[key] = compiled
    return out


async def record_anomalies(conn: asyncpg.Connection, anomalies: list[Anomaly]) -> None:
    # Counted once: a re-sent chunk finds its anomalies already there.
    counts: dict[str, int] = defaultdict(int)
    for kind in await card_transactions.record_anomalies(conn, anomalies):
        counts[kind] += 1
    for kind in ANOMALY_KINDS:
        if counts[kind]:
            metrics.card_anomalies.labels(kind).inc(counts[kind])
