"""The statistics' use cases: record a batch of facts (in crm.events' transaction for the
batch), add the facts recorded to the aggregates (the roll-up), and answer a scope's figures
over a period and the previous one (docs/statistics.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.crm.adapters import statistics as store
from services.crm.adapters import statistics_roll_up as roll_up
from services.crm.adapters import statistics_sponsorship as sponsorship_store
from services.crm.domain import statistics_figures as fig
from services.crm.domain import statistics_sponsorship as sponsorship
from services.crm.domain.statistics import COUNTERS, NETWORK, Deltas, Line


async def record(conn: asyncpg.Connection, lines: Iterable[Line]) -> int:
    """Record the facts the statistics have not seen yet, in the caller's transaction; the
    roll-up adds them to the sums (``catch_up``). How many were new."""
    return await roll_up.record_lines(conn, lines)


# Facts added to the sums per roll-up transaction (a few seconds of the ingest bench's sales).
ROLL_UP_BATCH = 5000


async def catch_up(pool: asyncpg.Pool) -> int:
    """Add every fact recorded so far to the sums, a batch per transaction; how many. Run by
    crm's roll-up job, and before each reading so that a figure counts every fact committed
    before it was asked for."""
    total = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            taken = await roll_up.roll_up(conn, ROLL_UP_BATCH)
        total += taken
        if taken < ROLL_UP_BATCH:
            return total


async def enrolled(
    conn: asyncpg.Connection, accounts: Sequence[tuple[str, UUID, UUID | None, datetime]]
) -> None:
    """Accounts opened (event id, association, merchant or None, when): the enrolments'
    counts, but for the events the statistics' former queue counted already."""
    if not accounts:
        return
    before = await store.counted_before(conn, [a[0] for a in accounts])
    deltas = Deltas()
    for event_id, association_id, merchant_id, at in accounts:
        if event_id not in before:
            deltas.enrolled(association_id, merchant_id, at)
    await store.add_enrolments(conn, deltas)


async def _money(
    conn: asyncpg.Connection, scope: fig.Scope, p: fig.Period
) -> tuple[dict[str, Any], dict[str, Any]]:
    prev = p.previous()
    scope_id = scope.id or NETWORK
    rows = await store.day_sums(conn, scope.kind, scope_id, prev.start, p.start, p.end)
    out = []
    for current in (True, False):
        mine = [r for r in rows if r["current"] is current]
        sums = {name: sum(int(r[name] or 0) for r in mine) for name in COUNTERS}
        figures = fig.money_figures(sums)
        figures["traffic"] = fig.traffic(
            [
                (r["dow"], hour, int(n or 0))
                for r in mine
                for hour, n in enumerate(r["sales_by_hour"])
            ]
        )
        out.append(figures)
    return out[0], out[1]


_NOT_KEPT: dict[str, Any] = {
    "customers": None,
    "visits_per_customer": None,
    "frequency": None,
    "best_customers": None,
}


def _per_member(visits: int, per_customer: list[int]) -> dict[str, Any]:
    return {
        "customers": len(per_customer),
        "visits_per_customer": fig.visits_per_customer(visits, len(per_customer)),
        "frequency": fig.frequency(per_customer),
    }


async def _customers(
    conn: asyncpg.Connection, scope: fig.Scope, p: fig.Period, visits: tuple[int, int]
) -> tuple[dict[str, Any], dict[str, Any], int | None]:
    """Per-member figures of the period and the previous one, and the inactive customers at
    the period's end; not kept for the network (docs/statistics.md). The members with a
    sponsor among them under ``_sponsored`` (the sponsorship results take them)."""
    if scope.id is None:
        return dict(_NOT_KEPT, _sponsored=None), dict(_NOT_KEPT, _sponsored=None), None
    first, last = fig.inactive_window(p.end)
    bounds = (p.previous().start, p.start, p.end, first, last)
    row = await store.customer_figures(conn, scope.kind, scope.id, bounds, fig.BEST_CUSTOMERS)
    current = _per_member(visits[0], list(row["visits"]))
    current["best_customers"] = orjson.loads(row["best"])
    previous = _per_member(visits[1], list(row["previous"]))
    previous["best_customers"] = None
    for figures, prefix in ((current, ""), (previous, "previous_")):
        figures["_sponsored"] = {n: row[prefix + n] for n in sponsorship.SPONSORED_SUMS}
    return current, previous, int(row["inactive"])


async def _people(conn: asyncpg.Connection, scope: fig.Scope, p: fig.Period) -> dict[str, Any]:
    """Members, enrolments over time, inactive customers and consents at the period's end."""
    enrolment_scope = scope
    if scope.kind == "shop" and scope.id is not None:
        # A member enrols at a merchant, not a shop: a shop shows its merchant's.
        merchant = await store.merchant_of_shop(conn, scope.id)
        enrolment_scope = fig.Scope("merchant", merchant) if merchant else scope
    scope_id = enrolment_scope.id or NETWORK
    prev = p.previous()
    before, per_day = await store.enrolments(conn, scope_id, prev.start, p.end)
    current = sum(n for d, n in per_day.items() if d >= p.start)
    previous = sum(n for d, n in per_day.items() if d < p.start)
    consents = None
    if enrolment_scope.kind != "shop":
        consents = await store.consents(conn, enrolment_scope.kind, enrolment_scope.id)
    return {
        "members": before + previous + current,
        "members_at_start": before + previous,
        "enrolments": current,
        "previous_enrolments": previous,
        "enrolments_over_time": fig.series(p, per_day),
        "enrolments_step": fig.series_step(p),
        "consents": {c: (consents or {}).get(c, 0) for c in ("email", "sms", "post")}
        if consents is not None
        else None,
    }


async def _sponsorship(
    conn: asyncpg.Connection,
    scope: fig.Scope,
    p: fig.Period,
    current: dict[str, Any],
    previous: dict[str, Any],
) -> None:
    """The sponsorship results of both periods: links and rewards at the merchant where the
    newcomer enrolled (a shop shows its merchant's), the association and the network; the
    members with a sponsor from the per-member figures (``_sponsored``)."""
    links_scope = scope
    if scope.kind == "shop" and scope.id is not None:
        merchant = await store.merchant_of_shop(conn, scope.id)
        links_scope = fig.Scope("merchant", merchant)
    if links_scope.kind != "network" and links_scope.id is None:
        # A shop without a sale yet: its merchant is not known to the statistics.
        sums: dict[bool, dict[str, int]] = {True: {}, False: {}}
    else:
        first, start, end = sponsorship.instants(p)
        sums = await sponsorship_store.sums(
            conn, links_scope.kind, links_scope.id, first, start, end
        )
    for figures, is_current in ((current, True), (previous, False)):
        figures["sponsorship"] = sponsorship.sponsorship_figures(
            sums[is_current], figures.pop("_sponsored")
        )


async def figures(conn: asyncpg.Connection, scope: fig.Scope, p: fig.Period) -> dict[str, Any]:
    """Every figure of a scope over a period, and over the previous period of as many days."""
    current, previous = await _money(conn, scope, p)
    members, previous_members, inactive = await _customers(
        conn, scope, p, (current["visits"], previous["visits"])
    )
    current |= members | {"inactive_customers": inactive}
    previous |= previous_members
    await _sponsorship(conn, scope, p, current, previous)
    people = await _people(conn, scope, p)
    previous["enrolments"] = people.pop("previous_enrolments")
    current |= people
    prev = p.previous()
    return {
        "scope": {"kind": scope.kind, "id": scope.id},
        "period": {"from": p.start, "to": p.end, "days": p.days},
        "previous_period": {"from": prev.start, "to": prev.end, "days": prev.days},
        "figures": current,
        "previous": previous,
    }
