"""The front desk's bookings (issue 15, item 3, CARD): a purchase, a spend from the cagnotte
and a return recorded at the counter, and the enrolment's answer. Each is booked through the
gateway as a till's request (service/desk.py ``book``), by the id its form carries: a double
submit or a retry books once and shows the same result. Every form posts, then redirects to
the booking's own page (POST-redirect-GET), which reads the gateway's answer again."""

from __future__ import annotations

import re
import uuid
from typing import Any
from uuid import UUID

from aiohttp import web

from services.portal.domain.desk import cents
from services.portal.entrypoints import web as w
from services.portal.entrypoints.desk_words import refusal
from services.portal.entrypoints.http.desk import (
    CUSTOMER,
    _account_id,
    _card_type,
    _customer_page,
    _page,
    _services,
)
from services.portal.service import desk
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

routes = web.RouteTableDef()
_FAMILY = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
AMOUNT_HELP = "Give an amount between 0.01 and 100,000 euros, for example 12.50."


def form_id(typed: str) -> UUID:
    """The id a booking form carries (a new one if it carries none: then no retry is one)."""
    try:
        return UUID(typed)
    except ValueError:
        return uuid.uuid4()


def _request_id(request: web.Request, name: str = "request_id") -> UUID:
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise web.HTTPNotFound() from None


async def _refused(
    request: web.Request, session: Session, exc: Refused, **context: Any
) -> web.Response:
    error = refusal(exc.reason, exc.status, w.language(request, session))
    status = exc.status if exc.status >= 400 else 422
    response = await _customer_page(request, session, status, error=error, **context)
    response.headers["X-Problem-Reason"] = exc.reason
    return response


@routes.post(CUSTOMER + "/sales")
async def record_sale(request: web.Request) -> web.Response:
    """A purchase booked: its amount and product family (one of the merchant's, or none)."""
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    fields = await w.form(request, session)
    services, p, account_id = _services(request), session.principal, _account_id(request)
    amount = cents(fields.get("amount", ""))
    if amount is None:
        return await _customer_page(request, session, 422, error=w.say(request, AMOUNT_HELP))
    family = fields.get("family") or None
    try:
        if family is not None:
            codes = {f["code"] for f in await desk.families(services, p)}
            if family not in codes:
                error = w.say(request, "Choose a product family of the list.")
                return await _customer_page(request, session, 422, error=error)
        found = await desk.customer(services, p, account_id)
        sale_id = form_id(fields.get("sale_id", ""))
        body: dict[str, Any] = {
            "sale_id": str(sale_id),
            "customer": desk.customer_key(found.account),
            "amount_cents": amount,
        }
        if family is not None:
            body["product_family"] = family
        await desk.book(services, p, "sale", body)
    except Refused as exc:
        return await _refused(request, session, exc)
    suffix = f"?family={family}" if family else ""
    return w.redirect(f"/desk/customers/{account_id}/sales/{sale_id}{suffix}")


def _not_earned(answer: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """The booked sale's refusals (the rules that refused part or all of its reward), each as
    the dry run said it in the person's language; one the dry run did not meet (a personal
    promotion's, a rule changed since) in cards' own words."""
    said = {r["code"]: r.get("said") or r["detail"] for r in run.get("refusals", [])}
    return [said.get(r["code"], r["detail"]) for r in answer.get("refusals", [])]


@routes.get(CUSTOMER + "/sales/{request_id}")
async def sale_page(request: web.Request) -> web.Response:
    """A sale: what it booked and why (if the desk booked it), and the form of its return."""
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    services, p = _services(request), session.principal
    sale_id = _request_id(request)
    answer: dict[str, Any] | None = None
    pending, why, not_earned = False, None, []
    try:
        found = await desk.customer(services, p, _account_id(request))
        try:
            answer = await desk.booked(services, p, "sale", sale_id)
            pending = answer is None
        except Refused as exc:
            if exc.status != 404:  # 404: a till's sale, or none: the return form only
                return await _refused(request, session, exc, found=found)
        if answer is not None:
            family = request.query.get("family") or None
            family = family if family and _FAMILY.match(family) else None
            run = await desk.dry_run(
                services,
                p,
                int(answer["amount_cents"]),
                family,
                _card_type(found.account),
                w.language(request, session),
            )
            why = run.get("explanation")
            not_earned = _not_earned(answer, run)
    except Refused as exc:
        return await _refused(request, session, exc)
    return _page(
        request,
        session,
        "desk_booked.html",
        kind="sale",
        customer=found,
        request_id=sale_id,
        answer=answer,
        pending=pending,
        why=why,
        not_earned=not_earned,
        return_id=uuid.uuid4(),
    )


@routes.post(CUSTOMER + "/sales/{request_id}/returns")
async def record_return(request: web.Request) -> web.Response:
    """A return (``returned``, less than bought) or a cancellation (``cancelled``) of a sale."""
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    fields = await w.form(request, session)
    services, p, account_id = _services(request), session.principal, _account_id(request)
    sale_id = _request_id(request)
    amount = cents(fields.get("amount", ""))
    reason = fields.get("reason", "returned")
    if amount is None or reason not in ("returned", "cancelled"):
        return await _customer_page(request, session, 422, error=w.say(request, AMOUNT_HELP))
    return_id = form_id(fields.get("return_id", ""))
    body = {
        "return_id": str(return_id),
        "sale_id": str(sale_id),
        "amount_cents": amount,
        "reason": reason,
    }
    try:
        await desk.book(services, p, "return", body)
    except Refused as exc:
        return await _refused(request, session, exc)
    return w.redirect(f"/desk/customers/{account_id}/returns/{return_id}")


@routes.post(CUSTOMER + "/redemptions")
async def record_redemption(request: web.Request) -> web.Response:
    """A spend from the customer's cagnotte (never more than it holds: cards refuses)."""
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    fields = await w.form(request, session)
    services, p, account_id = _services(request), session.principal, _account_id(request)
    amount = cents(fields.get("amount", ""))
    if amount is None:
        return await _customer_page(request, session, 422, error=w.say(request, AMOUNT_HELP))
    redemption_id = form_id(fields.get("redemption_id", ""))
    try:
        found = await desk.customer(services, p, account_id)
        if amount > int(found.account.get("balance_cents", 0)):
            raise Refused(422, "insufficient_balance")
        body = {
            "redemption_id": str(redemption_id),
            "customer": desk.customer_key(found.account),
            "amount_cents": amount,
        }
        await desk.book(services, p, "redemption", body)
    except Refused as exc:
        return await _refused(request, session, exc)
    return w.redirect(f"/desk/customers/{account_id}/redemptions/{redemption_id}")


async def _booked_page(request: web.Request, kind: desk.Booking) -> web.Response:
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    services, p = _services(request), session.principal
    request_id = _request_id(request)
    try:
        found = await desk.customer(services, p, _account_id(request))
        answer = await desk.booked(services, p, kind, request_id)
    except Refused as exc:
        return await _refused(request, session, exc)
    return _page(
        request,
        session,
        "desk_booked.html",
        kind=kind,
        customer=found,
        request_id=request_id,
        answer=answer,
        pending=answer is None,
    )


@routes.get(CUSTOMER + "/redemptions/{request_id}")
async def redemption_page(request: web.Request) -> web.Response:
    return await _booked_page(request, "redemption")


@routes.get(CUSTOMER + "/returns/{request_id}")
async def return_page(request: web.Request) -> web.Response:
    return await _booked_page(request, "return")


@routes.get("/desk/enrolments/{request_id}")
async def enrolment_page(request: web.Request) -> web.Response:
    """An enrolment cards had not answered when it was sent: its customer once it has."""
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    try:
        account = await desk.enrolled(_services(request), session.principal, _request_id(request))
    except Refused as exc:
        error = refusal(exc.reason, exc.status, w.language(request, session))
        return _page(
            request,
            session,
            "desk_find.html",
            exc.status,
            error=error,
            term="",
            existing=exc.account_id,
            enrolment_id=uuid.uuid4(),
        )
    if account is None:
        notice = w.say(request, "The enrolment is being recorded: refresh in a moment.")
        return _page(
            request,
            session,
            "desk_find.html",
            202,
            notice=notice,
            term="",
            enrolment_id=uuid.uuid4(),
        )
    return w.redirect(f"/desk/customers/{account}")
