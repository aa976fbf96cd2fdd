"""The reconciliation: the invariants of the compte pivot, checked against the journal itself
and against the cards service, each exposed as a metric.

- ``balanced``: every entry's postings sum to zero, and so do all of them (debits = credits);
  no entry lost its postings. An entry with no postings is accepted only as a zero record: an
  accrual or a reversal whose reward and fee are both 0 (a 1-cent sale at 3 %), booked so that
  each sale is in the journal once (docs/clearing.md, "Zero records").
- ``entry_columns``: what each entry says it moved on its merchant's account
  (``merchant_cents``, which statements and settlements read) is what its postings moved.
- ``booked_once``: no account is posted twice by one entry, no (kind, reference) twice.
- ``closed_statements``: a closed period's frozen statements still equal its entries.
- ``held_positions``: what each association's last close left unsettled (its settlement's
  ``held``, from which the next close starts) is what the whole journal says is due.
- ``liability``: the customers' liability (rewards) and the customer funds (money loaded)
  equal the balances cards holds, at the same cut-off, per association and, where they
  differ, per customer account (the accounts at fault are named).

Both sides count on one basis: when a movement happened (``occurred_at``, the event time),
never when it was written, so a month-end cut-off agrees even with entries written after it for
a sale made before it (an offline terminal that synced late; issue 11, finding 6). An event
still in flight makes a difference that is not one: so a difference is looked at again after a
pause (the event has landed) and at a cut-off a moment earlier; only what all looks show is
reported.

Run for one association (``association_id``), every check reads that association's entries,
accounts, statements and closes only, so a treasurer gets a verdict for their own books. Each
failing check names the entries, accounts or parties at fault and the associations they belong
to; the run lists the red associations (``red_associations``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Counter, Gauge

from services.clearing.adapters import reconciliation as repo
from services.clearing.adapters.cards import Cards, CardsUnavailable
from services.clearing.domain import reconciliation as verdicts
from services.clearing.domain.reconciliation import Check, Figures, HeldBooks
from services.clearing.service import settling
from shared import clock
from shared import logging as log
from shared.service import Runtime

SETTLE = timedelta(seconds=10)  # the cut-off of a scheduled run: this long ago
PAUSE_S = 1.0
# Longer than an event and its entries are apart in cards (milliseconds, more under load).
EARLIER = timedelta(milliseconds=250)

ok_gauge = Gauge(
    "comptoir_reconciliation_ok",
    "1 when the last reconciliation found the invariant true",
    ["check"],
)
difference_gauge = Gauge(
    "comptoir_reconciliation_difference",
    "What the last reconciliation found wrong, per check (cents, or entries for counts)",
    ["check"],
)
runs = Counter("comptoir_reconciliation_runs_total", "Reconciliation runs, by result", ["result"])
last_run = Gauge("comptoir_reconciliation_last_run_timestamp_seconds", "End of the last run")

logger = log.get("reconciliation")


async def _held_positions(conn: asyncpg.Connection, only: UUID | None) -> Check:
    books = []
    for r in await repo.last_closes(conn, only):
        aid, through = r["association_id"], r["closed_through"]
        journal = {
            (p.kind, p.party_id): p.cents
            for p in await settling.journal_positions(conn, aid, through)
        }
        books.append(HeldBooks(aid, through, verdicts.held_of(r["held"]), journal))
    return verdicts.held_positions(books)


async def _journal_checks(conn: asyncpg.Connection, only: UUID | None) -> list[Check]:
    """The checks of the journal against itself (one snapshot: the caller's transaction)."""
    return [
        verdicts.balanced(await repo.net(conn, only), await repo.unbalanced(conn, only)),
        verdicts.entry_columns(await repo.column_faults(conn, only)),
        verdicts.booked_once(*await repo.booked_twice(conn, only)),
        verdicts.closed_statements(await repo.changed_statements(conn, only)),
        await _held_positions(conn, only),
    ]


async def _differences(
    rt: Runtime, cards: Cards, as_of: datetime, only: UUID | None
) -> dict[UUID, tuple[Figures, Figures]]:
    """Per association whose figures differ: (ours, theirs)."""
    async with rt.pool.acquire() as conn:  # each look its own snapshot
        ours = await repo.liability(conn, as_of, only)
    if only is not None:
        ours.setdefault(only, (0, 0))  # an association clearing has not booked yet
    out = {}
    for aid, figures in ours.items():
        body = await cards.liability(aid, as_of)
        theirs = (body["cagnotte_cents"], body["stored_value_cents"]) if body else (0, 0)
        if figures != theirs:
            out[aid] = (figures, theirs)
    return out


async def _accounts_at_fault(rt: Runtime, cards: Cards, aid: UUID, as_of: datetime) -> list[str]:
    async with rt.pool.acquire() as conn:
        ours = await repo.liability_per_account(conn, as_of, aid)
    body = await cards.liability(aid, as_of, per_account=True)
    theirs: dict[UUID | None, Figures] = {
        UUID(a["account_id"]): (a["cagnotte_cents"], a["stored_value_cents"])
        for a in (body or {}).get("per_account") or []
    }
    return verdicts.accounts_at_fault(aid, ours, theirs)


async def _liability(rt: Runtime, cut_off: datetime, only: UUID | None) -> Check:
    try:
        async with Cards(rt.settings) as cards:
            first = await _differences(rt, cards, cut_off, only)
            if first:
                await asyncio.sleep(PAUSE_S)
                again = await _differences(rt, cards, cut_off, only)
                earlier = await _differences(rt, cards, cut_off - EARLIER, only)
                first = {a: d for a, d in again.items() if a in first and a in earlier}
            accounts = {a: await _accounts_at_fault(rt, cards, a, cut_off) for a in first}
    except CardsUnavailable as exc:
        return verdicts.unanswered("liability", exc.cause)
    except KeyError as exc:  # an answer without the figures
        return verdicts.unanswered("liability", exc)
    return verdicts.liability(first, accounts)


async def _card_lines(rt: Runtime, association_id: UUID | None) -> Check:
    """Every offline card line the gateway acknowledged is booked or held in quarantine by
    cards (services/cards/quarantine_check.py does the counting: cards asks the gateway)."""
    try:
        async with Cards(rt.settings) as cards:
            body = await cards.card_lines(association_id)
    except CardsUnavailable as exc:
        return verdicts.unanswered("card_lines", exc.cause)
    return verdicts.card_lines(body)


async def run(
    rt: Runtime, settle: timedelta = SETTLE, association_id: UUID | None = None
) -> dict[str, Any]:
    """One reconciliation: every check, recorded in ``reconciliations`` and in the metrics.
    ``settle``: how long before now the liability is compared; ``association_id``: that
    association's books only (every check), else the whole instance. The metrics say what the
    last run found, whichever it was."""
    started = clock.now()
    async with (
        rt.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        checks = await _journal_checks(conn, association_id)
    checks.append(await _liability(rt, started - settle, association_id))
    checks.append(await _card_lines(rt, association_id))
    ok = all(c.ok for c in checks)
    red = sorted({a for c in checks for a in c.associations}, key=str)
    for c in checks:
        ok_gauge.labels(c.name).set(1 if c.ok else 0)
        difference_gauge.labels(c.name).set(c.difference)
    last_run.set_to_current_time()
    runs.labels("ok" if ok else "failed").inc()
    result: dict[str, Any] = {
        "started_at": started.isoformat(),
        "association_id": str(association_id) if association_id else None,
        "ok": ok,
        "red_associations": [str(a) for a in red],
        "checks": [c.as_dict() for c in checks],
    }
    result["id"] = await repo.record(rt.pool, started, ok, result["checks"], association_id, red)
    (logger.info if ok else logger.error)(
        "reconciliation",
        ok=ok,
        association_id=str(association_id) if association_id else None,
        failed=[c.name for c in checks if not c.ok],
        red_associations=len(red),
    )
    return result


def stored(row: asyncpg.Record) -> dict[str, Any]:
    """A recorded run, as ``run`` answered it."""
    return {
        "id": row["id"],
        "started_at": row["started_at"].isoformat(),
        "association_id": str(row["association_id"]) if row["association_id"] else None,
        "ok": row["ok"],
        "red_associations": [str(a) for a in row["red_associations"]],
        "checks": row["checks"],
    }
