"""The reconciliation job: the invariants of the compte pivot, checked against the ledger itself
and against the cards service, each exposed as a metric.

- ``balanced``: every entry's postings sum to zero, and so do all of them (debits = credits);
  no entry lost its postings.
- ``entry_columns``: what each entry says it moved on its merchant's account
  (``merchant_cents``, which statements and settlements read) is what its postings moved.
- ``booked_once``: no account is posted twice by one entry, no (kind, reference) twice.
- ``closed_statements``: a closed period's frozen statements still equal its entries.
- ``held_positions``: what each association's last close left unsettled (its settlement's
  ``held``, from which the next close starts) is what the whole ledger says is due.
- ``liability``: the customers' liability (rewards) and the customer funds (money loaded)
  equal the balances cards holds, at the same cut-off (entries its events made before it).

Both sides are read at one cut-off: cards counts its entries made before it, clearing the
entries of the events cards made before it. An event still in flight at the cut-off, or one
made in the instant between its event and its entries, makes a difference that is not one: so
a difference is looked at again after a pause at the same cut-off (the event has landed), and
at a cut-off a moment earlier (no event straddles both); only what all looks show is reported.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
from prometheus_client import Counter, Gauge

from services.clearing import books
from shared import clock
from shared import logging as log
from shared.service import Runtime

CHECKS = (
    "balanced",
    "entry_columns",
    "booked_once",
    "closed_statements",
    "held_positions",
    "liability",
    "card_lines",
)
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


@dataclass(slots=True)
class Check:
    name: str
    ok: bool
    difference: int = 0
    detail: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "difference": self.difference,
            "detail": self.detail[:50],
        }


async def _balanced(conn: asyncpg.Connection) -> Check:
    r = await conn.fetchrow(
        """WITH per_entry AS (
               SELECT entry_id, sum(amount_cents) AS total FROM postings GROUP BY entry_id)
           SELECT coalesce((SELECT sum(total) FROM per_entry), 0)::bigint AS net,
                  (SELECT count(*) FROM per_entry WHERE total <> 0) AS unbalanced,
                  (SELECT array_agg(entry_id ORDER BY entry_id) FROM
                       (SELECT entry_id FROM per_entry WHERE total <> 0 LIMIT 20) x) AS sample,
                  (SELECT count(*) FROM journal_entries e
                   WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id)) AS bare"""
    )
    assert r is not None
    detail = []
    if r["net"]:
        detail.append(f"debits and credits differ by {r['net']} cents")
    if r["unbalanced"]:
        detail.append(f"{r['unbalanced']} entries do not balance, e.g. {r['sample']}")
    if r["bare"]:
        detail.append(f"{r['bare']} entries have no postings")
    bad = abs(r["net"]) + r["unbalanced"] + r["bare"]
    return Check("balanced", bad == 0, abs(r["net"]) or r["unbalanced"] + r["bare"], detail)


async def _entry_columns(conn: asyncpg.Connection) -> Check:
    rows = await conn.fetch(
        """SELECT e.id, e.kind, e.merchant_cents, coalesce(m.cents, 0)::bigint AS posted
           FROM journal_entries e
           LEFT JOIN (SELECT p.entry_id, a.merchant_id, sum(p.amount_cents) AS cents
                      FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
                      WHERE a.kind = 'merchant' GROUP BY 1, 2) m
             ON m.entry_id = e.id AND m.merchant_id = e.merchant_id
           WHERE e.merchant_cents <> coalesce(m.cents, 0)
           LIMIT 1000"""
    )
    diff = sum(abs(r["merchant_cents"] - r["posted"]) for r in rows)
    return Check(
        "entry_columns",
        not rows,
        diff,
        [
            f"entry {r['id']} ({r['kind']}) says {r['merchant_cents']}, posted {r['posted']}"
            for r in rows
        ],
    )


async def _booked_once(conn: asyncpg.Connection) -> Check:
    twice = await conn.fetch(
        """SELECT entry_id, account_id, count(*) AS n FROM postings
           GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 100"""
    )
    refs = await conn.fetch(
        """SELECT kind, reference_id, count(*) AS n FROM journal_entries
           GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 100"""
    )
    detail = [
        f"entry {r['entry_id']} posts account {r['account_id']} {r['n']} times" for r in twice
    ]
    detail += [f"{r['kind']} {r['reference_id']} booked {r['n']} times" for r in refs]
    return Check("booked_once", not detail, len(detail), detail)


async def _closed_statements(conn: asyncpg.Connection) -> Check:
    rows = await conn.fetch(
        """SELECT s.merchant_id, s.period, s.net_cents,
                  coalesce(sum(e.merchant_cents) FILTER (WHERE e.kind <> 'settlement'), 0)::bigint
                    AS now_cents
           FROM statements s
           LEFT JOIN journal_entries e ON e.merchant_id = s.merchant_id AND e.period = s.period
           GROUP BY s.merchant_id, s.period, s.net_cents
           HAVING s.net_cents <> coalesce(sum(e.merchant_cents)
                                          FILTER (WHERE e.kind <> 'settlement'), 0)
           LIMIT 1000"""
    )
    return Check(
        "closed_statements",
        not rows,
        sum(abs(r["net_cents"] - r["now_cents"]) for r in rows),
        [
            f"merchant {r['merchant_id']} {r['period']:%Y-%m}: statement {r['net_cents']}, "
            f"entries now {r['now_cents']}"
            for r in rows
        ],
    )


async def _held_positions(conn: asyncpg.Connection) -> Check:
    detail: list[str] = []
    difference = 0
    for r in await conn.fetch(
        """SELECT b.association_id, b.closed_through, s.held FROM books b
           LEFT JOIN settlements s ON s.association_id = b.association_id
                                  AND s.period = b.closed_through
           WHERE b.closed_through IS NOT NULL"""
    ):
        aid, through = r["association_id"], r["closed_through"]
        held = {(h["party_kind"], UUID(h["party_id"])): h["amount_cents"] for h in r["held"] or ()}
        ledger = {
            (p.kind, p.party_id): p.cents for p in await books.ledger_positions(conn, aid, through)
        }
        for kind, party in sorted(held.keys() | ledger.keys(), key=str):
            owed, kept = ledger.get((kind, party), 0), held.get((kind, party), 0)
            if owed != kept:
                difference += abs(owed - kept)
                detail.append(
                    f"association {aid}, {kind} {party}: the ledger says {owed} through "
                    f"{through:%Y-%m}, its close held {kept}"
                )
    return Check("held_positions", not detail, difference, detail)


_OURS = """
SELECT a.association_id,
       coalesce(-sum(p.amount_cents) FILTER (WHERE a.kind = 'customer_liability'), 0)::bigint
         AS cagnotte_cents,
       coalesce(-sum(p.amount_cents) FILTER (WHERE a.kind = 'customer_funds'), 0)::bigint
         AS stored_value_cents
FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
JOIN journal_entries e ON e.id = p.entry_id
WHERE a.kind IN ('customer_liability', 'customer_funds') AND e.event_time <= $1
GROUP BY a.association_id
"""


async def _theirs(
    http: aiohttp.ClientSession, rt: Runtime, association_id: UUID, as_of: datetime
) -> tuple[int, int]:
    url = f"{rt.settings.cards_url}/v1/associations/{association_id}/liability"
    async with http.get(
        url,
        params={"as_of": as_of.isoformat()},
        headers={"Authorization": f"Bearer {rt.settings.admin_token}"},
    ) as r:
        if r.status == 404:  # an association cards does not know: it holds nothing for it
            return 0, 0
        r.raise_for_status()
        body = await r.json()
    return body["cagnotte_cents"], body["stored_value_cents"]


async def _differences(
    conn: asyncpg.Connection,
    http: aiohttp.ClientSession,
    rt: Runtime,
    as_of: datetime,
    only: UUID | None,
) -> dict[UUID, tuple[int, int, int, int]]:
    """Per association whose figures differ: (ours, theirs) for rewards, then for funds."""
    ours = {
        r["association_id"]: (r["cagnotte_cents"], r["stored_value_cents"])
        for r in await conn.fetch(_OURS, as_of)
        if only is None or r["association_id"] == only
    }
    out = {}
    for aid, (cagnotte, funds) in ours.items():
        their_cagnotte, their_funds = await _theirs(http, rt, aid, as_of)
        if (cagnotte, funds) != (their_cagnotte, their_funds):
            out[aid] = (cagnotte, their_cagnotte, funds, their_funds)
    return out


async def _liability(rt: Runtime, cut_off: datetime, only: UUID | None) -> Check:
    timeout = aiohttp.ClientTimeout(total=30)

    async def look(at: datetime) -> dict[UUID, tuple[int, int, int, int]]:
        async with rt.pool.acquire() as conn:  # each look its own snapshot
            return await _differences(conn, http, rt, at, only)

    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            first = await look(cut_off)
            if first:
                await asyncio.sleep(PAUSE_S)
                again, earlier = await look(cut_off), await look(cut_off - EARLIER)
                first = {a: d for a, d in again.items() if a in first and a in earlier}
    except (aiohttp.ClientError, TimeoutError, KeyError) as exc:
        return Check("liability", False, 0, [f"cards did not answer: {exc!r}"])
    detail = [
        f"association {a}: rewards {ours} here, {theirs} at cards; "
        f"customer funds {f_ours} here, {f_theirs} at cards"
        for a, (ours, theirs, f_ours, f_theirs) in first.items()
    ]
    diff = sum(abs(o - t) + abs(fo - ft) for o, t, fo, ft in first.values())
    return Check("liability", not first, diff, detail)


async def _card_lines(rt: Runtime, association_id: UUID | None) -> Check:
    """Every offline card line the gateway acknowledged is booked or held in quarantine by
    cards (services/cards/quarantine_check.py does the counting: cards asks the gateway)."""
    params = {"settle_s": "2"} | ({"association_id": str(association_id)} if association_id else {})
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
            http.get(
                f"{rt.settings.cards_url}/v1/card-transactions/reconciliation",
                params=params,
                headers={"Authorization": f"Bearer {rt.settings.admin_token}"},
            ) as r,
        ):
            r.raise_for_status()
            body = await r.json()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Check("card_lines", False, 0, [f"cards did not answer: {exc!r}"])
    detail = [
        f"terminal {d['terminal_id']} (association {d['association_id']}): "
        f"{d['acknowledged']} acknowledged, {d['booked']} booked, {d['held']} held"
        for d in body["differences"]
    ]
    return Check("card_lines", body["ok"], body["unaccounted"], detail)


async def run(
    rt: Runtime, settle: timedelta = SETTLE, association_id: UUID | None = None
) -> dict[str, Any]:
    """One reconciliation: every check, recorded in ``reconciliations`` and in the metrics.
    ``settle``: how long before now the liability is compared; ``association_id``: compare
    only that association's liability (the other checks are the whole ledger's)."""
    started = clock.now()
    async with (
        rt.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        checks = [
            await _balanced(conn),
            await _entry_columns(conn),
            await _booked_once(conn),
            await _closed_statements(conn),
            await _held_positions(conn),
        ]
    checks.append(await _liability(rt, started - settle, association_id))
    checks.append(await _card_lines(rt, association_id))
    ok = all(c.ok for c in checks)
    for c in checks:
        ok_gauge.labels(c.name).set(1 if c.ok else 0)
        difference_gauge.labels(c.name).set(c.difference)
    runs.labels("ok" if ok else "failed").inc()
    last_run.set_to_current_time()
    result = {
        "started_at": started.isoformat(),
        "ok": ok,
        "checks": [c.as_dict() for c in checks],
    }
    rid = await rt.pool.fetchval(
        "INSERT INTO reconciliations (started_at, ok, checks) VALUES ($1, $2, $3::jsonb) RETURNING id",
        started,
        ok,
        result["checks"],
    )
    result["id"] = rid
    (logger.info if ok else logger.error)(
        "reconciliation", ok=ok, failed=[c.name for c in checks if not c.ok]
    )
    return result
