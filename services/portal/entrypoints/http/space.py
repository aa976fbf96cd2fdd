"""The cardholder space's pages (HTML): the overview, a consent withdrawn or given (with its
SMS code), the data's download, the erasure request with its confirmation. Each handler
reads the form (same site, CSRF), asks service/space.py, and answers a page or a redirect."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from aiohttp import web

from services.portal.entrypoints import web as w
from services.portal.entrypoints.space_words import LABELS
from services.portal.entrypoints.words import translate
from services.portal.service import sessions, space
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

routes = web.RouteTableDef()
# What the page after a change says; the key rides in the path (it names no one).
DONE = {
    "withdrawn": "Consent withdrawn.",
    "email": "A link to confirm is on its way to your e-mail address.",
    "post": "Your consent to letters is recorded: it awaits confirmation.",
    "confirmed": "Consent confirmed.",
    "details": "Your details are saved.",
    "message": "Your message is sent to the shop.",
}


async def _holder(request: web.Request) -> Session:
    return await w.signed_in_as(request, "cardholder")


def euros(lang: str) -> Any:
    """Cents as the visitor reads money: 12,34 € in French, €12.34 in English."""

    def show(cents: int | None) -> str:
        if cents is None:
            return "—"
        sign = "−" if cents < 0 else ""
        whole, part = divmod(abs(cents), 100)
        return f"{sign}{whole},{part:02d} €" if lang == "fr" else f"{sign}€{whole}.{part:02d}"

    return show


def label(lang: str) -> Any:
    """A code's words: an entry's kind, a channel, a consent's status (the code itself when
    unknown, e.g. a kind added later)."""

    def show(kind: str, code: str) -> str:
        key = f"{kind}:{code}"
        return translate(LABELS[key], lang) if key in LABELS else code

    return show


def _refused(request: web.Request, session: Session, exc: Refused) -> web.Response:
    message = w.say(request, "The request was refused ({reason}).", reason=exc.reason)
    status = exc.status if 400 <= exc.status < 500 else 502
    return w.render(request, "space_done.html", session, status=status, message=message)


def _consent_id(request: web.Request) -> UUID:
    try:
        return UUID(request.match_info["consent_id"])
    except ValueError as exc:
        raise web.HTTPNotFound() from exc


@routes.get("/space")
async def overview(request: web.Request) -> web.Response:
    session = await _holder(request)
    seen = await space.overview(w.portal(request).services, session.principal)
    lang = w.language(request, session)
    return w.render(
        request,
        "space_home.html",
        session,
        o=seen,
        money=euros(lang),
        label=label(lang),
        channels=space.CHANNELS,
    )


@routes.post("/space/consents/{consent_id}/withdraw")
async def withdraw(request: web.Request) -> web.Response:
    session = await _holder(request)
    await w.form(request, session)
    try:
        await space.withdraw(w.portal(request).services, session.principal, _consent_id(request))
    except Refused as exc:
        return _refused(request, session, exc)
    return w.redirect("/space/done/withdrawn")


@routes.post("/space/consents")
async def give(request: web.Request) -> web.Response:
    session = await _holder(request)
    fields = await w.form(request, session)
    channel = fields.get("channel", "")
    if channel not in space.CHANNELS:
        raise web.HTTPNotFound()
    try:
        asked = await space.give(w.portal(request).services, session.principal, channel)
    except Refused as exc:
        return _refused(request, session, exc)
    if channel == "sms":  # double opt-in: the code the SMS brings is entered here
        return w.redirect(f"/space/consents/{asked['id']}/code")
    return w.redirect(f"/space/done/{channel}")


@routes.get("/space/consents/{consent_id}/code")
async def code_page(request: web.Request) -> web.Response:
    session = await _holder(request)
    return w.render(request, "space_code.html", session, consent_id=_consent_id(request))


@routes.post("/space/consents/{consent_id}/code")
async def confirm(request: web.Request) -> web.Response:
    session = await _holder(request)
    fields = await w.form(request, session)
    consent_id = _consent_id(request)
    try:
        await space.confirm(
            w.portal(request).services, session.principal, consent_id, fields.get("code", "")[:6]
        )
    except Refused:
        error = w.say(request, "Wrong or expired code.")
        return w.render(
            request, "space_code.html", session, status=422, consent_id=consent_id, error=error
        )
    return w.redirect("/space/done/confirmed")


@routes.get("/space/done/{what}")
async def done(request: web.Request) -> web.Response:
    session = await _holder(request)
    key = DONE.get(request.match_info["what"])
    if key is None:
        raise web.HTTPNotFound()
    return w.render(request, "space_done.html", session, message=w.say(request, key))


@routes.get("/space/data")
async def data_page(request: web.Request) -> web.Response:
    return w.render(request, "space_data.html", await _holder(request))


@routes.get("/space/data.{form:json|csv}")
async def download(request: web.Request) -> web.StreamResponse:
    """The file crm made, passed on: the account's id stays out of the portal's URLs."""
    session = await _holder(request)
    form: Literal["json", "csv"] = "csv" if request.match_info["form"] == "csv" else "json"
    try:
        body, content_type = await space.personal_data(
            w.portal(request).services, session.principal, form
        )
    except Refused as exc:
        return _refused(request, session, exc)
    response = web.Response(body=body, content_type=content_type)
    if form == "csv":
        response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="my-data.{form}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/space/erasure")
async def erasure_page(request: web.Request) -> web.Response:
    return w.render(request, "space_erasure.html", await _holder(request))


@routes.post("/space/erasure")
async def erase(request: web.Request) -> web.Response:
    session = await _holder(request)
    fields = await w.form(request, session)
    if fields.get("confirm") != "yes":  # the confirmation step: a box to tick
        error = w.say(request, "Tick the box to confirm.")
        return w.render(request, "space_erasure.html", session, status=422, error=error)
    try:
        await space.erase(w.portal(request).services, session.principal)
    except Refused as exc:
        return _refused(request, session, exc)
    await sessions.close(w.portal(request), session)  # nothing left to show: signed out
    response = w.render(request, "space_erased.html")
    w.drop_cookie(request, response, "comptoir")
    return response
