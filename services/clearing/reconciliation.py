"""The reconciliation job: the invariants of the compte pivot, checked against the ledger itself
and against the cards service, each exposed as a metric.

- ``balanced``: every entry's postings sum to zero, and so do all of them (debits = credits);
  no entry lost its postings. An entry with no postings is accepted only as a zero record: an
  accrual or a reversal whose reward and fee are both 0 (a 1-cent sale at 3 %), booked so that
  each sale is in the ledger once (docs/clearing.md, "Zero records").
- ``entry_columns``: what each entry says it moved on its merchant's account
  (``merchant_cents``, which statements and settlements read) is what its postings moved.
- ``booked_once``: no account is posted twice by one entry, no (kind, reference) twice.
- ``closed_statements``: a closed period's frozen statements still equal its entries.
- ``held_positions``: what each association's last close left unsettled (its settlement's
  ``held``, from which the next close starts) is what the whole ledger says is due.
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
    # The associations the faults belong to (the instance view's red list).
    associations: set[UUID] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "difference": self.difference,
            "detail": self.detail[:50],
            "associations": sorted(str(a) for a in self.associations),
        }


# The entries a check reads: every one, or one association's ($1 NULL: every one).
_SCOPE = "($1::uuid IS NULL OR e.association_id = $1::uuid)"


async def _balanced(conn: asyncpg.Connection, only: UUID | None) -> Check:
    """Debits = credits, per entry and in all; an entry without postings only as a zero record
    (an accrual or reversal of reward 0 and fee 0). The entries at fault are named."""
    r = await conn.fetchrow(
        f"""SELECT coalesce(sum(p.amount_cents), 0)::bigint FROM postings p
            JOIN journal_entries e ON e.id = p.entry_id WHERE {_SCOPE}""",
        only,
    )
    assert r is not None
    net = int(r[0])
    faults = await conn.fetch(
        f"""SELECT e.id, e.kind, e.reference_id, e.association_id, e.reward_cents, e.fee_cents,
                   t.total, t.n
            FROM journal_entries e
            LEFT JOIN (SELECT entry_id, sum(amount_cents) AS total, count(*) AS n
                       FROM postings GROUP BY entry_id) t ON t.entry_id = e.id
            WHERE {_SCOPE}
              AND (t.total <> 0
                   OR (t.n IS NULL AND NOT (e.kind IN ('accrual', 'reversal')
                                            AND coalesce(e.reward_cents, 0) = 0
                                            AND coalesce(e.fee_cents, 0) = 0
                                            AND e.merchant_cents = 0)))
            ORDER BY e.id LIMIT 1000""",
        only,
    )
    detail = []
    if net:
        detail.append(f"debits and credits differ by {net} cents")
    for f in faults:
        what = f"entry {f['id']} ({f['kind']} {f['reference_id']}, association {f['association_id']})"
        if f["n"] is None:
            detail.append(
                f"{what} has no postings but says reward {f['reward_cents']}, "
                f"fee {f['fee_cents']}"
            )
        else:
            detail.append(f"{what}: its postings sum to {f['total']}")
    return Check(
        "balanced",
        not detail,
        abs(net) or len(faults),
        detail,
        {f["association_id"] for f in faults},
    )


async def _entry_columns(conn: asyncpg.Connection, only: UUID | None) -> Check:
    rows = await conn.fetch(
        f"""SELECT e.id, e.kind, e.association_id, e.merchant_cents,
                   coalesce(m.cents, 0)::bigint AS posted
            FROM journal_entries e
            LEFT JOIN (SELECT p.entry_id, a.merchant_id, sum(p.amount_cents) AS cents
                       FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
                       WHERE a.kind = 'merchant' GROUP BY 1, 2) m
              ON m.entry_id = e.id AND m.merchant_id = e.merchant_id
            WHERE e.merchant_cents <> coalesce(m.cents, 0) AND {_SCOPE}
            LIMIT 1000""",
        only,
    )
    diff = sum(abs(r["merchant_cents"] - r["posted"]) for r in rows)
    return Check(
        "entry_columns",
        not rows,
        diff,
        [
            f"entry {r['id']} ({r['kind']}, association {r['association_id']}) says "
            f"{r['merchant_cents']}, posted {r['posted']}"
            for r in rows
        ],
        {r["association_id"] for r in rows},
    )


async def _booked_once(conn: asyncpg.Connection, only: UUID | None) -> Check:
    twice = await conn.fetch(
        f"""SELECT p.entry_id, p.account_id, e.association_id, count(*) AS n FROM postings p
            JOIN journal_entries e ON e.id = p.entry_id WHERE {_SCOPE}
            GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 100""",
        only,
    )
    refs = await conn.fetch(
        f"""SELECT e.kind, e.reference_id, array_agg(DISTINCT e.association_id) AS associations,
                   array_agg(e.id ORDER BY e.id) AS entries, count(*) AS n
            FROM journal_entries e WHERE {_SCOPE}
            GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 100""",
        only,
    )
    detail = [
        f"entry {r['entry_id']} (association {r['association_id']}) posts account "
        f"{r['account_id']} {r['n']} times"
        for r in twice
    ]
    detail += [
        f"{r['kind']} {r['reference_id']} booked {r['n']} times: entries {r['entries']}"
        for r in refs
    ]
    red = {r["association_id"] for r in twice} | {a for r in refs for a in r["associations"]}
    return Check("booked_once", not detail, len(detail), detail, red)


async def _closed_statements(conn: asyncpg.Connection, only: UUID | None) -> Check:
    rows = await conn.fetch(
        """SELECT s.association_id, s.merchant_id, s.period, s.net_cents,
                  coalesce(sum(e.merchant_cents) FILTER (WHERE e.kind <> 'settlement'), 0)::bigint
                    AS now_cents
           FROM statements s
           LEFT JOIN journal_entries e ON e.merchant_id = s.merchant_id AND e.period = s.period
           WHERE $1::uuid IS NULL OR s.association_id = $1::uuid
           GROUP BY s.association_id, s.merchant_id, s.period, s.net_cents
           HAVING s.net_cents <> coalesce(sum(e.merchant_cents)
                                          FILTER (WHERE e.kind <> 'settlement'), 0)
           LIMIT 1000""",
        only,
    )
    return Check(
        "closed_statements",
        not rows,
        sum(abs(r["net_cents"] - r["now_cents"]) for r in rows),
        [
            f"merchant {r['merchant_id']} (association {r['association_id']}) "
            f"{r['period']:%Y-%m}: statement {r['net_cents']}, entries now {r['now_cents']}"
            for r in rows
        ],
        {r["association_id"] for r in rows},
    )


async def _held_positions(conn: asyncpg.Connection, only: UUID | None) -> Check:
    detail: list[str] = []
    difference = 0
    red: set[UUID] = set()
    for r in await conn.fetch(
        """SELECT b.association_id, b.closed_through, s.held FROM books b
           LEFT JOIN settlements s ON s.association_id = b.association_id
                                  AND s.period = b.closed_through
           WHERE b.closed_through IS NOT NULL
             AND ($1::uuid IS NULL OR b.association_id = $1::uuid)""",
        only,
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
                red.add(aid)
                detail.append(
                    f"association {aid}, {kind} {party}: the ledger says {owed} through "
                    f"{through:%Y-%m}, its close held {kept}"
                )
    return Check("held_positions", not detail, difference, detail, red)


# What clearing owes customers, per association: its postings to the customers' accounts, of
# the entries that happened (occurred_at) at or before the cut-off: the basis cards counts on.
_OURS = """
SELECT a.association_id,
       coalesce(-sum(p.amount_cents) FILTER (WHERE a.kind = 'customer_liability'), 0)::bigint
         AS cagnotte_cents,
       coalesce(-sum(p.amount_cents) FILTER (WHERE a.kind = 'customer_funds'), 0)::bigint
         AS stored_value_cents
FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
JOIN journal_entries e ON e.id = p.entry_id
WHERE a.kind IN ('customer_liability', 'customer_funds') AND e.occurred_at <= $1
  AND ($2::uuid IS NULL OR a.association_id = $2::uuid)
GROUP BY a.association_id
"""

# The same, per customer account (the entry's ``account_id``), for one association.
_OURS_PER_ACCOUNT = """
SELECT e.account_id,
       coalesce(-sum(p.amount_cents) FILTER (WHERE a.kind = 'customer_liability'), 0)::bigint
         AS cagnotte_cents,
       coalesce(-sum(p.amount_cents) FILTER (WHERE a.kind = 'customer_funds'), 0)::bigint
         AS stored_value_cents
FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
JOIN journal_entries e ON e.id = p.entry_id
WHERE a.kind IN ('customer_liability', 'customer_funds') AND e.occurred_at <= $1
  AND a.association_id = $2
GROUP BY e.account_id
"""

Figures = tuple[int, int]  # (rewards, customer funds) owed, cents


async def _theirs(
    http: aiohttp.ClientSession,
    rt: Runtime,
    association_id: UUID,
    as_of: datetime,
    per_account: bool = False,
) -> dict[str, Any] | None:
    """cards' liability of an association at ``as_of`` (None: cards does not know it)."""
    url = f"{rt.settings.cards_url}/v1/associations/{association_id}/liability"
    params = {"as_of": as_of.isoformat()} | ({"per_account": "true"} if per_account else {})
    async with http.get(
        url, params=params, headers={"Authorization": f"Bearer {rt.settings.admin_token}"}
    ) as r:
        if r.status == 404:  # an association cards does not know: it holds nothing for it
            return None
        r.raise_for_status()
        body: dict[str, Any] = await r.json()
    return body


async def _differences(
    conn: asyncpg.Connection,
    http: aiohttp.ClientSession,
    rt: Runtime,
    as_of: datetime,
    only: UUID | None,
) -> dict[UUID, tuple[Figures, Figures]]:
    """Per association whose figures differ: (ours, theirs)."""
    ours = {
        r["association_id"]: (r["cagnotte_cents"], r["stored_value_cents"])
        for r in await conn.fetch(_OURS, as_of, only)
    }
    if only is not None:
        ours.setdefault(only, (0, 0))  # an association clearing has not booked yet
    out = {}
    for aid, figures in ours.items():
        body = await _theirs(http, rt, aid, as_of)
        theirs = (body["cagnotte_cents"], body["stored_value_cents"]) if body else (0, 0)
        if figures != theirs:
            out[aid] = (figures, theirs)
    return out


async def _accounts_at_fault(
    rt: Runtime, http: aiohttp.ClientSession, aid: UUID, as_of: datetime
) -> list[str]:
    """The customer accounts whose rewards or funds differ between cards and clearing."""
    async with rt.pool.acquire() as conn:
        ours: dict[UUID | None, Figures] = {
            r["account_id"]: (r["cagnotte_cents"], r["stored_value_cents"])
            for r in await conn.fetch(_OURS_PER_ACCOUNT, as_of, aid)
        }
    body = await _theirs(http, rt, aid, as_of, per_account=True)
    theirs: dict[UUID | None, Figures] = {
        UUID(a["account_id"]): (a["cagnotte_cents"], a["stored_value_cents"])
        for a in (body or {}).get("per_account") or []
    }
    out = []
    for account in sorted(ours.keys() | theirs.keys(), key=str):
        mine, cards = ours.get(account, (0, 0)), theirs.get(account, (0, 0))
        if mine != cards:
            name = f"account {account}" if account else "entries naming no account"
            out.append(
                f"association {aid}, {name}: rewards {mine[0]} here, {cards[0]} at cards; "
                f"customer funds {mine[1]} here, {cards[1]} at cards"
            )
    return out


async def _liability(rt: Runtime, cut_off: datetime, only: UUID | None) -> Check:
    timeout = aiohttp.ClientTimeout(total=30)

    async def look(at: datetime) -> dict[UUID, tuple[Figures, Figures]]:
        async with rt.pool.acquire() as conn:  # each look its own snapshot
            return await _differences(conn, http, rt, at, only)

    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            first = await look(cut_off)
            if first:
                await asyncio.sleep(PAUSE_S)
                again, earlier = await look(cut_off), await look(cut_off - EARLIER)
                first = {a: d for a, d in again.items() if a in first and a in earlier}
            detail = []
            for a, ((ours, f_ours), (theirs, f_theirs)) in first.items():
                detail.append(
                    f"association {a}: rewards {ours} here, {theirs} at cards; "
                    f"customer funds {f_ours} here, {f_theirs} at cards"
                )
                detail += (await _accounts_at_fault(rt, http, a, cut_off))[:20]
    except (aiohttp.ClientError, TimeoutError, KeyError) as exc:
        return Check("liability", False, 0, [f"cards did not answer: {exc!r}"])
    diff = sum(abs(o - t) + abs(fo - ft) for (o, fo), (t, ft) in first.values())
    return Check("liability", not first, diff, detail, set(first))


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
    red = {UUID(d["association_id"]) for d in body["differences"] if d.get("association_id")}
    return Check("card_lines", body["ok"], body["unaccounted"], detail, red)


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
        checks = [
            await _balanced(conn, association_id),
            await _entry_columns(conn, association_id),
            await _booked_once(conn, association_id),
            await _closed_statements(conn, association_id),
            await _held_positions(conn, association_id),
        ]
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
    rid = await rt.pool.fetchval(
        """INSERT INTO reconciliations (started_at, ok, checks, association_id, red_associations)
           VALUES ($1, $2, $3::jsonb, $4, $5::uuid[]) RETURNING id""",
        started,
        ok,
        result["checks"],
        association_id,
        red,
    )
    result["id"] = rid
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
