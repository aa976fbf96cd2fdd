"""The back office's records (issue 15, item 3, MANAGER): the merchant's customer file (its
"à remplir" flags, one customer's file, a dated note), its statements (a month's, its files
streamed on), its staff (the portal's people) and its terminals."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web

from services.portal.adapters.services import Service
from services.portal.domain import manage as rules
from services.portal.domain.people import Scope
from services.portal.entrypoints import web as w
from services.portal.entrypoints.http.manage_common import (
    EMAIL,
    acting,
    form_errors,
    identified,
    manager,
    page,
    refused,
)
from services.portal.entrypoints.manage_words import refusal
from services.portal.service import manage, people
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session
from shared import clock
from shared.http import Problem

routes = web.RouteTableDef()


# --- the customer file ------------------------------------------------------------------------


@routes.get("/manage/customers")
async def customers(request: web.Request) -> web.Response:
    session = await manager(request)
    after_text = request.query.get("after", "")
    try:
        after = UUID(after_text) if after_text else None
    except ValueError:
        raise web.HTTPNotFound() from None
    try:
        files, next_after = await manage.members(w.portal(request), acting(request), after)
    except Refused as exc:
        return refused(
            request, session, exc, "manage_customers.html", files=[], next_after=None, term=""
        )
    return page(
        request, session, "manage_customers.html", files=files, next_after=next_after, term=""
    )


@routes.post("/manage/customers/find")
async def customers_found(request: web.Request) -> web.Response:
    """A search by name: the words travel in the POST body, never in a URL."""
    session = await manager(request)
    term = " ".join((await w.form(request, session)).get("term", "").split())[:120]
    context: dict[str, Any] = {"term": term, "next_after": None, "searched": True}
    if len(term) < 2:
        error = w.say(request, "Type at least two letters of a name.")
        return page(
            request, session, "manage_customers.html", 422, error=error, files=[], **context
        )
    try:
        files = await manage.find(w.portal(request), acting(request), term)
    except Refused as exc:
        return refused(request, session, exc, "manage_customers.html", files=[], **context)
    return page(request, session, "manage_customers.html", files=files, **context)


@routes.post("/manage/customers/export")
async def customers_export(request: web.Request) -> web.StreamResponse:
    """The merchant's file (crm's CSV or Excel workbook), streamed on as crm writes it."""
    session = await manager(request)
    fmt = (await w.form(request, session)).get("format", "")
    if fmt not in ("csv", "xlsx"):
        raise web.HTTPNotFound()
    try:
        path = await manage.file_export_path(w.portal(request), acting(request), fmt)
    except Refused as exc:
        context: dict[str, Any] = {"files": [], "next_after": None, "term": ""}
        return refused(request, session, exc, "manage_customers.html", **context)
    context = {"files": [], "next_after": None, "term": ""}
    return await _relay(
        request, session, path, f"clients.{fmt}", "crm", "manage_customers.html", context
    )


async def _customer_page(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    context.setdefault("errors", {})
    try:
        file = await manage.customer(
            w.portal(request), acting(request), identified(request, "account_id")
        )
    except Refused as exc:
        return refused(request, session, exc, "manage_customer.html", file=None, **context)
    return page(request, session, "manage_customer.html", status, file=file, **context)


@routes.get("/manage/customers/{account_id}")
async def customer(request: web.Request) -> web.Response:
    session = await manager(request)
    return await _customer_page(request, session)


@routes.post("/manage/customers/{account_id}/notes")
async def note_added(request: web.Request) -> web.Response:
    """A dated note added to the file (the same note posted twice the same day: once)."""
    session = await manager(request)
    text = (await w.form(request, session)).get("note", "")
    portal, p = w.portal(request), acting(request)
    account_id = identified(request, "account_id")
    try:
        file = await manage.customer(portal, p, account_id)
        notes = rules.with_note(file.get("notes"), clock.today_paris(), text)
        if notes != (file.get("notes") or ""):
            await manage.save_notes(portal, p, account_id, notes)
    except rules.FormRefused as exc:
        error = refusal("invalid_form", 422, w.language(request, session))
        errors = form_errors(request, exc)
        return await _customer_page(request, session, 422, error=error, errors=errors)
    except Refused as exc:
        return refused(request, session, exc, "manage_customer.html", file=None, errors={})
    return w.redirect(f"/manage/customers/{account_id}")


# --- statements ------------------------------------------------------------------------------


@routes.get("/manage/statements")
async def statements(request: web.Request) -> web.Response:
    session = await manager(request)
    periods = rules.months(clock.today_paris())
    return page(request, session, "manage_statements.html", periods=periods)


def _period(request: web.Request) -> str:
    found = rules.period(request.match_info["period"])
    if found is None:
        raise web.HTTPNotFound()
    return found


@routes.get("/manage/statements/{period}")
async def statement(request: web.Request) -> web.Response:
    session = await manager(request)
    try:
        doc = await manage.statement(w.portal(request), acting(request), _period(request))
    except Refused as exc:
        return refused(request, session, exc, "manage_statement.html", doc=None)
    return page(request, session, "manage_statement.html", doc=doc, percent=rules.percent)


@routes.post("/manage/statements/{period}/download")
async def statement_download(request: web.Request) -> web.StreamResponse:
    """The statement's file (clearing's CSV or Excel workbook), streamed on as it comes."""
    session = await manager(request)
    fmt = (await w.form(request, session)).get("format", "")
    if fmt not in ("csv", "xlsx"):
        raise web.HTTPNotFound()
    period = _period(request)
    path = manage.statement_file(acting(request), period, fmt)
    name = f"statement-{period}.{fmt}"
    return await _relay(
        request, session, path, name, "clearing", "manage_statement.html", {"doc": None}
    )


async def _relay(
    request: web.Request,
    session: Session,
    path: str,
    filename: str,
    service: Service,
    template: str,
    context: dict[str, Any],
) -> web.StreamResponse:
    """A service's file passed on as it comes, under the service's name for it; a refusal
    before the first byte as the page (``template``, ``context``) with one sentence."""
    services = w.portal(request).services
    async with services.download(session.principal, service, path, {}) as answer:
        if answer.status != 200:
            body = await answer.json(content_type=None) if answer.content_length != 0 else None
            exc = Refused(answer.status, str((body or {}).get("reason") or "refused"))
            return refused(request, session, exc, template, **context)
        return await w.relay(request, answer, "application/octet-stream", filename)


# --- staff, terminals ------------------------------------------------------------------------


async def _staff_page(
    request: web.Request, session: Session, status: int = 200, **context: Any
) -> web.Response:
    found = await people.listed(w.portal(request), session.principal)
    mid = acting(request).merchant_id
    staff = [r for r in found if r["role"] == "staff" and r["merchant_id"] == mid]
    context.setdefault("errors", {})
    context.setdefault("form", {"form_id": str(uuid.uuid4()), "name": "", "email": ""})
    return page(request, session, "manage_staff.html", status, staff=staff, **context)


@routes.get("/manage/staff")
async def staff(request: web.Request) -> web.Response:
    session = await manager(request)
    return await _staff_page(request, session)


@routes.post("/manage/staff")
async def staff_made(request: web.Request) -> web.Response:
    """A member of the counter's staff created (the portal's people: a link to choose their
    password is e-mailed); the form's id is the person's, so a double submit makes one."""
    session = await manager(request)
    fields = await w.form(request, session)
    form = {k: fields.get(k, "").strip()[:254] for k in ("form_id", "name", "email")}
    try:
        person_id = UUID(form["form_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    errors: dict[str, str] = {}
    if not 1 <= len(form["name"]) <= 200:
        errors["name"] = w.say(request, "Give their name.")
    if not EMAIL.match(form["email"]):
        errors["email"] = w.say(request, "Give their e-mail address.")
    lang = w.language(request, session)
    if errors:
        error = refusal("invalid_form", 422, lang)
        return await _staff_page(request, session, 422, errors=errors, error=error, form=form)
    shop = acting(request)
    scope = Scope("staff", shop.association_id, shop.merchant_id)
    try:
        await people.create(
            w.portal(request),
            session.principal,
            person_id,
            form["email"].lower(),
            form["name"],
            scope,
            lang,
        )
    except Problem as exc:
        reason = str(exc.extra.get("reason") or "refused")
        error = refusal(reason, exc.status, lang)
        return await _staff_page(request, session, exc.status, error=error, form=form)
    except asyncpg.UniqueViolationError:  # the e-mail is another person's
        error = refusal("conflict", 409, lang)
        return await _staff_page(request, session, 409, error=error, form=form)
    return w.redirect("/manage/staff")


@routes.get("/manage/terminals")
async def terminals(request: web.Request) -> web.Response:
    session = await manager(request)
    try:
        found = await manage.terminals(w.portal(request), acting(request))
    except Refused as exc:
        return refused(request, session, exc, "manage_terminals.html", terminals=[])
    return page(request, session, "manage_terminals.html", terminals=found)
