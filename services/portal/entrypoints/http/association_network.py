"""The association back office's pages of the network (issue 15, item 3): its merchants (a
list, a new one, one to edit) and its partner associations (a list, a new one). The books and the quarantine are association.py's, with the helpers the back
office's modules share; card types, issuance and webhooks have modules of their own."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from services.portal.domain import association as a
from services.portal.entrypoints import web as w
from services.portal.entrypoints.http.association import (
    ROLES,
    error_of,
    page,
    refused_page,
    services_of,
    uuid_of,
)
from services.portal.service import association
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

routes = web.RouteTableDef()


# The network's catalogue.


async def _merchants(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    try:
        found = await association.merchants(services_of(request), session.principal)
    except Refused as exc:
        found = []
        context["error"] = context.get("error") or error_of(request, session, exc)
        status = exc.status
    context.setdefault("form", {})
    context.setdefault("new_id", str(uuid.uuid4()))  # the new merchant's, chosen once
    return page(request, session, "association_merchants.html", status, merchants=found, **context)


@routes.get("/association/merchants")
async def merchants(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    notice = w.say(request, "Saved.") if request.query.get("saved") else None
    return await _merchants(request, session, notice=notice)


def _merchant_fields(
    request: web.Request, fields: dict[str, str]
) -> tuple[dict[str, Any] | None, str | None]:
    """The merchant form as cards' body, or the first thing wrong with it."""
    name = fields.get("name", "").strip()[:200]
    if not name:
        return None, w.say(request, "A name is needed.")
    body: dict[str, Any] = {"name": name}
    for key in ("taux_client_bps", "taux_uc_bps"):
        typed = fields.get(key, "").strip()
        if not typed:
            body[key] = None
            continue
        value = a.bps(typed)
        if value is None:
            return None, w.say(request, "A rate is a percentage such as 2,5.")
        body[key] = value
    body["email"] = fields.get("email", "").strip()[:320] or None
    closed = fields.get("closed_on", "").strip()
    if closed:
        found = a.day(closed)
        if found is None:
            return None, w.say(request, "The date is not a date.")
        body["closed_on"] = found.isoformat()
    else:
        body["closed_on"] = None
    return body, None


@routes.post("/association/merchants")
async def add_merchant(request: web.Request) -> web.Response:
    """A new merchant, under the id the form was given (a retry saves the same one)."""
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    mid = uuid_of(fields.get("merchant_id", ""))
    body, error = _merchant_fields(request, fields)
    if body is None:
        return await _merchants(request, session, 422, error=error, form=fields, new_id=str(mid))
    try:
        await association.save_merchant(services_of(request), session.principal, mid, body)
    except Refused as exc:
        return await _merchants(
            request, session, exc.status, error=error_of(request, session, exc), form=fields,
            new_id=str(mid),
        )  # fmt: skip
    return w.redirect("/association/merchants?saved=1")


@routes.get("/association/merchants/{merchant_id}")
async def merchant(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    mid = uuid_of(request.match_info["merchant_id"])
    try:
        found = await association.merchant(services_of(request), session.principal, mid)
    except Refused as exc:
        if exc.status in (403, 404):
            raise web.HTTPNotFound() from None
        raise
    lang = w.language(request, session)
    form = {
        "name": found.get("name") or "",
        "taux_client_bps": a.percent(found.get("taux_client_bps"), lang),
        "taux_uc_bps": a.percent(found.get("taux_uc_bps"), lang),
        "email": found.get("email") or "",
        "closed_on": found.get("closed_on") or "",
    }
    notice = w.say(request, "Saved.") if request.query.get("saved") else None
    return page(
        request, session, "association_merchant.html", merchant_id=str(mid), form=form,
        notice=notice,
    )  # fmt: skip


@routes.post("/association/merchants/{merchant_id}")
async def edit_merchant(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    mid = uuid_of(request.match_info["merchant_id"])
    fields = await w.form(request, session)
    body, error = _merchant_fields(request, fields)
    context = {"merchant_id": str(mid), "form": fields}
    if body is None:
        return page(request, session, "association_merchant.html", 422, error=error, **context)
    try:
        await association.save_merchant(services_of(request), session.principal, mid, body)
    except Refused as exc:
        return refused_page(request, session, exc, "association_merchant.html", **context)
    return w.redirect(f"/association/merchants/{mid}?saved=1")


async def _partners(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    try:
        found = await association.listing(services_of(request), session.principal, "partners")
    except Refused as exc:
        found = []
        context["error"] = context.get("error") or error_of(request, session, exc)
        status = exc.status
    context.setdefault("new_id", str(uuid.uuid4()))  # the new partner's, chosen once
    return page(request, session, "association_partners.html", status, partners=found, **context)


@routes.get("/association/partners")
async def partners(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    notice = w.say(request, "Saved.") if request.query.get("saved") else None
    return await _partners(request, session, notice=notice)


@routes.post("/association/partners")
async def save_partner(request: web.Request) -> web.Response:
    """A partner association registered (or renamed, or made inactive) under the form's id."""
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    pid = uuid_of(fields.get("partner_id", ""))
    name = fields.get("name", "").strip()[:200]
    if not name:
        error = w.say(request, "A name is needed.")
        return await _partners(request, session, 422, error=error, new_id=str(pid))
    active = fields.get("active", "yes") == "yes"
    try:
        await association.save_partner(services_of(request), session.principal, pid, name, active)
    except Refused as exc:
        error = error_of(request, session, exc)
        return await _partners(request, session, exc.status, error=error, new_id=str(pid))
    return w.redirect("/association/partners?saved=1")
