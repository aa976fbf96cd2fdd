"""The association back office's loyalty programmes (issue 15, item 3): the list, a new one
(cagnotte, points or stamps) under the id the form carries, one to change (its kind never
changes: cards keeps the units accounts hold meaning the same)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from services.portal.domain import association as a
from services.portal.domain.desk import cents
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
KINDS = ("cagnotte", "points", "stamps")


async def _programmes(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    try:
        found = await association.listing(services_of(request), session.principal, "programs")
    except Refused as exc:
        found = []
        context["error"] = context.get("error") or error_of(request, session, exc)
        status = exc.status
    context.setdefault("form", {})
    context.setdefault("new_id", str(uuid.uuid4()))  # the new programme's, chosen once
    return page(
        request, session, "association_programmes.html", status, programmes=found, kinds=KINDS,
        **context,
    )  # fmt: skip


@routes.get("/association/programmes")
async def programmes(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    notice = w.say(request, "Saved.") if request.query.get("saved") else None
    return await _programmes(request, session, notice=notice)


def _number(typed: str, low: int, high: int) -> int | None:
    text = typed.strip()
    return int(text) if text.isdigit() and low <= int(text) <= high else None


def _fields(request: web.Request, fields: dict[str, str]) -> dict[str, Any] | str:
    """The form as cards' body (its kind included), or what is wrong with it."""
    name, kind = fields.get("name", "").strip()[:200], fields.get("kind", "")
    if not name:
        return w.say(request, "A name is needed.")
    if kind not in KINDS:
        raise web.HTTPNotFound()
    threshold = _number(fields.get("visit_threshold", "") or "1", 1, 1_000)
    per_euro = _number(fields.get("points_per_euro", "") or "0", 0, 10_000)
    per_reward = _number(fields.get("units_per_reward", "") or "0", 0, 1_000_000)
    typed = fields.get("reward", "").strip()
    reward = cents(typed) if typed else 0
    if None in (threshold, per_euro, per_reward, reward):
        return w.say(request, "A count is a whole number; a reward, an amount such as 5,00.")
    if kind != "cagnotte" and not (per_reward and reward):
        return w.say(request, "Points and stamps need how many make a reward, and its amount.")
    return {
        "name": name,
        "kind": kind,
        "visit_threshold": threshold,
        "points_per_euro": per_euro if kind == "points" else 0,
        "units_per_reward": per_reward if kind != "cagnotte" else 0,
        "reward_cents": reward if kind != "cagnotte" else 0,
    }


@routes.post("/association/programmes")
async def add(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    pid = uuid_of(fields.get("programme_id", ""))
    body = _fields(request, fields)
    context = {"form": fields, "new_id": str(pid)}
    if isinstance(body, str):
        return await _programmes(request, session, 422, error=body, **context)
    try:
        await association.save_programme(services_of(request), session.principal, pid, body)
    except Refused as exc:
        error = error_of(request, session, exc)
        return await _programmes(request, session, exc.status, error=error, **context)
    return w.redirect("/association/programmes?saved=1")


async def _programme(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    pid = uuid_of(request.match_info["programme_id"])
    try:
        found = await association.programme(services_of(request), session.principal, pid)
    except Refused as exc:
        if exc.status in (403, 404):
            raise web.HTTPNotFound() from None
        raise
    lang = w.language(request, session)
    form = {
        "name": found["name"],
        "kind": found["kind"],
        "visit_threshold": str(found["visit_threshold"]),
        "points_per_euro": str(found["points_per_euro"]),
        "units_per_reward": str(found["units_per_reward"]),
        "reward": a.euros(found["reward_cents"], lang) if found["reward_cents"] else "",
    }
    context.setdefault("form", form)
    return page(
        request, session, "association_programme.html", status, programme=found, kinds=KINDS,
        **context,
    )  # fmt: skip


@routes.get("/association/programmes/{programme_id}")
async def programme(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    notice = w.say(request, "Saved.") if request.query.get("saved") else None
    return await _programme(request, session, notice=notice)


@routes.post("/association/programmes/{programme_id}")
async def edit(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    pid = uuid_of(request.match_info["programme_id"])
    body = _fields(request, fields)
    if isinstance(body, str):
        return await _programme(request, session, 422, error=body, form=fields)
    try:
        await association.save_programme(services_of(request), session.principal, pid, body)
    except Refused as exc:
        error = error_of(request, session, exc)
        return await _programme(request, session, exc.status, error=error, form=fields)
    return w.redirect(f"/association/programmes/{pid}?saved=1")
