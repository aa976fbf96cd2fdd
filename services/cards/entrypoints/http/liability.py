"""Back-office route of what an association's cardholders are owed according to the cagnotte, at a cut-off:
the figure clearing's reconciliation compares with its own books at the same instant.

The cut-off counts the movements that happened (``occurred_at``) at or before it, whenever they
were written: clearing's balances ``at`` count on that basis too, so the two agree at a month
end even when a terminal that was offline syncs a November sale in December (issue 11,
finding 6: counted by when they were written, the two said 0.00 € and 26.80 €)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field

from services.cards.adapters import reports
from services.cards.service.catalogue_models import AwareInstant
from shared import clock
from shared.access import Need
from shared.access_http import authorise
from shared.db.query import as_model
from shared.http import json_response, read_query, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class LiabilityQuery(BaseModel):
    as_of: AwareInstant | None = Field(
        default=None,
        description="count only the movements that happened (occurred_at) at or before this "
        "instant, whenever written (ISO 8601 with a time zone; encode `+` as %2B); absent: "
        "every entry",
    )
    per_account: bool = Field(
        default=False,
        description="also give each account's figures (the reconciliation names the accounts "
        "at fault with them); accounts that owe nothing are left out",
    )


class AccountLiability(BaseModel):
    account_id: UUID
    cagnotte_cents: int
    stored_value_cents: int


class Liability(BaseModel):
    association_id: UUID
    as_of: datetime = Field(description="the cut-off given, else the time of the reading")
    cagnotte_cents: int = Field(description="available + pending rewards owed to cardholders")
    stored_value_cents: int = Field(description="money loaded on gift, prepaid, e-purse cards")
    accounts: int = Field(description="accounts opened at or before as_of")
    per_account: list[AccountLiability] | None = Field(
        default=None, description="with per_account=true: each account owed something"
    )


@routes.route(
    "GET",
    "/v1/associations/{association_id}/liability",
    summary="What the association's cardholders are owed, by the cagnotte (reconciliation)",
    query=LiabilityQuery,
    returns=Liability,
    tag="reconciliation",
)
async def liability(request: web.Request) -> web.Response:
    """The sums of the cagnotte entries of the association's accounts: `cagnotte_cents` of the
    buckets available and pending, `stored_value_cents` of the stored value (points and stamps
    not yet converted are not money and are left out). With `as_of`, only the movements that
    happened (`occurred_at`) at or before it, even if written later: the basis of clearing's
    balances `at`, which its reconciliation compares with these at the same cut-off."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, association_id)
    query = read_query(request, LiabilityQuery)
    row = await reports.liability(rt.pool, association_id, query.as_of, clock.now())
    out: dict[str, Any] = dict(row)
    if query.per_account:
        out["per_account"] = [
            dict(r) for r in await reports.per_account(rt.pool, association_id, query.as_of)
        ]
    return json_response(as_model(Liability, out))
