"""Read API of the compte pivot: balances per ledger account and the entries of a reference."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shared.http import Problem, json_response, uuid_param
from shared.service import Runtime, back_office


async def balances(request: web.Request) -> web.Response:
    """Each ledger account's balance (debit positive), and the pivot's check that they net to 0."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    rows = await rt.pool.fetch(
        """SELECT a.kind, a.merchant_id, coalesce(sum(p.amount_cents), 0)::bigint AS balance_cents,
                  count(p.id) AS postings
           FROM ledger_accounts a LEFT JOIN postings p ON p.account_id = a.id
           WHERE a.association_id = $1 GROUP BY a.id ORDER BY a.kind, a.merchant_id""",
        aid,
    )
    accounts: list[dict[str, Any]] = [
        {
            "kind": r["kind"],
            "merchant_id": str(r["merchant_id"]) if r["merchant_id"] else None,
            "balance_cents": r["balance_cents"],
            "postings": r["postings"],
        }
        for r in rows
    ]
    liability = -sum(a["balance_cents"] for a in accounts if a["kind"] == "customer_liability")
    return json_response(
        {
            "association_id": str(aid),
            "accounts": accounts,
            "customer_liability_cents": liability,
            "net_cents": sum(a["balance_cents"] for a in accounts),
        }
    )


async def entries(request: web.Request) -> web.Response:
    rt = back_office(request)
    ref = uuid_param(request, "reference_id")
    rows = await rt.pool.fetch(
        """SELECT e.id, e.kind, e.merchant_id, e.occurred_at, e.booked_at, a.kind AS account_kind,
                  a.merchant_id AS account_merchant, p.amount_cents
           FROM journal_entries e JOIN postings p ON p.entry_id = e.id
           JOIN ledger_accounts a ON a.id = p.account_id
           WHERE e.reference_id = $1 ORDER BY e.id, p.id""",
        ref,
    )
    if not rows:
        raise Problem(404, "Nothing booked", f"no journal entry refers to {ref}")
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        e = out.setdefault(
            r["id"],
            {
                "entry_id": r["id"],
                "kind": r["kind"],
                "merchant_id": str(r["merchant_id"]),
                "occurred_at": r["occurred_at"].isoformat(),
                "booked_at": r["booked_at"].isoformat(),
                "postings": [],
            },
        )
        e["postings"].append(
            {
                "account": r["account_kind"]
                + (f":{r['account_merchant']}" if r["account_merchant"] else ""),
                "amount_cents": r["amount_cents"],
            }
        )
    return json_response(list(out.values()))


def routes(app: web.Application, _: Runtime) -> None:
    app.router.add_get("/v1/associations/{association_id}/balances", balances)
    app.router.add_get("/v1/entries/{reference_id}", entries)
