"""The cardholder's sign-in pages: receive a code (by e-mail or SMS), then enter it."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from services.portal.entrypoints import web as w
from services.portal.entrypoints.http.pages import signed_in, too_many
from services.portal.service import holders
from services.portal.service.people import TooMany

routes = web.RouteTableDef()


def _association(request: web.Request) -> UUID:
    try:
        return UUID(request.match_info["association_id"])
    except ValueError as exc:
        raise web.HTTPNotFound() from exc


@routes.get("/holder/{association_id}")
async def code_page(request: web.Request) -> web.Response:
    return w.render(request, "holder_start.html", association_id=_association(request), error=None)


@routes.post("/holder/{association_id}")
async def send_code(request: web.Request) -> web.Response:
    association_id = _association(request)
    fields = await w.form(request, None)
    address = holders.parse_address(fields.get("address", "")[:254])
    lang = w.language(request)
    if address is None:
        error = w.say(request, "This is neither an e-mail address nor a mobile number.")
        return w.render(
            request, "holder_start.html", status=422, association_id=association_id, error=error
        )
    try:
        challenge = await holders.send_code(
            w.portal(request), association_id, address, lang, w.client_address(request)
        )
    except TooMany as exc:
        return too_many(
            request, "holder_start.html", exc.retry_after, association_id=association_id
        )
    response = w.redirect("/holder-code")
    # The challenge rides in a cookie, not the URL; it names no one.
    w.set_cookie(
        request, response, "comptoir_code", str(challenge), w.portal(request).settings.holder_code_s
    )
    return response


@routes.get("/holder-code")
async def enter_page(request: web.Request) -> web.Response:
    return w.render(request, "holder_code.html", error=None)


@routes.post("/holder-code")
async def enter_code(request: web.Request) -> web.Response:
    fields = await w.form(request, None)
    raw = w.read_cookie(request, "comptoir_code") or ""
    lang = w.language(request)
    wrong = w.say(request, "Wrong or expired code.")
    try:
        challenge = UUID(raw)
    except ValueError:
        return w.render(request, "holder_code.html", status=401, error=wrong)
    try:
        signed = await holders.check_code(
            w.portal(request),
            challenge,
            fields.get("code", "")[:12],
            w.client_address(request),
            lang,
        )
    except TooMany as exc:
        return too_many(request, "holder_code.html", exc.retry_after)
    if signed is None:
        return w.render(request, "holder_code.html", status=401, error=wrong)
    response = signed_in(request, signed, "/space")
    w.drop_cookie(request, response, "comptoir_code")
    return response
