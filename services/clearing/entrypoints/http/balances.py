"""Read API of the compte pivot: balances per account of the journal, and the entries of a
reference."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, Field, RootModel

from services.clearing.adapters import journal, scopes
from shared.access import Need
from shared.access_http import authorise
from shared.http import Problem, json_response, read_query, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class BalancesQuery(BaseModel):
    at: AwareDatetime | None = Field(
        default=None,
        description="the balances as of this instant (entries that occurred at or before it); "
        "absent: now. Encode `+` as %2B",
    )


class AccountBalance(BaseModel):
    kind: str
    merchant_id: UUID | None = Field(description="the merchant's, or the partner's, account")
    balance_cents: int = Field(description="debit positive")
    postings: int


class Balances(BaseModel):
    association_id: UUID
    accounts: list[AccountBalance]
    customer_liability_cents: int
    net_cents: int = Field(description="0 when the pivot balances")


class Posting(BaseModel):
    account: str = Field(description="the account's kind, then `:<merchant id>` if it has one")
    amount_cents: int


class JournalEntry(BaseModel):
    entry_id: int
    kind: str
    merchant_id: UUID | None = Field(description="none for an adjustment made by no merchant")
    occurred_at: datetime
    booked_at: datetime
    postings: list[Posting]


class JournalEntries(RootModel[list[JournalEntry]]):
    pass


@routes.route(
    "GET",
    "/v1/associations/{association_id}/balances",
    summary="Balances of an association's compte pivot, now or at a date",
    query=BalancesQuery,
    returns=Balances,
)
async def balances(request: web.Request) -> web.Response:
    """Each pivot account's balance (debit positive), and the pivot's check that they net to 0."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    at = read_query(request, BalancesQuery).at
    accounts: list[dict[str, Any]] = [
        {
            "kind": r["kind"],
            "merchant_id": str(r["merchant_id"]) if r["merchant_id"] else None,
            "balance_cents": r["balance_cents"],
            "postings": r["postings"],
        }
        for r in await journal.pivot_balances(rt.pool, aid, at)
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


@routes.route(
    "GET",
    "/v1/entries/{reference_id}",
    summary="The journal entries booked for a sale, a redemption, a return or a movement",
    returns=JournalEntries,
)
async def entries(request: web.Request) -> web.Response:
    rt = back_office(request)
    ref = uuid_param(request, "reference_id")
    books = await scopes.reference_associations(rt.pool, ref)
    if not books:
        raise Problem(404, "Nothing booked", f"no journal entry refers to {ref}")
    for aid in books:  # the association's books (a reference is in one association's)
        authorise(request, Need.ASSOCIATION, aid)
    rows = await journal.entries_of(rt.pool, ref)
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        e = out.setdefault(
            r["id"],
            {
                "entry_id": r["id"],
                "kind": r["kind"],
                "merchant_id": str(r["merchant_id"]) if r["merchant_id"] else None,
                "occurred_at": r["occurred_at"].isoformat(),
                "booked_at": r["booked_at"].isoformat(),
                "postings": [],
            },
        )
        account = r["account_kind"] + (f":{r['account_merchant']}" if r["account_merchant"] else "")
        e["postings"].append({"account": account, "amount_cents": r["amount_cents"]})
    return json_response(list(out.values()))
