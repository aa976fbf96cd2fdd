"""The association back office's bank details (issue 15, item 3): what the settlement's
SEPA files need, set by the treasurer for the association (its creditor id), a merchant (its
direct-debit mandate) or a partner association. clearing checks and keeps them; the page
shows what is set for each party as clearing reads it back (holder, the IBAN masked but its
last 4 characters, BIC, mandate or creditor id), and an IBAN is never put in a URL nor shown
whole again."""

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
from services.portal.service import association, association_lists
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

routes = web.RouteTableDef()


async def _bank(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    services, p = services_of(request), session.principal
    try:
        merchants = await association.merchants(services, p)
        partners = await association.listing(services, p, "partners")
        own = w.say(request, "The association")
        parties = [("association", a_id(session), own)]
        parties += [("merchant", UUID(str(m["id"])), str(m["name"])) for m in merchants]
        parties += [("partner", UUID(str(x["partner_id"])), str(x["name"])) for x in partners]
        context["set"] = await association_lists.bank_details_set(services, p, parties)
    except Refused as exc:
        merchants, partners = [], []
        context["set"] = []
        context["error"] = context.get("error") or error_of(request, session, exc)
        status = exc.status
    context.setdefault("form", {})
    return page(
        request, session, "association_bank.html", status, merchants=merchants,
        partners=partners, **context,
    )  # fmt: skip


def a_id(session: Session) -> UUID:
    assert session.principal.association_id is not None
    return session.principal.association_id


@routes.get("/association/bank-details")
async def bank(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    saved = w.say(request, "Saved.") if request.query.get("saved") else None
    return await _bank(request, session, notice=saved)


def _details(request: web.Request, kind: str, fields: dict[str, str]) -> dict[str, Any] | str:
    """The form as clearing's body, or what is wrong with it."""
    body: dict[str, Any] = {
        "holder": fields.get("holder", "").strip()[:70],
        "iban": fields.get("iban", "").strip()[:64],
        "bic": fields.get("bic", "").strip()[:16] or None,
    }
    if not body["holder"] or not body["iban"]:
        return w.say(request, "The holder and the IBAN are needed.")
    if kind == "association":
        body["creditor_id"] = fields.get("creditor_id", "").strip()[:35] or None
    if kind == "merchant":
        body["mandate_id"] = fields.get("mandate_id", "").strip()[:35] or None
        typed = fields.get("mandate_signed_on", "").strip()
        signed = a.day(typed) if typed else None
        if typed and signed is None:
            return w.say(request, "The date is not a date.")
        body["mandate_signed_on"] = signed.isoformat() if signed else None
    return body


@routes.post("/association/bank-details")
async def save(request: web.Request) -> web.Response:
    """``party`` is ``association``, ``merchant:<id>`` or ``partner:<id>``."""
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    kind, _, party = fields.get("party", "").partition(":")
    if kind == "association" and not party:
        party_id = session.principal.association_id
    elif kind in ("merchant", "partner"):
        party_id = uuid_of(party)
    else:
        raise web.HTTPNotFound()
    assert party_id is not None
    form = {"party": fields.get("party", "")}  # what is typed is not shown again
    body = _details(request, kind, fields)
    if isinstance(body, str):
        return await _bank(request, session, 422, error=body, form=form)
    try:
        await association.bank_details(
            services_of(request), session.principal, kind, party_id, body
        )
    except Refused as exc:
        response = await _bank(
            request, session, exc.status, error=error_of(request, session, exc), form=form
        )
        response.headers["X-Problem-Reason"] = exc.reason
        return response
    return w.redirect("/association/bank-details?saved=1")
