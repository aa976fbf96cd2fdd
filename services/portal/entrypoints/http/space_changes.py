"""The cardholder space's own details (corrected in crm's file) and messages to a shop (HTML),
and the shop's inbox that its front desk and manager read. Each handler reads the form (same
site, CSRF), asks service/space_changes.py, and answers a page or a redirect."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from aiohttp import web

from services.portal.entrypoints import web as w
from services.portal.service import space_changes as changes
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

routes = web.RouteTableDef()
# The fields' words, to name the ones crm refused.
LABELS = {
    "title": "Title",
    "first_name": "First name",
    "last_name": "Last name",
    "address": "Address",
    "postal_code": "Postal code",
    "town": "Town",
    "landline": "Landline",
    "birth_date": "Birth date",
    "language": "Language",
}
TITLES = {"M": "Mr", "MME": "Ms", "MX": "Mx"}  # crm's titles, as the form says them


async def _holder(request: web.Request) -> Session:
    return await w.signed_in_as(request, "cardholder")


def _unavailable(request: web.Request, session: Session, exc: Refused) -> web.Response:
    message = w.say(request, "The request was refused ({reason}).", reason=exc.reason)
    status = exc.status if 400 <= exc.status < 500 else 502
    return w.render(request, "space_done.html", session, status=status, message=message)


# --- one's details ------------------------------------------------------------------------


def _details_page(
    request: web.Request,
    session: Session,
    values: dict[str, Any],
    status: int = 200,
    error: str | None = None,
) -> web.Response:
    shown = {
        name: "" if values.get(name) is None else str(values[name]) for name in changes.EDITABLE
    }
    return w.render(
        request,
        "space_details.html",
        session,
        status=status,
        v=shown,
        titles=[(code, w.say(request, TITLES[code])) for code in changes.TITLES],
        email=values.get("email"),
        phone=values.get("phone"),
        error=error,
    )


@routes.get("/space/details")
async def details_page(request: web.Request) -> web.Response:
    session = await _holder(request)
    try:
        found = await changes.details(w.portal(request).services, session.principal)
    except Refused as exc:
        return _unavailable(request, session, exc)
    return _details_page(request, session, found)


@routes.post("/space/details")
async def correct(request: web.Request) -> web.Response:
    session = await _holder(request)
    fields = await w.form(request, session)
    wanted = changes.details_of_form(fields)
    try:
        await changes.correct(w.portal(request).services, session.principal, wanted)
    except Refused as exc:
        if exc.status != 422:
            return _unavailable(request, session, exc)
        named = [w.say(request, LABELS[f]) for f in exc.fields if f in LABELS]
        error = w.say(request, "Check these fields: {fields}.", fields=", ".join(named) or "—")
        return _details_page(request, session, {**fields}, status=422, error=error)
    return w.redirect("/space/done/details")


# --- a message to a shop --------------------------------------------------------------------


def _messages_page(
    request: web.Request,
    session: Session,
    seen: changes.Messages,
    status: int = 200,
    error: str | None = None,
    text: str = "",
    chosen: str = "",
) -> web.Response:
    names = {str(s["id"]): str(s["name"]) for s in seen.shops}
    return w.render(
        request,
        "space_messages.html",
        session,
        status=status,
        shops=seen.shops,
        sent=seen.sent,
        names=names,
        form_id=uuid.uuid4(),  # the message's id: the form sent twice is one message
        error=error,
        text=text,
        chosen=chosen,
    )


@routes.get("/space/messages")
async def messages_page(request: web.Request) -> web.Response:
    session = await _holder(request)
    try:
        seen = await changes.messages(w.portal(request).services, session.principal)
    except Refused as exc:
        return _unavailable(request, session, exc)
    return _messages_page(request, session, seen)


def _uuid(raw: str | None) -> UUID | None:
    try:
        return UUID(raw or "")
    except ValueError:
        return None


@routes.post("/space/messages")
async def send(request: web.Request) -> web.Response:
    session = await _holder(request)
    fields = await w.form(request, session)
    services = w.portal(request).services
    text = fields.get("body", "").strip()
    message_id, merchant_id = _uuid(fields.get("form_id")), _uuid(fields.get("merchant_id"))
    if message_id is None or merchant_id is None or not text or len(text) > changes.MAX_MESSAGE:
        seen = await changes.messages(services, session.principal)
        error = w.say(request, "Choose a shop and write your message (2,000 characters at most).")
        return _messages_page(request, session, seen, 422, error, text[: changes.MAX_MESSAGE])
    try:
        await changes.send(services, session.principal, message_id, merchant_id, text)
    except Refused as exc:
        if exc.status != 422:
            return _unavailable(request, session, exc)
        seen = await changes.messages(services, session.principal)
        error = w.say(request, "This shop is not one of your network's.")
        return _messages_page(request, session, seen, 422, error, text)
    return w.redirect("/space/done/message")


# --- the shop's inbox ---------------------------------------------------------------------


@routes.get("/inbox")
async def inbox(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *changes.INBOX_ROLES)
    try:
        found = await changes.inbox(w.portal(request).services, session.principal)
    except Refused as exc:
        return _unavailable(request, session, exc)
    return w.render(request, "inbox.html", session, messages=found)
