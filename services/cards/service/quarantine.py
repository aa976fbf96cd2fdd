"""The quarantine of offline card transactions: lines that failed a server check
(domain/card_checks.py) are held here instead of booked, until the back office decides.

- **held**: written by the chunk's booking (service/offline.py) with its reasons, in the
  chunk's transaction; nothing is published for it, so clearing and the settlement files never
  see its money. Counted per reason (``comptoir_card_quarantined_total``); a failed certificate
  is an alert: logged at error naming the card and the terminal (either may be the forger).
- **approved**: booked then, with the actor and the reason, through the chunk's booking path
  (``offline_booking.book``) and its ``TransactionsBooked``: clearing sees it like any offline
  transaction. A line whose (card, ATC) is already booked (a clone) or whose card is unknown
  cannot be.
- **rejected**: nothing is booked, the server's account stays as it was; what the card claims
  after the line and what the server holds are recorded side by side, and the card is blocked
  (blacklisted as ``cloned``) when the back office finds it at fault.

A line is held once whatever is re-sent: its (terminal, seq) identity is unique.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import associations, quarantine
from shared import logging as log
from shared import metrics
from shared.contracts import CardTransaction, CardTransactionsSynced
from shared.events import Event

Reason = tuple[str, str]  # (reason code, detail)


@dataclass(frozen=True, slots=True)
class Held:
    """A line to hold: its chunk's event, the line, its id and why."""

    event: Event[CardTransactionsSynced]
    tx: CardTransaction
    transaction_id: UUID
    reasons: tuple[Reason, ...]


async def hold(conn: asyncpg.Connection, held: list[Held], now: datetime) -> int:
    """Hold the lines (those already held are left as they are); the number held now."""
    if not held:
        return 0
    rows = []
    for h in held:
        d = h.event.data
        rows.append(
            (
                h.transaction_id,
                d.association_id,
                d.merchant_id,
                d.shop_id,
                d.terminal_id,
                h.tx.seq,
                d.chunk_id,
                UUID(h.event.id),
                d.params_version,
                h.tx.card_number,
                h.tx.atc,
                h.tx.kind,
                h.tx.amount_cents,
                _storable(h.tx.occurred_at.isoformat()),
                [r for r, _ in h.reasons],
                _storable("; ".join(f"{r}: {detail}" for r, detail in h.reasons)),
                _storable(h.tx.model_dump(mode="json")),
            )
        )
    inserted = await quarantine.hold(conn, [_as_record(r) for r in rows], now)
    counts: dict[str, int] = defaultdict(int)
    logger = log.get("quarantine")
    for r in inserted:
        for reason in r["reasons"]:
            counts[reason] += 1
        if "bad_certificate" in r["reasons"]:
            # The alert: a forged or corrupted certificate, from the card or the terminal.
            logger.error(
                "card_certificate_forged",
                card_number=r["card_number"],
                terminal_id=str(r["terminal_id"]),
                seq=r["seq"],
            )
        if "unknown_key_version" in r["reasons"]:
            # A key version retired while its cards still circulate, or one made up.
            logger.error(
                "card_key_version_unknown",
                card_number=r["card_number"],
                terminal_id=str(r["terminal_id"]),
                seq=r["seq"],
            )
    for reason, n in counts.items():
        metrics.card_quarantined.labels(reason).inc(n)
    return len(inserted)


def _storable(value: Any) -> Any:
    """What PostgreSQL can store of a line as sent: a NUL character (which text and jsonb
    refuse, and which may be why the line could not be booked) is kept written out as ``\\x00``,
    so that the line is held rather than its chunk failing again."""
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _as_record(row: tuple[Any, ...]) -> dict[str, Any]:
    """One row as the JSON object ``jsonb_to_recordset`` reads (text arrays as JSON lists)."""
    out: dict[str, Any] = {}
    for k, v in zip(quarantine.FIELDS, row, strict=True):
        out[k] = str(v) if isinstance(v, UUID) else v
    return out


async def lines(
    pool: asyncpg.Pool,
    association_id: UUID,
    status: str | None,
    reason: str | None,
    terminal_id: UUID | None,
    before: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    """An association's held (or decided) lines, newest first; 404 for no such association."""
    async with pool.acquire() as conn:
        await associations.get(conn, association_id)
        return await quarantine.page(
            conn, association_id, status, reason, terminal_id, before, limit
        )


async def accounted(
    pool: asyncpg.Pool, terminal_ids: list[UUID] | None
) -> dict[UUID, tuple[int, int]]:
    """Per terminal, the lines booked and those held: see ``adapters.quarantine.accounted``."""
    async with pool.acquire() as conn:
        return await quarantine.accounted(conn, terminal_ids)
