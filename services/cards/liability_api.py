"""What an association's cardholders are owed according to the cards ledger, at a cut-off:
the figure clearing's reconciliation compares with its own books at the same instant."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field

from services.cards.catalogue_api import AwareInstant
from services.cards.web import api
from shared import clock
from shared.http import Problem, json_response, read_query, uuid_param
from shared.service import back_office


class LiabilityQuery(BaseModel):
    as_of: AwareInstant | None = Field(
        default=None,
        description="count only the entries written at or before this instant (ISO 8601 with "
        "a time zone; encode `+` as %2B); absent: every entry",
    )


class Liability(BaseModel):
    association_id: UUID
    as_of: datetime = Field(description="the cut-off given, else the time of the reading")
    cagnotte_cents: int = Field(description="available + pending rewards owed to cardholders")
    stored_value_cents: int = Field(description="money loaded on gift, prepaid, e-purse cards")
    accounts: int = Field(description="accounts opened at or before as_of")


# One statement: the association's accounts by its (association_id, phone) index, their entries
# by (account_id, id). ``infinity`` when no cut-off: one plan for both.
_LIABILITY = """
SELECT a.id AS association_id, coalesce($2::timestamptz, $3::timestamptz) AS as_of,
       (SELECT count(*) FROM accounts c
        WHERE c.association_id = a.id
          AND c.opened_at <= coalesce($2::timestamptz, 'infinity')) AS accounts,
       t.cagnotte_cents, t.stored_value_cents
FROM associations a
CROSS JOIN LATERAL (
    SELECT coalesce(sum(e.amount_cents) FILTER (WHERE e.bucket IN ('available', 'pending')), 0)
               ::bigint AS cagnotte_cents,
           coalesce(sum(e.amount_cents) FILTER (WHERE e.bucket = 'stored_value'), 0)
               ::bigint AS stored_value_cents
    FROM accounts c JOIN cagnotte_entries e ON e.account_id = c.id
    WHERE c.association_id = a.id
      AND e.created_at <= coalesce($2::timestamptz, 'infinity')
) t
WHERE a.id = $1"""


@api.route(
    "GET",
    "/v1/associations/{association_id}/liability",
    summary="What the association's cardholders are owed, by the cards ledger (reconciliation)",
    query=LiabilityQuery,
    returns=Liability,
    tag="reconciliation",
)
async def liability(request: web.Request) -> web.Response:
    """The sums of the ledger entries of the association's accounts: `cagnotte_cents` of the
    buckets available and pending, `stored_value_cents` of the stored value (points and stamps
    not yet converted are not money and are left out). With `as_of`, only the entries written
    (`created_at`) at or before it: the clearing service compares these with its own ledger at
    the same cut-off."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    query = read_query(request, LiabilityQuery)
    row = await rt.pool.fetchrow(_LIABILITY, association_id, query.as_of, clock.now())
    if row is None:
        raise Problem(404, "Unknown association", f"no association {association_id}")
    return json_response(Liability.model_validate(dict(row)))
