"""The association back office's pages (issue 15, item 3), for an association's administrator
(its treasurer): the books (periods, the close of a month after a confirmation, each month's
statements and settlement, its SEPA files streamed through, the reconciliation), the
quarantine of offline card transactions to approve or reject, the merchants, programmes, card
types and partners, and the webhooks; the network statistics are the dashboard's.

Every change is a POST with the CSRF token, then a redirect (POST-redirect-GET), except the
new webhook's page, which shows its secret once. A retry does nothing twice: a month closed
already shows what its close wrote, a transaction decided already says so, a merchant is
a PUT under an id the form carries. Only months, opaque ids and status words ride in URLs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from aiohttp import web

from services.portal.adapters.services import Services
from services.portal.domain import association as a
from services.portal.domain.desk import money
from services.portal.entrypoints import web as w
from services.portal.entrypoints.association_words import refusal
from services.portal.entrypoints.words import translate
from services.portal.service import association, people
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

routes = web.RouteTableDef()
ROLES = association.ASSOCIATION_ROLES
PERIOD = "/association/periods/{period:[0-9]{4}-[0-9]{2}}"
STATUSES = ("held", "approved", "rejected")


def services_of(request: web.Request) -> Services:
    return w.portal(request).services


def page(
    request: web.Request, session: Session, template: str, status: int = 200, **context: Any
) -> web.Response:
    lang = w.language(request, session)
    context.setdefault("notice", None)
    return w.render(
        request,
        template,
        session,
        status,
        money=lambda c: money(int(c or 0), lang),
        month=lambda p: a.month_written(str(p), lang),
        percent=lambda v: a.percent(v, lang),
        **context,
    )


def error_of(request: web.Request, session: Session, exc: Refused) -> str:
    return refusal(exc.reason, exc.status, w.language(request, session))


async def who_says(
    request: web.Request, session: Session, actors: Iterable[str | None]
) -> Callable[[str | None], str]:
    """What says who each actor is on a page (``who`` in its template): the person's name,
    "you", a service or a machine in words; never the actor as recorded."""
    found = list(actors)
    known = await people.known(w.portal(request), found)
    lang, p = w.language(request, session), session.principal

    def say(actor: str | None) -> str:
        key, name = a.who(actor, p.actor, p.association_id, known)
        return translate(key, lang, name=name)

    return say


def refused_page(
    request: web.Request, session: Session, exc: Refused, template: str, **context: Any
) -> web.Response:
    """A service's refusal as the page with one clear sentence, its status and reason."""
    response = page(
        request, session, template, exc.status, error=error_of(request, session, exc), **context
    )
    response.headers["X-Problem-Reason"] = exc.reason
    return response


def _period(request: web.Request) -> str:
    found = a.month(request.match_info["period"])
    if found is None:
        raise web.HTTPNotFound()
    return found


def uuid_of(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise web.HTTPNotFound() from None


# The books.


async def _home(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    try:
        books = await association.periods(services_of(request), session.principal)
    except Refused as exc:
        books = {"closes": [], "closed_through": None, "open_from": None}
        context.setdefault("error", error_of(request, session, exc))
    context.setdefault("typed", "")
    who = await who_says(request, session, (c.get("closed_by") for c in books["closes"]))
    return page(request, session, "association_home.html", status, books=books, who=who, **context)


@routes.get("/association")
async def home(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    return await _home(request, session)


@routes.get("/association/close")
async def close_confirm(request: web.Request) -> web.Response:
    """The confirmation step: what closing the month does, and its statements so far."""
    session = await w.signed_in_as(request, *ROLES)
    typed = request.query.get("period", "")
    period = a.month(typed)
    if period is None:
        error = w.say(request, "Type a month such as 2026-10.")
        return await _home(request, session, 422, error=error, typed=typed[:7])
    try:
        found = await association.statements(services_of(request), session.principal, period)
    except Refused as exc:
        return await _home(request, session, exc.status, error=error_of(request, session, exc))
    return page(request, session, "association_close.html", period=period, statements=found)


@routes.post("/association/close")
async def close(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    period = a.month(fields.get("period", ""))
    if period is None:
        raise web.HTTPNotFound()
    try:
        done = await association.close(services_of(request), session.principal, period)
    except Refused as exc:
        if exc.reason == "period_closed":  # a retry, a second click: what the close wrote
            return w.redirect(f"/association/periods/{period}?already=1")
        response = await _home(
            request, session, exc.status, error=error_of(request, session, exc), typed=period
        )
        response.headers["X-Problem-Reason"] = exc.reason
        return response
    closed = ",".join(done["periods"])
    return w.redirect(
        f"/association/periods/{period}?closed={closed}"
        f"&statements={int(done['statements'])}&shares={int(done['partner_shares'])}"
    )


def _written(request: web.Request, session: Session, period: str) -> str | None:
    """What the close just wrote (from the redirect's query), or that it was written before."""
    q, lang = request.query, w.language(request, session)
    if q.get("already"):
        return w.say(request, "{period} was closed already: here is what was written.",
                     period=a.month_written(period, lang))  # fmt: skip
    closed = [m for m in q.get("closed", "").split(",") if a.month(m)]
    if not closed:
        return None
    return w.say(
        request,
        "Closed: {periods}. Written: {statements} statement(s), {shares} partner share(s) and "
        "the settlement below.",
        periods=", ".join(a.month_written(m, lang) for m in closed),
        statements=_count(q.get("statements", "")),
        shares=_count(q.get("shares", "")),
    )


def _count(typed: str) -> int:
    return int(typed) if typed.isdigit() and len(typed) < 7 else 0


async def month_page(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    """The month's page (``PERIOD``): its statements and, once closed, its settlement."""
    period = _period(request)
    services, p = services_of(request), session.principal
    context.update(period=period, statements=[], settlement=None)
    try:
        context["statements"] = await association.statements(services, p, period)
        context["settlement"] = await association.settlement(services, p, period)
        context["merchants"] = await association.merchants(services, p)
        context["partners"] = await association.listing(services, p, "partners")
    except Refused as exc:
        context.setdefault("merchants", [])
        context.setdefault("partners", [])
        return refused_page(request, session, exc, "association_period.html", **context)
    context.setdefault("new_adjustment", str(uuid.uuid4()))  # the form's id, chosen once
    return page(request, session, "association_period.html", status, **context)


@routes.get(PERIOD)
async def period_page(request: web.Request) -> web.Response:
    """A month: every merchant's statement and, once closed, the settlement and its files."""
    session = await w.signed_in_as(request, *ROLES)
    notice = _written(request, session, _period(request))
    booked = a.month(request.query.get("adjusted", ""))
    if booked is not None:
        lang = w.language(request, session)
        notice = w.say(request, "The adjustment is booked in {month}, with the month it corrects.",
                       month=a.month_written(booked, lang))  # fmt: skip
    return await month_page(request, session, notice=notice)


@routes.post(PERIOD + "/files/{kind}")
async def settlement_file(request: web.Request) -> web.StreamResponse:
    """A SEPA file of the month's settlement, streamed on as clearing sends it, under a name
    that says what and when (pain008-2026-10.xml)."""
    session = await w.signed_in_as(request, *ROLES)
    await w.form(request, session)
    period, kind = _period(request), request.match_info["kind"]
    if kind not in association.FILES:
        raise web.HTTPNotFound()
    services, p = services_of(request), session.principal
    started = False
    try:
        async with association.settlement_file(services, p, period, kind) as answer:
            started = True
            name = f"{'pain008' if kind == 'direct-debit' else 'pain001'}-{period}.xml"
            return await w.relay(request, answer, "application/xml", name)
    except Refused as exc:
        if started:  # clearing failed half-way: the download breaks off, the browser says so
            raise
        return await month_page(request, session, exc.status, error=error_of(request, session, exc))


@routes.get("/association/reconciliation")
async def reconciliation(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    try:
        last = await association.reconciliation(services_of(request), session.principal)
    except Refused as exc:
        return refused_page(request, session, exc, "association_reconciliation.html", last=None)
    notice = w.say(request, "The reconciliation ran.") if request.query.get("ran") else None
    return page(request, session, "association_reconciliation.html", last=last, notice=notice)


@routes.post("/association/reconciliation")
async def reconcile(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    await w.form(request, session)
    try:
        await association.reconcile(services_of(request), session.principal)
    except Refused as exc:
        return refused_page(request, session, exc, "association_reconciliation.html", last=None)
    return w.redirect("/association/reconciliation?ran=1")


# The quarantine.

_DONE = {
    "approved": "Approved: the transaction is booked.",
    "rejected": "Rejected: nothing is booked.",
    "already": "This transaction was decided already: nothing was done again.",
}


async def _quarantine(
    request: web.Request, session: Session, status: str, code: int = 200, **context: Any
) -> web.Response:
    typed = request.query.get("before", "") if request.method == "GET" else ""
    before = int(typed) if typed.isdigit() and 0 < len(typed) < 19 else None
    following = None
    try:
        lines, following = await association.quarantine(
            services_of(request), session.principal, status, before
        )
    except Refused as exc:
        lines = []
        context["error"] = context.get("error") or error_of(request, session, exc)
        code = exc.status
    who = await who_says(request, session, (line.get("decided_by") for line in lines))
    return page(
        request,
        session,
        "association_quarantine.html",
        code,
        who=who,
        lines=lines,
        following=following,
        shown=status,
        statuses=STATUSES,
        **context,
    )


@routes.get("/association/quarantine")
async def quarantine(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *ROLES)
    status = request.query.get("status", "held")
    if status not in STATUSES:
        raise web.HTTPNotFound()
    done = _DONE.get(request.query.get("done", ""))
    return await _quarantine(
        request, session, status, notice=w.say(request, done) if done else None
    )


@routes.post("/association/quarantine/{id:[0-9]{1,18}}/{decision:approve|reject}")
async def decide(request: web.Request) -> web.Response:
    """Approve (book) or reject a held line; cards records the signed-in person as who
    decided. A second POST of the same form finds it decided and says so."""
    session = await w.signed_in_as(request, *ROLES)
    fields = await w.form(request, session)
    line_id, decision = int(request.match_info["id"]), request.match_info["decision"]
    reason = fields.get("reason", "").strip()[:1000]
    if len(reason) < 5:
        error = w.say(request, "Give a reason of at least 5 characters.")
        return await _quarantine(request, session, "held", 422, error=error)
    try:
        done = await association.decide(
            services_of(request),
            session.principal,
            line_id,
            "approve" if decision == "approve" else "reject",
            reason,
            card_at_fault=fields.get("card_at_fault") == "yes",
        )
    except Refused as exc:
        response = await _quarantine(
            request, session, "held", exc.status, error=error_of(request, session, exc)
        )
        response.headers["X-Problem-Reason"] = exc.reason
        return response
    outcome = ("approved" if decision == "approve" else "rejected") if done else "already"
    return w.redirect(f"/association/quarantine?done={outcome}")
