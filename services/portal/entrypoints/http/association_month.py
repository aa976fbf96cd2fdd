"""A month of the association's books, beyond its page (association.py): each merchant's
and each partner association's statement as a workbook or CSV, streamed through from clearing, and the correction of a
closed month by an adjustment (booked in the open period, under the id the form carries: the
same form again books nothing more)."""

from __future__ import annotations

from aiohttp import web

from services.portal.domain.desk import cents
from services.portal.entrypoints import web as w
from services.portal.entrypoints.http.association import (
    PERIOD,
    ROLES,
    error_of,
    month_page,
    services_of,
    uuid_of,
)
from services.portal.service import association
from services.portal.service.calls import Refused

routes = web.RouteTableDef()


@routes.post(PERIOD + "/{party:statements|partners}/{party_id}.{fmt:xlsx|csv}")
async def statement_file(request: web.Request) -> web.StreamResponse:
    """One merchant's statement of the month, or one partner association's (clearing's
    workbook or CSV), as it comes."""
    session = await w.signed_in_as(request, *ROLES)
    await w.form(request, session)
    period, fmt = request.match_info["period"], request.match_info["fmt"]
    party = "merchants" if request.match_info["party"] == "statements" else "partners"
    party_id = uuid_of(request.match_info["party_id"])
    started = False
    try:
        async with association.statement_file(
            services_of(request), session.principal, party, party_id, period, fmt
        ) as answer:
            started = True
            kind = "releve" if party == "merchants" else "releve-partenaire"
            name = f"{kind}-{party_id}-{period}.{fmt}"
            return await w.relay(request, answer, association.STATEMENT_TYPES[fmt], name)
    except Refused as exc:
        if started:
            raise
        return await month_page(request, session, exc.status, error=error_of(request, session, exc))


@routes.post(PERIOD + "/adjustments")
async def adjust(request: web.Request) -> web.Response:
    """A closed month corrected for one merchant: ``owes`` more (or is ``owed``) ``amount``."""
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    period = request.match_info["period"]
    adjustment = uuid_of(fields.get("adjustment_id", ""))
    merchant = uuid_of(fields.get("merchant_id", ""))
    amount, reason = cents(fields.get("amount", "")), fields.get("reason", "").strip()[:500]
    sign = {"owes": 1, "owed": -1}.get(fields.get("direction", ""))
    if sign is None:
        raise web.HTTPNotFound()
    error = None
    if amount is None:
        error = w.say(request, "The amount is not a price: for example 12,50.")
    elif len(reason) < 5:
        error = w.say(request, "Give a reason of at least 5 characters.")
    if error is not None or amount is None:
        return await month_page(request, session, 422, error=error, new_adjustment=str(adjustment))
    try:
        done = await association.adjust(
            services_of(request), session.principal, adjustment, merchant, period,
            sign * amount, reason,
        )  # fmt: skip
    except Refused as exc:
        error = error_of(request, session, exc)
        response = await month_page(
            request, session, exc.status, error=error, new_adjustment=str(adjustment)
        )
        response.headers["X-Problem-Reason"] = exc.reason
        return response
    return w.redirect(f"/association/periods/{period}?adjusted={done['booked_in_period']}")
