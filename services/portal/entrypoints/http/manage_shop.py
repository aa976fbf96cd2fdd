"""The back office's catalogue (issue 15, item 3, MANAGER): the merchant's product families
and rates, and its promotions (made under the form's id, so that a double submit makes one;
ended). cards decides what the manager reaches (their merchant's)."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from aiohttp import web

from services.portal.domain import manage as rules
from services.portal.entrypoints import web as w
from services.portal.entrypoints.http.manage_common import (
    acting,
    form_errors,
    identified,
    manager,
    page,
    refused,
)
from services.portal.entrypoints.manage_words import refusal
from services.portal.service import manage
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session
from shared import clock

routes = web.RouteTableDef()


# --- product families and rates ----------------------------------------------------------------


async def _families_page(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    portal, p = w.portal(request), acting(request)
    context.setdefault("errors", {})
    context.setdefault("form", {})
    try:
        shop = await manage.merchant(portal, p)
        families = await manage.families(portal, p)
    except Refused as exc:
        return refused(
            request, session, exc, "manage_families.html", shop=None, families=[], **context
        )
    return page(
        request,
        session,
        "manage_families.html",
        status,
        shop=shop,
        families=families,
        percent=rules.percent,
        **context,
    )


@routes.get("/manage/families")
async def families(request: web.Request) -> web.Response:
    session = await manager(request)
    return await _families_page(request, session)


@routes.post("/manage/families")
async def family_saved(request: web.Request) -> web.Response:
    session = await manager(request)
    fields = await w.form(request, session)
    form = {k: fields.get(k, "")[:200] for k in ("code", "label", "rate")}
    try:
        f = rules.family(fields)
        await manage.put_family(w.portal(request), acting(request), f.code, f.body)
    except rules.FormRefused as exc:
        error = refusal("invalid_form", 422, w.language(request, session))
        errors = form_errors(request, exc)
        return await _families_page(request, session, 422, errors=errors, error=error, form=form)
    except Refused as exc:
        error = refusal(exc.reason, exc.status, w.language(request, session))
        return await _families_page(request, session, exc.status, error=error, form=form)
    return w.redirect("/manage/families")


@routes.post("/manage/families/{code}/delete")
async def family_deleted(request: web.Request) -> web.Response:
    session = await manager(request)
    await w.form(request, session)
    code = request.match_info["code"]
    try:
        await manage.delete_family(w.portal(request), acting(request), code)
    except Refused as exc:
        if exc.status != 404:  # deleted already: a double submit
            error = refusal(exc.reason, exc.status, w.language(request, session))
            return await _families_page(request, session, exc.status, error=error)
    return w.redirect("/manage/families")


# --- promotions ------------------------------------------------------------------------------

PROMOTION_FIELDS = ("form_id", "name", "starts", "ends", "kind", "rate", "times", "family")


def _new_promotion() -> dict[str, str]:
    today = clock.today_paris().isoformat()
    return dict.fromkeys(PROMOTION_FIELDS, "") | {
        "form_id": str(uuid.uuid4()),
        "kind": "rate",
        "starts": today,
        "ends": today,
    }


async def _promotions_page(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    portal, p = w.portal(request), acting(request)
    context.setdefault("errors", {})
    context.setdefault("form", _new_promotion())
    try:
        mine, network = await manage.promotions(portal, p)
        families = await manage.families(portal, p)
    except Refused as exc:
        return refused(
            request,
            session,
            exc,
            "manage_promotions.html",
            mine=[],
            network=[],
            families=[],
            percent=rules.percent,
            **context,
        )
    return page(
        request,
        session,
        "manage_promotions.html",
        status,
        mine=mine,
        network=network,
        families=families,
        percent=rules.percent,
        **context,
    )


@routes.get("/manage/promotions")
async def promotions(request: web.Request) -> web.Response:
    session = await manager(request)
    return await _promotions_page(request, session)


@routes.post("/manage/promotions")
async def promotion_made(request: web.Request) -> web.Response:
    session = await manager(request)
    fields = await w.form(request, session)
    form = {k: fields.get(k, "")[:200] for k in PROMOTION_FIELDS}
    try:
        promotion_id = UUID(form["form_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    portal, p = w.portal(request), acting(request)
    try:
        known = {f["code"] for f in await manage.families(portal, p)}
        body = rules.promotion(form, known, str(p.merchant_id))
        await manage.put_promotion(portal, p, promotion_id, body)
    except rules.FormRefused as exc:
        error = refusal("invalid_form", 422, w.language(request, session))
        errors = form_errors(request, exc)
        return await _promotions_page(request, session, 422, errors=errors, error=error, form=form)
    except Refused as exc:
        error = refusal(exc.reason, exc.status, w.language(request, session))
        return await _promotions_page(request, session, exc.status, error=error, form=form)
    return w.redirect("/manage/promotions")


@routes.post("/manage/promotions/{promotion_id}/end")
async def promotion_ended(request: web.Request) -> web.Response:
    session = await manager(request)
    await w.form(request, session)
    try:
        await manage.end_promotion(
            w.portal(request), acting(request), identified(request, "promotion_id")
        )
    except Refused as exc:
        error = refusal(exc.reason, exc.status, w.language(request, session))
        return await _promotions_page(request, session, exc.status, error=error)
    return w.redirect("/manage/promotions")
