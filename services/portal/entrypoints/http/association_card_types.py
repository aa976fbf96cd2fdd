"""The association back office's card types (issue 15, item 3): the list with the form to
accept another association's card type (or stop), and one card type's page: its own rates
at the merchants (set per merchant) and the associations that accept it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from services.portal.domain import association as a
from services.portal.entrypoints import web as w
from services.portal.entrypoints.http.association import (
    ROLES,
    error_of,
    page,
    services_of,
    uuid_of,
)
from services.portal.service import association
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

routes = web.RouteTableDef()
CARD_TYPE = "/association/card-types/{card_type_id}"
_DONE = {
    "accepted": "The card type is accepted.",
    "withdrawn": "The acceptance is withdrawn.",
    "saved": "Saved.",
}


def _notice(request: web.Request) -> str | None:
    done = _DONE.get(request.query.get("done", ""))
    return w.say(request, done) if done else None


async def _list(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    services, p = services_of(request), session.principal
    try:
        types = await association.listing(services, p, "card-types")
        merchants = await association.merchants(services, p)
    except Refused as exc:
        types, merchants = [], []
        context["error"] = context.get("error") or error_of(request, session, exc)
        status = exc.status
    return page(
        request, session, "association_card_types.html", status, items=types,
        merchants=merchants, **context,
    )  # fmt: skip


@routes.get("/association/card-types")
async def card_types(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    return await _list(request, session, notice=_notice(request))


@routes.post("/association/acceptances")
async def acceptance(request: web.Request) -> web.Response:
    """Accept (``accept=yes``) another association's card type, at every merchant of the
    association or one of them, or stop accepting it."""
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    try:
        card_type = UUID(fields.get("card_type_id", "").strip())
    except ValueError:
        error = w.say(request, "Give the card type's id, as its association gave it.")
        return await _list(request, session, 422, error=error)
    merchant = fields.get("merchant_id", "")
    accept = fields.get("accept") == "yes"
    try:
        await association.acceptance(
            services_of(request), session.principal, card_type,
            uuid_of(merchant) if merchant else None, accept,
        )  # fmt: skip
    except Refused as exc:
        return await _list(request, session, exc.status, error=error_of(request, session, exc))
    return w.redirect(f"/association/card-types?done={'accepted' if accept else 'withdrawn'}")


async def _card_type(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    services, p = services_of(request), session.principal
    ctid = uuid_of(request.match_info["card_type_id"])
    try:
        found = await association.card_type(services, p, ctid)
        merchants = await association.merchants(services, p)
    except Refused as exc:
        if exc.status in (403, 404):
            raise web.HTTPNotFound() from None
        raise
    if str(found.get("association_id")) != str(p.association_id):
        raise web.HTTPNotFound()  # another association's: it is theirs to show
    names = {str(m["id"]): m["name"] for m in merchants}
    return page(
        request, session, "association_card_type.html", status, card_type=found,
        merchants=merchants, names=names, **context,
    )  # fmt: skip


@routes.get(CARD_TYPE)
async def card_type(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    return await _card_type(request, session, notice=_notice(request))


@routes.post(CARD_TYPE + "/rates")
async def rate(request: web.Request) -> web.Response:
    """The card type's own rates at one merchant (empty: the merchant's own)."""
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    ctid = uuid_of(request.match_info["card_type_id"])
    merchant = uuid_of(fields.get("merchant_id", ""))
    rates: dict[str, int | None] = {}
    for key in ("taux_client_bps", "taux_uc_bps"):
        typed = fields.get(key, "").strip()
        value = a.bps(typed) if typed else None
        if typed and value is None:
            error = w.say(request, "A rate is a percentage such as 2,5.")
            return await _card_type(request, session, 422, error=error)
        rates[key] = value
    try:
        await association.set_rate(services_of(request), session.principal, ctid, merchant, rates)
    except Refused as exc:
        error = error_of(request, session, exc)
        return await _card_type(request, session, exc.status, error=error)
    return w.redirect(f"/association/card-types/{ctid}?done=saved")
