"""The merchant's back office (issue 15, item 3, MANAGER): its home, linking the dashboard and
each page; the campaigns (composed, their segment's size previewed, sent once, their results).
Ids in URLs are opaque (a campaign's); what a manager types travels in POST bodies. Each form
carries its own id where posting it twice could do a thing twice (a campaign: the form's id is
the campaign's, so a double submit is the same campaign, sent once). The catalogue's pages are
manage_shop.py's, the records' manage_file.py's; ``ROUTES`` mounts them all."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any
from uuid import UUID

from aiohttp import web

from services.portal.domain import manage as rules
from services.portal.entrypoints import web as w
from services.portal.entrypoints.http import manage_file, manage_shop
from services.portal.entrypoints.http.manage_common import (
    HOME,
    SHOP_COOKIE,
    acting,
    form_errors,
    identified,
    manager,
    page,
    refused,
)
from services.portal.entrypoints.manage_words import refusal
from services.portal.service import dashboard, manage
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session
from shared import clock

routes = web.RouteTableDef()
CAMPAIGN = "/manage/campaigns/{campaign_id}"


@routes.get("/manage")
async def home(request: web.Request) -> web.Response:
    """The back office's pages; an administrator first chooses which merchant's."""
    session = await manager(request)
    p, found = session.principal, request.get("acting")
    admin = p.role == "association_admin"
    choices = await dashboard.merchants(w.portal(request).services, p) if admin else []
    chosen = str(found.merchant_id) if found is not None else ""
    return page(request, session, "manage_home.html", merchants=choices, chosen=chosen)


@routes.post("/manage/shop")
async def choose(request: web.Request) -> web.Response:
    """An administrator's choice of merchant, kept in a cookie (an opaque id) for the back
    office's pages; each page checks with cards that it is one of their association's."""
    session = await w.signed_in_as(request, "association_admin")
    fields = await w.form(request, session)
    try:
        chosen = UUID(fields.get("merchant", ""))
    except ValueError:
        raise web.HTTPNotFound() from None
    response = w.redirect(HOME)
    w.set_cookie(request, response, SHOP_COOKIE, str(chosen), 12 * 3600)
    return response


# --- campaigns ---------------------------------------------------------------------------------


@routes.get("/manage/campaigns")
async def campaigns(request: web.Request) -> web.Response:
    session = await manager(request)
    portal = w.portal(request)
    try:
        found = await manage.campaigns(portal, acting(request))
    except Refused as exc:
        return refused(request, session, exc, "manage_campaigns.html", campaigns=[])
    return page(request, session, "manage_campaigns.html", campaigns=found)


async def _compose(
    request: web.Request,
    session: Session,
    form: dict[str, str],
    status: int = 200,
    **context: Any,
) -> web.Response:
    try:
        families = await manage.families(w.portal(request), acting(request))
    except Refused:
        families = []  # the form still works without the family filter
    context.setdefault("errors", {})
    context.setdefault("size", None)
    return page(
        request,
        session,
        "manage_campaign_new.html",
        status,
        form=form,
        families=families,
        **context,
    )


@routes.get("/manage/campaigns/new")
async def compose(request: web.Request) -> web.Response:
    session = await manager(request)
    form = dict.fromkeys(rules.FIELDS, "") | {
        "form_id": str(uuid.uuid4()),
        "channel": "email",
        "template": "quick_news",
        "when": "now",
    }
    return await _compose(request, session, form)


@routes.post("/manage/campaigns/new")
async def composed(request: web.Request) -> web.Response:
    """The compose form's three buttons: preview the segment's size, save a draft (never
    scheduled), send (now; or at the day and time chosen, "send later": crm's campaign job
    sends it then)."""
    session = await manager(request)
    fields = await w.form(request, session)
    form = {k: fields.get(k, "")[:2000] for k in rules.FIELDS}
    action = fields.get("action", "preview")
    try:
        campaign_id = UUID(form["form_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    portal, p = w.portal(request), acting(request)
    try:
        known = {f["code"] for f in await manage.families(portal, p)}
    except Refused:
        known = set()
    try:
        c = rules.campaign(form, known, clock.now())
    except rules.FormRefused as exc:
        lang = w.language(request, session)
        errors = form_errors(request, exc)
        error = refusal("invalid_form", 422, lang)
        return await _compose(request, session, form, 422, errors=errors, error=error)
    try:
        if action == "preview":
            size = await manage.preview(portal, p, c)
            return await _compose(request, session, form, size=size)
        if action not in ("save", "send"):
            raise web.HTTPNotFound()
        if action == "save":  # a draft is not scheduled: it goes when sent or scheduled
            c = replace(c, send_at=None)
        await manage.save(portal, p, campaign_id, c)
        if action == "send" and c.monthly_day is None and c.send_at is None:
            # a monthly one goes on its day, a scheduled one at its time
            await manage.send(portal, p, campaign_id)
    except Refused as exc:
        if exc.reason in ("campaign_sent", "campaign_cancelled"):  # posted already: see it
            return w.redirect(f"/manage/campaigns/{campaign_id}")
        error = refusal(exc.reason, exc.status, w.language(request, session))
        response = await _compose(request, session, form, exc.status, error=error)
        response.headers["X-Problem-Reason"] = exc.reason
        return response
    return w.redirect(f"/manage/campaigns/{campaign_id}")


async def _campaign_page(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    try:
        report = await manage.campaign(
            w.portal(request), acting(request), identified(request, "campaign_id")
        )
    except Refused as exc:
        return refused(request, session, exc, "manage_campaign.html", report=None)
    send_date, send_time = rules.paris_parts(report.send_at)
    context.setdefault("form", {"send_date": send_date, "send_time": send_time})
    context.setdefault("errors", {})
    return page(request, session, "manage_campaign.html", status, report=report, **context)


@routes.get(CAMPAIGN)
async def campaign(request: web.Request) -> web.Response:
    session = await manager(request)
    return await _campaign_page(request, session)


@routes.post(CAMPAIGN + "/send")
async def send(request: web.Request) -> web.Response:
    """A draft sent (once: crm sends nothing more when asked again)."""
    session = await manager(request)
    await w.form(request, session)
    try:
        await manage.send(w.portal(request), acting(request), identified(request, "campaign_id"))
    except Refused as exc:
        error = refusal(exc.reason, exc.status, w.language(request, session))
        return await _campaign_page(request, session, exc.status, error=error)
    return w.redirect(f"/manage/campaigns/{request.match_info['campaign_id']}")


@routes.post(CAMPAIGN + "/send-at")
async def send_at(request: web.Request) -> web.Response:
    """A campaign not yet sent scheduled, or re-timed, for a day and time in Paris (to come,
    within a year); posted twice, the same time: nothing more changes."""
    session = await manager(request)
    fields = await w.form(request, session)
    form = {k: fields.get(k, "")[:20] for k in ("send_date", "send_time")}
    campaign_id = identified(request, "campaign_id")
    lang = w.language(request, session)
    instant = rules.paris_instant(form["send_date"], form["send_time"], clock.now())
    if isinstance(instant, str):
        errors = {"send_date": w.say(request, instant)}
        error = refusal("invalid_form", 422, lang)
        return await _campaign_page(request, session, 422, error=error, errors=errors, form=form)
    try:
        await manage.retime(w.portal(request), acting(request), campaign_id, instant)
    except Refused as exc:
        error = refusal(exc.reason, exc.status, lang)
        return await _campaign_page(request, session, exc.status, error=error, form=form)
    return w.redirect(f"/manage/campaigns/{campaign_id}")


@routes.post(CAMPAIGN + "/cancel")
async def cancel(request: web.Request) -> web.Response:
    """A scheduled campaign cancelled: it never goes (posted twice: once)."""
    session = await manager(request)
    await w.form(request, session)
    campaign_id = identified(request, "campaign_id")
    try:
        await manage.cancel(w.portal(request), acting(request), campaign_id)
    except Refused as exc:
        error = refusal(exc.reason, exc.status, w.language(request, session))
        return await _campaign_page(request, session, exc.status, error=error)
    return w.redirect(f"/manage/campaigns/{campaign_id}")


# Every back-office route, for app.py to mount.
ROUTES = [*routes, *manage_shop.routes, *manage_file.routes]
