"""The reconciliation of offline journals: every line the gateway acknowledged is booked or held
in quarantine (service/reconciliation.py)."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from services.cards.service import reconciliation
from services.cards.service.reconciliation import LinesCheck, LinesQuery
from shared.access import Need
from shared.access_http import authorise
from shared.http import Problem, json_response, read_query
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


@routes.route(
    "GET",
    "/v1/card-transactions/reconciliation",
    summary="Every offline line the gateway acknowledged is booked or held in quarantine",
    query=LinesQuery,
    returns=LinesCheck,
    tag="cards",
)
async def reconcile_lines(request: web.Request) -> web.Response:
    """Compares per terminal the gateway's committed lines with what cards booked or holds,
    waiting up to ``settle_s`` for lines still on their way; 502 if the gateway cannot say."""
    rt = back_office(request)
    q = read_query(request, LinesQuery)
    # Every association's terminals unless one is named: then that association's books.
    if q.association_id is None:
        authorise(request, Need.OPERATOR)
    else:
        authorise(request, Need.ASSOCIATION, q.association_id)
    try:
        result = await reconciliation.check(rt, q.association_id, q.settle_s)
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
        raise Problem(
            502, "The gateway did not answer", repr(exc)[:300], reason="gateway_unavailable"
        ) from exc
    return json_response(result)
