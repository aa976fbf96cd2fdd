"""What the clearing routes share: the period in a path, the path shapes, and the scope of a
merchant's or a partner's route (read before it is authorised)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from aiohttp import web

from services.clearing.adapters import scopes
from services.clearing.domain.periods import parse_period
from shared.access import Need, Principal
from shared.access_http import authorise
from shared.http import Problem, uuid_param
from shared.service import RUNTIME

PERIOD = "[1-9][0-9][0-9][0-9]-(?:0[1-9]|1[0-2])"
STATEMENT = "/v1/merchants/{merchant_id}/statements/{period:" + PERIOD + "}"
SETTLEMENT = "/v1/associations/{association_id}/settlements/{period:" + PERIOD + "}"


def period(request: web.Request) -> date:
    return parse_period(request.match_info["period"])


async def authorise_merchant(request: web.Request, need: Need) -> tuple[UUID, UUID, Principal]:
    """The path's merchant, its association (404 for a merchant clearing does not know) and
    the principal, once authorised for ``need`` on the merchant's data."""
    mid = uuid_param(request, "merchant_id")
    aid = await scopes.merchant_association(request.app[RUNTIME].pool, mid)
    if aid is None:
        raise Problem(404, "Unknown merchant", f"clearing knows no merchant {mid}")
    return aid, mid, authorise(request, need, aid, mid)


async def authorise_partner(
    request: web.Request, need: Need, merchant_id: UUID | None = None
) -> UUID:
    """The path's partner association (404 for one clearing does not know), authorised for
    ``need`` on its association's data (and this merchant's, for a merchant's agreement)."""
    pid = uuid_param(request, "partner_id")
    aid = await scopes.partner_association(request.app[RUNTIME].pool, pid)
    if aid is None:
        raise Problem(404, "Unknown partner", f"clearing knows no partner {pid}")
    authorise(request, need, aid, merchant_id)
    return pid
