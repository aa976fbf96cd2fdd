"""What chip cards did offline, as booked: ``card_transactions`` (one row per (card, ATC)),
the anomalies the checks found, and the parameters documents terminals used."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.domain.card_checks import Link
from shared.db.query import Batch

COLUMNS = (
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
)

# (kind, card, atc, terminal, seq, transaction, chunk, merchant, booked, detail)
Anomaly = tuple[str, str, int, UUID, int, UUID, UUID, UUID, bool, str]
_ANOMALIES = Batch(
    "card_anomalies",
    [
        ("kind", "text"),
        ("card_number", "text"),
        ("atc", "bigint"),
        ("terminal_id", "uuid"),
        ("seq", "bigint"),
        ("transaction_id", "uuid"),
        ("chunk_id", "uuid"),
        ("merchant_id", "uuid"),
        ("booked", "boolean"),
        ("detail", "text"),
    ],
    "ON CONFLICT (kind, card_number, terminal_id, seq) DO NOTHING RETURNING kind",
)


async def known(
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


async def highest_atcs(conn: asyncpg.Connection, numbers: Iterable[str]) -> dict[str, int]:
    """Per card, the highest ATC booked."""
    rows = await conn.fetch(
        """SELECT card_number, max(atc) AS top FROM card_transactions
           WHERE card_number = ANY($1::text[]) GROUP BY card_number""",
        sorted(set(numbers)),
    )
    return {r["card_number"]: r["top"] for r in rows}


async def booked_at(conn: asyncpg.Connection, card_number: str, atc: int) -> UUID | None:
    """The transaction booked at this (card, ATC), if any."""
    found: UUID | None = await conn.fetchval(
        "SELECT transaction_id FROM card_transactions WHERE card_number = $1 AND atc = $2",
        card_number,
        atc,
    )
    return found


async def append(conn: asyncpg.Connection, records: Sequence[tuple[Any, ...]]) -> None:
    """Rows in ``COLUMNS`` order. The account locks make (card, atc) new here; a conflict would
    fail the batch loudly rather than book a transaction twice."""
    if records:
        await conn.copy_records_to_table("card_transactions", records=records, columns=COLUMNS)


async def record_anomalies(conn: asyncpg.Connection, anomalies: list[Anomaly]) -> list[str]:
    """The anomalies not recorded before (a re-sent chunk finds its own there): their kinds."""
    rows = await _ANOMALIES.fetch(conn, anomalies)
    return [r["kind"] for r in rows]


async def parameters_document(
    conn: asyncpg.Connection, merchant_id: UUID, version: int
) -> Any | None:
    """The newest parameters document published for the merchant at or below ``version``."""
    return await conn.fetchval(
        """SELECT document FROM terminal_parameters_history
           WHERE merchant_id = $1 AND rules_version <= $2
           ORDER BY rules_version DESC LIMIT 1""",
        merchant_id,
        version,
    )
