"""Use case of a customer file import (F5): the file read and checked off the event loop, then
written in one transaction by ``services.cards.imports`` (accounts upserted by phone, opening
balances booked once, card numbers issued), and the report of what happened to every line."""

from __future__ import annotations

import asyncio
import csv
import time
from uuid import UUID

import asyncpg

from services.cards.adapters import catalogue as catalogue_db
from services.cards.domain import customer_import
from services.cards.domain import import_report as rules
from services.cards.domain.customer_import import ImportFileError
from services.cards.service import imports
from services.cards.service.money_models import ImportCounts, ImportReport, RejectedLine
from services.cards.service.refusals import use_case
from shared import clock
from shared import logging as log
from shared.http import Problem


async def check_association(pool: asyncpg.Pool, association_id: UUID) -> None:
    """Before reading a file for nothing."""
    await catalogue_db.association(pool, association_id)


@use_case
async def import_file(
    pool: asyncpg.Pool, association_id: UUID, raw: bytes, import_id: UUID
) -> ImportReport:
    """Running the same file again creates nothing."""
    started = time.perf_counter()
    text = rules.decode(raw)
    now = clock.now()
    try:
        # Parsing a large file takes a while: off the event loop.
        report = await asyncio.to_thread(customer_import.read, text, now.date())
    except (ImportFileError, csv.Error) as exc:
        raise Problem(422, "Unreadable customer file", str(exc)) from exc
    async with pool.acquire() as conn, conn.transaction():
        try:
            outcome = await imports.upsert(conn, association_id, report.accepted, import_id, now)
        except LookupError as exc:
            raise Problem(404, "Unknown association", str(exc)) from exc
        except imports.ImportConflict as exc:
            raise Problem(409, "Concurrent change", f"{exc}; nothing was imported, retry") from exc
    rejected = rules.rejected_lines(report, outcome.rejected)
    result = ImportReport(
        import_id=import_id,
        association_id=association_id,
        counts=ImportCounts(
            lines=len(report.accepted) + len(report.rejected),
            accepted=outcome.created + outcome.updated + outcome.unchanged,
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            rejected=len(rejected),
            opening_balances=outcome.opening_balances,
            opening_balance_cents=outcome.opening_balance_cents,
            cards_linked=outcome.cards_linked,
        ),
        rejected_lines=[RejectedLine(line=r.line, raw=r.raw, reasons=r.reasons) for r in rejected],
        ignored_columns=report.ignored_columns,
        elapsed_ms=round((time.perf_counter() - started) * 1000),
    )
    log.get("imports").info(
        "customer_file_imported",
        association_id=str(association_id),
        import_id=str(import_id),
        **{k: v for k, v in result.counts.model_dump().items() if k != "opening_balance_cents"},
        elapsed_ms=result.elapsed_ms,
    )
    return result
