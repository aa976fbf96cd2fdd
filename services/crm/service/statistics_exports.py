"""A figure's detail lines, for its CSV or XLSX file (docs/statistics.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from services.crm.adapters import statistics as store
from services.crm.adapters import statistics_sponsorship as sponsorship_store
from services.crm.domain import statistics_exports as layout
from services.crm.domain import statistics_figures as fig
from services.crm.domain import statistics_sponsorship as sponsorship


class ExportRefused(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


async def lines(
    conn: asyncpg.Connection, name: str, scope: fig.Scope, p: fig.Period
) -> list[list[object]]:
    """The lines of one export; refused past layout.MAX_LINES, and for the per-member files
    at the network's scope (not kept there)."""
    if name in ("sales", "rewards"):
        kinds = layout.SALE_KINDS if name == "sales" else layout.REWARD_KINDS
        n = await store.count_lines(conn, scope.kind, scope.id, p.start, p.end, kinds)
        _within(n)
        rows = await store.fetch_rows(
            conn, store.lines_sql(scope.kind, kinds), scope.id, p.start, p.end
        )
        make: Callable[[Mapping[str, Any]], list[object]] = (
            layout.sale_line if name == "sales" else layout.reward_line
        )
        return [make(r) for r in rows]
    if name in ("enrolments", "consents", "sponsorship"):
        # A member enrols, consents and is sponsored at a merchant: a shop shows its merchant's.
        people_scope = scope
        if scope.kind == "shop" and scope.id is not None:
            merchant = await store.merchant_of_shop(conn, scope.id)
            people_scope = fig.Scope("merchant", merchant)
        if name == "sponsorship":
            if people_scope.kind != "network" and people_scope.id is None:
                return []  # a shop that never sold: no merchant known
            _, start, end = sponsorship.instants(p)
            rows = await sponsorship_store.lines(
                conn, people_scope.kind, people_scope.id, start, end
            )
            _within(len(rows))
            return [layout.sponsorship_line(r) for r in rows]
        if name == "consents":
            rows = await store.consents_in_force(conn, people_scope.kind, people_scope.id)
            _within(len(rows))
            return [layout.consent_line(r) for r in rows]
        rows = await store.enrolled_sql_rows(
            conn, people_scope.kind, people_scope.id, p.start, p.end
        )
        _within(len(rows))
        return [layout.enrolment_line(r) for r in rows]
    if scope.id is None:
        raise ExportRefused(
            "not_kept_for_network",
            f"the {name} file is kept per shop, merchant and association, not network-wide",
        )
    if name == "sponsored":
        rows = await store.fetch_rows(
            conn, sponsorship_store.sponsored_sql(scope.kind), scope.id, p.start, p.end
        )
        _within(len(rows))
        return [layout.sponsored_line(r) for r in rows]
    if name == "customers":
        rows = await store.fetch_rows(
            conn,
            store.customers_sql(scope.kind) + " ORDER BY spent_cents DESC, account_id",
            scope.id,
            p.start,
            p.end,
        )
        _within(len(rows))
        return [layout.customer_line(r) for r in rows]
    first, last = fig.inactive_window(p.end)
    rows = await store.fetch_rows(
        conn,
        store.inactive_sql(scope.kind) + " ORDER BY last_visit, account_id",
        scope.id,
        first,
        last,
        p.end,
    )
    _within(len(rows))
    return [layout.inactive_line(r) for r in rows]


def _within(n: int) -> None:
    if n > layout.MAX_LINES:
        raise ExportRefused(
            "export_too_large",
            f"{n} lines, more than {layout.MAX_LINES}: ask for a narrower scope or period",
        )
