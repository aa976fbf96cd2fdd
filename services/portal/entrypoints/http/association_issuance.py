"""The association back office's issuance pages (issue 15, item 3): a batch of cards for the
printer and a batch of gift vouchers, each made under an id the form carries (a retry, a
refresh, answers the same batch: nothing is issued twice), and its CSV (the printer's lines,
the vouchers' codes) streamed through from cards. The card batches made before are listed
(newest first, 50 a page) with their file's button: a batch's file can be printed again."""

from __future__ import annotations

import uuid
from datetime import datetime, time
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
from services.portal.service import association, association_lists
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session
from shared import clock

routes = web.RouteTableDef()
MAX_BATCH = 10_000


async def _issuance(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    """The page: the two forms (each with a new batch id), what was just made, if anything."""
    before = _before(request.query.get("before", ""))
    try:
        types = await association.listing(services_of(request), session.principal, "card-types")
        batches = await association_lists.card_batches(
            services_of(request), session.principal, before
        )
    except Refused as exc:
        types, batches = [], []
        context["error"] = context.get("error") or error_of(request, session, exc)
    names = {str(c["id"]): str(c["name"]) for c in types}
    for b in batches:
        b["card_type"] = names.get(str(b["card_type_id"]), "—")
    older = batches[-1]["created_at"] if len(batches) == association_lists.BATCHES_PAGE else None
    context.setdefault("card_batch", None)
    context.setdefault("vouchers", None)
    context.setdefault("form", {})
    return page(
        request,
        session,
        "association_issuance.html",
        status,
        card_types=types,
        reasons=association.VOUCHER_REASONS,
        batches=batches,
        older=older,
        new_card_batch=str(uuid.uuid4()),
        new_voucher_batch=str(uuid.uuid4()),
        **context,
    )


def _before(typed: str) -> str | None:
    """The next page's cursor (a batch's creation time, as cards wrote it), or None."""
    try:
        return datetime.fromisoformat(typed).isoformat() if 0 < len(typed) < 40 else None
    except ValueError:
        return None


def _size(typed: str) -> int | None:
    return int(typed) if typed.isdigit() and 1 <= int(typed) <= MAX_BATCH else None


@routes.get("/association/issuance")
async def issuance(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    return await _issuance(request, session)


@routes.post("/association/card-batches")
async def card_batch(request: web.Request) -> web.Response:
    """The batch is shown on this POST's answer with its file's button: made under the
    form's id, so the same form again answers the same batch."""
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    batch_id = uuid_of(fields.get("batch_id", ""))
    size = _size(fields.get("size", ""))
    card_type = fields.get("card_type_id", "")
    if size is None:
        error = w.say(request, "A batch has 1 to {n} cards.", n=MAX_BATCH)
        return await _issuance(request, session, 422, error=error)
    try:
        made = await association.card_batch(
            services_of(request),
            session.principal,
            batch_id,
            uuid_of(card_type) if card_type else None,
            size,
        )
    except Refused as exc:
        return await _issuance(request, session, exc.status, error=error_of(request, session, exc))
    return await _issuance(request, session, 201, card_batch=made)


@routes.post("/association/voucher-batches")
async def voucher_batch(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    batch_id = uuid_of(fields.get("batch_id", ""))
    size, value = _size(fields.get("size", "")), cents(fields.get("value", ""))
    until, reason = a.day(fields.get("expires_on", "")), fields.get("reason", "")
    wrong = None
    if size is None:
        wrong = w.say(request, "A batch has 1 to {n} vouchers.", n=MAX_BATCH)
    elif value is None:
        wrong = w.say(request, "The amount is not a price: for example 12,50.")
    elif until is None or until <= clock.today_paris():
        wrong = w.say(request, "The vouchers expire on a day to come.")
    elif reason not in association.VOUCHER_REASONS:
        raise web.HTTPNotFound()
    if wrong is not None or until is None:
        return await _issuance(request, session, 422, error=wrong, form=fields)
    terms = {
        "reason": reason,
        "value_cents": value,
        "size": size,
        # The end of that day in Paris: a voucher is good all its last day.
        "expires_at": datetime.combine(until, time(23, 59, 59), clock.PARIS).isoformat(),
    }
    try:
        await association.voucher_batch(services_of(request), session.principal, batch_id, terms)
    except Refused as exc:
        error = error_of(request, session, exc)
        return await _issuance(request, session, exc.status, error=error, form=fields)
    return w.redirect(f"/association/voucher-batches/{batch_id}")


@routes.get("/association/voucher-batches/{batch_id}")
async def voucher_batch_page(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    batch_id = uuid_of(request.match_info["batch_id"])
    try:
        found = await association.voucher_batch_of(
            services_of(request), session.principal, batch_id
        )
    except Refused as exc:
        if exc.status in (403, 404):
            raise web.HTTPNotFound() from None
        raise
    return await _issuance(request, session, vouchers=found)


@routes.post("/association/{kind:cards|vouchers}/{batch_id}.csv")
async def batch_csv(request: web.Request) -> web.StreamResponse:
    """The batch's CSV, streamed on as cards writes it, under cards' name for it."""
    session = await w.signed_in_as(request, *ROLES)
    await w.form(request, session)
    kind, batch_id = request.match_info["kind"], uuid_of(request.match_info["batch_id"])
    started = False
    try:
        async with association.batch_csv(
            services_of(request), session.principal, kind, batch_id
        ) as answer:
            started = True
            return await w.relay(request, answer, "text/csv", f"{kind}-{batch_id}.csv")
    except Refused as exc:
        if started:
            raise
        if exc.status in (403, 404):
            raise web.HTTPNotFound() from None
        return await _issuance(request, session, exc.status, error=error_of(request, session, exc))
