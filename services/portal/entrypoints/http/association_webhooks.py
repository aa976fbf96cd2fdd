"""The association back office's webhooks (issue 15, item 3): the association's
subscriptions (subscribe, with the signing secret shown once; delete), and one
subscription's page: its delivery log (newest first: status, attempts, the last answer),
a delivered or failed delivery sent again, a new secret (shown once; the previous one still
signs for a while, docs/webhooks.md)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from services.portal.entrypoints import web as w
from services.portal.entrypoints.http.association import (
    ROLES,
    error_of,
    page,
    services_of,
    uuid_of,
)
from services.portal.service import association_webhooks as hooks
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

routes = web.RouteTableDef()
SUBSCRIPTION = "/association/webhooks/{subscription_id}"


# Webhooks.


async def _webhooks(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    try:
        found = await hooks.webhooks(services_of(request), session.principal)
    except Refused as exc:
        found = []
        context["error"] = context.get("error") or error_of(request, session, exc)
        status = exc.status
    context.setdefault("form", {})
    context.setdefault("created", None)
    context.setdefault("new_id", str(uuid.uuid4()))  # the new subscription's, chosen once
    return page(
        request,
        session,
        "association_webhooks.html",
        status,
        subscriptions=found,
        event_types=hooks.EVENT_TYPES,
        **context,
    )


@routes.get("/association/webhooks")
async def webhooks(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    notice = w.say(request, "Deleted.") if request.query.get("deleted") else None
    return await _webhooks(request, session, notice=notice)


@routes.post("/association/webhooks")
async def subscribe(request: web.Request) -> web.Response:
    """A new subscription; its page shows the signing secret this once (not a redirect:
    notifications shows it at creation only)."""
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    data = await request.post()  # read (and its CSRF checked) by w.form: the events' list
    events = [str(e) for e in data.getall("events", []) if e in hooks.EVENT_TYPES]
    url = fields.get("url", "").strip()[:2000]
    description = fields.get("description", "").strip()[:200] or None
    sid = uuid_of(fields.get("subscription_id", ""))
    form = {"url": url, "description": description or "", "events": events}
    if not events:
        error = w.say(request, "Choose at least one event.")
        return await _webhooks(request, session, 422, error=error, form=form, new_id=str(sid))
    try:
        created = await hooks.subscribe(
            services_of(request), session.principal, sid, url, events, description
        )
    except Refused as exc:
        response = await _webhooks(
            request, session, exc.status, error=error_of(request, session, exc), form=form,
            new_id=str(sid),
        )  # fmt: skip
        response.headers["X-Problem-Reason"] = exc.reason
        return response
    return await _webhooks(request, session, 201, created=created)


@routes.post("/association/webhooks/{subscription_id}/delete")
async def unsubscribe(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    await w.form(request, session)
    sid = uuid_of(request.match_info["subscription_id"])
    try:
        await hooks.unsubscribe(services_of(request), session.principal, sid)
    except Refused as exc:
        return await _webhooks(request, session, exc.status, error=error_of(request, session, exc))
    return w.redirect("/association/webhooks?deleted=1")


async def _subscription(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    services, p = services_of(request), session.principal
    sid = uuid_of(request.match_info["subscription_id"])
    try:
        found = await hooks.webhook(services, p, sid)
        log = await hooks.deliveries(services, p, sid)
    except Refused as exc:
        if exc.status in (403, 404):
            raise web.HTTPNotFound() from None
        raise
    context.setdefault("rotated", None)
    return page(
        request, session, "association_webhook.html", status, subscription=found,
        deliveries=log, **context,
    )  # fmt: skip


@routes.get(SUBSCRIPTION)
async def subscription(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    notice = w.say(request, "Sent again.") if request.query.get("replayed") else None
    return await _subscription(request, session, notice=notice)


@routes.post(SUBSCRIPTION + "/deliveries/{delivery_id}/replay")
async def replay(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    await w.form(request, session)
    sid = uuid_of(request.match_info["subscription_id"])
    delivery = uuid_of(request.match_info["delivery_id"])
    try:
        await hooks.replay(services_of(request), session.principal, delivery)
    except Refused as exc:
        error = error_of(request, session, exc)
        return await _subscription(request, session, exc.status, error=error)
    return w.redirect(f"/association/webhooks/{sid}?replayed=1")


@routes.post(SUBSCRIPTION + "/rotate-secret")
async def rotate(request: web.Request) -> web.Response:
    """A new secret, shown on this answer only (notifications shows it once)."""
    session = await w.signed_in_as(request, *ROLES)
    await w.form(request, session)
    sid = uuid_of(request.match_info["subscription_id"])
    try:
        rotated = await hooks.rotate(services_of(request), session.principal, sid)
    except Refused as exc:
        error = error_of(request, session, exc)
        return await _subscription(request, session, exc.status, error=error)
    return await _subscription(request, session, rotated=rotated)
