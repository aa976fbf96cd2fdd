"""The shop's kiosk (F27, docs/kiosk.md): its set-up by the manager (HTML), the kiosk's page
(the waiting screen with its code form, then a card's balance for a few seconds), the page's
small script and state, the reader's JSON call (POST /v1/kiosk/cards, its key as bearer),
and the cardholder space's page that shows a code to type at a kiosk."""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field

from services.portal.domain import kiosk as rules
from services.portal.entrypoints import web as w
from services.portal.entrypoints.http.pages import STATIC, too_many
from services.portal.entrypoints.http.space import euros
from services.portal.service import kiosk, sessions
from services.portal.service.calls import Refused
from services.portal.service.people import TooMany
from shared import clock
from shared.http import In, Problem, json_response, read_model
from shared.openapi import Routes

routes = web.RouteTableDef()  # the pages
api = Routes()  # the reader's JSON call, in the portal's OpenAPI document
COOKIE = "comptoir_kiosk"
# The kiosk's page alone runs a script of ours and asks its state (a file, never inline).
KIOSK_CSP = "script-src 'self'; connect-src 'self'"
SETUP_ERRORS = {"unknown_kiosk": "This kiosk is not one of your shop's."}
KIOSK_ERRORS = {
    "wrong_code": "Wrong or expired code.",
    "unreachable": "The balance cannot be read just now: try again in a moment.",
}


async def _manager(request: web.Request) -> sessions.Session:
    return await w.signed_in_as(request, "manager")


async def _kiosk(request: web.Request) -> kiosk.Kiosk | None:
    return await kiosk.of_cookie(w.portal(request), w.read_cookie(request, COOKIE))


# --- the manager's set-up -----------------------------------------------------------------


@routes.get("/kiosk/setup")
async def setup_page(request: web.Request) -> web.Response:
    session = await _manager(request)
    found = await kiosk.listed(w.portal(request), session.principal)
    return w.render(request, "kiosk_setup.html", session, kiosks=found)


@routes.post("/kiosk/setup")
async def set_up(request: web.Request) -> web.Response:
    """This browser becomes the shop's kiosk: its cookie set, the reader's key shown once,
    and the manager signed out of it (the screen stands in the shop, in anyone's reach)."""
    session = await _manager(request)
    await w.form(request, session)
    made = await kiosk.set_up(w.portal(request), session.principal)
    await sessions.close(w.portal(request), session)
    response = w.render(request, "kiosk_key.html", key=made.key)
    w.drop_cookie(request, response, "comptoir")
    w.set_cookie(request, response, COOKIE, made.cookie, rules.COOKIE_MAX_AGE_S)
    return response


@routes.post("/kiosk/setup/{kiosk_id}/retire")
async def retire(request: web.Request) -> web.Response:
    session = await _manager(request)
    await w.form(request, session)
    try:
        kiosk_id = UUID(request.match_info["kiosk_id"])
        await kiosk.retire(w.portal(request), session.principal, kiosk_id)
    except (ValueError, Refused):
        found = await kiosk.listed(w.portal(request), session.principal)
        error = w.say(request, SETUP_ERRORS["unknown_kiosk"])
        return w.render(request, "kiosk_setup.html", session, status=404, kiosks=found, error=error)
    return w.redirect("/kiosk/setup")


# --- the kiosk's page ---------------------------------------------------------------------


def _page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    context.setdefault("screen", None)
    context.setdefault("since", "")
    context.setdefault("seconds", 0)
    context.setdefault("unset", False)
    response = w.render(
        request, "kiosk.html", status=status, money=euros(w.language(request)), **context
    )
    response["csp"] = KIOSK_CSP
    return response


@routes.get("/kiosk")
async def kiosk_page(request: web.Request) -> web.Response:
    k = await _kiosk(request)
    if k is None:
        return _page(request, status=403, unset=True)
    portal = w.portal(request)
    try:
        seen = await kiosk.screen(portal, k)
    except Refused:
        return _page(request, status=503, error=w.say(request, KIOSK_ERRORS["unreachable"]))
    if seen is None:
        return _page(request)
    since = await kiosk.shown_since(portal, k)
    seconds = max(1, math.ceil((seen.shown_until - clock.now()).total_seconds()))
    return _page(request, screen=seen, since=since.isoformat() if since else "", seconds=seconds)


@routes.post("/kiosk/code")
async def code_typed(request: web.Request) -> web.Response:
    k = await _kiosk(request)
    fields = await w.form(request, None)
    if k is None:
        return _page(request, status=403, unset=True)
    try:
        await kiosk.type_code(
            w.portal(request), k, fields.get("code", "")[:20], w.client_address(request)
        )
    except TooMany as exc:
        response = too_many(request, "kiosk.html", exc.retry_after, **_defaults(request))
        response["csp"] = KIOSK_CSP
        return response
    except Refused as exc:
        key = KIOSK_ERRORS.get(exc.reason, KIOSK_ERRORS["wrong_code"])
        return _page(request, status=422, error=w.say(request, key))
    return w.redirect("/kiosk")


def _defaults(request: web.Request) -> dict[str, object]:
    return {
        "screen": None,
        "since": "",
        "seconds": 0,
        "unset": False,
        "money": euros(w.language(request)),
    }


@routes.post("/kiosk/done")
async def done(request: web.Request) -> web.Response:
    """The customer has seen it: the waiting screen again, now."""
    k = await _kiosk(request)
    await w.form(request, None)
    if k is not None:
        await kiosk.clear(w.portal(request), k)
    return w.redirect("/kiosk")


@routes.get("/kiosk/state.json")
async def state(request: web.Request) -> web.Response:
    """What the page's script polls: since when the account on screen was presented (null
    when the kiosk waits). It names no one."""
    k = await _kiosk(request)
    if k is None:
        return json_response({"since": None}, 403)
    since = await kiosk.shown_since(w.portal(request), k)
    response = json_response({"since": since.isoformat() if since else None})
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/static/kiosk.js")
async def script(_: web.Request) -> web.Response:
    response = web.Response(
        body=(STATIC / "kiosk.js").read_bytes(),
        content_type="text/javascript",
        charset="utf-8",
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# --- the cardholder's code ----------------------------------------------------------------


@routes.get("/space/kiosk")
async def holder_code_page(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, "cardholder")
    return w.render(request, "space_kiosk.html", session, code=None)


@routes.post("/space/kiosk")
async def holder_code(request: web.Request) -> web.Response:
    """A new code, shown on this answer only (a reload asks another; the last one is void).
    Not a redirect: the database keeps the code's hash, never the code to show it again."""
    session = await w.signed_in_as(request, "cardholder")
    await w.form(request, session)
    code = await kiosk.new_code(w.portal(request), session.principal)
    minutes = int(rules.CODE_LIFETIME.total_seconds() // 60)
    return w.render(request, "space_kiosk.html", session, code=code, minutes=minutes)


# --- the reader's call --------------------------------------------------------------------


class CardIn(In):
    number: str = Field(min_length=8, max_length=40, description="the card's number, as read")


class Presented(BaseModel):
    shown: bool = True


@api.route(
    "POST",
    "/v1/kiosk/cards",
    summary="A card presented at a kiosk's reader: its balance shown on the kiosk's screen "
    "for a few seconds (bearer: the kiosk's reader key)",
    body=CardIn,
    returns=Presented,
    status=202,
    admin=False,
    bearer="kiosk_key",
    tag="kiosk",
)
async def card_presented(request: web.Request) -> web.Response:
    given = request.headers.get("Authorization", "")
    scheme, _, key = given.partition(" ")
    k = await kiosk.of_key(w.portal(request), key) if scheme.lower() == "bearer" else None
    if k is None:
        raise Problem(
            401, "Unauthorized", "unknown or retired kiosk key", reason="invalid_kiosk_key"
        )
    body = await read_model(request, CardIn)
    try:
        await kiosk.present_card(w.portal(request), k, body.number)
    except TooMany as exc:
        raise Problem(
            429,
            "Too many unknown cards",
            "this reader was given many unknown card numbers: it waits",
            reason="too_many_unknown_cards",
            retry_after=exc.retry_after,
        ) from exc
    except Refused as exc:
        titles = {404: "Unknown card", 422: "Not a card number", 503: "Unavailable"}
        raise Problem(exc.status, titles.get(exc.status, "Refused"), "", reason=exc.reason) from exc
    return json_response(Presented(), 202)
