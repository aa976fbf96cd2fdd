"""The front desk's pages (issue 15, item 3, CARD), for a merchant's staff and manager: find a
customer, see them, what a purchase earns and why, enrol, resend the details link, block a
lost card (the bookings, a purchase, a spend, a return: desk_bookings.py). Search terms, phones and card numbers travel in POST bodies, never in a URL; an
account appears in a URL by its opaque id only."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from aiohttp import web

from services.portal.adapters.services import Services
from services.portal.domain.desk import cents, money, search_kind
from services.portal.entrypoints import web as w
from services.portal.entrypoints.desk_words import refusal
from services.portal.service import desk
from services.portal.service.calls import Refused
from services.portal.service.sessions import Session

routes = web.RouteTableDef()
CUSTOMER = "/desk/customers/{account_id}"


def _account_id(request: web.Request) -> UUID:
    try:
        return UUID(request.match_info["account_id"])
    except ValueError:
        raise web.HTTPNotFound() from None


def _services(request: web.Request) -> Services:
    return w.portal(request).services


def _page(
    request: web.Request, session: Session, template: str, status: int = 200, **context: Any
) -> web.Response:
    lang = w.language(request, session)
    # Each booking form carries a new id: the same form sent twice books once.
    for name in ("enrolment_id", "sale_id", "redemption_id"):
        context.setdefault(name, uuid4())
    return w.render(request, template, session, status, money=lambda c: money(c, lang), **context)


def _refusal_page(
    request: web.Request, session: Session, exc: Refused, **context: Any
) -> web.Response:
    """A service's refusal as the desk's page with one clear sentence, and its status."""
    error = refusal(exc.reason, exc.status, w.language(request, session))
    context.setdefault("term", "")
    response = _page(request, session, "desk_find.html", exc.status, error=error, **context)
    response.headers["X-Problem-Reason"] = exc.reason
    return response


@routes.get("/desk")
async def desk_home(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    return _page(request, session, "desk_find.html", term="")


@routes.post("/desk/find")
async def find(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    term = (await w.form(request, session)).get("term", "").strip()[:120]
    if len(term) < 2:
        error = w.say(request, "Type a card number, a phone, an e-mail or a name.")
        return _page(request, session, "desk_find.html", 422, error=error, term=term)
    kind, value = search_kind(term)
    try:
        files = await desk.find(_services(request), session.principal, kind, value)
    except Refused as exc:
        return _refusal_page(request, session, exc, term=term)
    if len(files) == 1:
        return w.redirect(f"/desk/customers/{UUID(str(files[0]['account_id']))}")
    if not files:
        error = w.say(request, "Nobody found: check it, or enrol the customer.")
        return _page(request, session, "desk_find.html", 404, error=error, term=term)
    return _page(request, session, "desk_find.html", term=term, files=files)


async def _customer_page(
    request: web.Request,
    session: Session,
    status: int = 200,
    found: desk.Customer | None = None,
    **context: Any,
) -> web.Response:
    """The customer's page (``found``: already read for this request)."""
    services, p = _services(request), session.principal
    try:
        found = found or await desk.customer(services, p, _account_id(request))
        families = await desk.families(services, p)
    except Refused as exc:
        return _refusal_page(request, session, exc)
    context.setdefault("error", None)
    return _page(
        request,
        session,
        "desk_customer.html",
        status,
        customer=found,
        families=families,
        **context,
    )


@routes.get(CUSTOMER)
async def customer(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    return await _customer_page(request, session)


def _card_type(account: dict[str, Any]) -> str | None:
    """The customer's card type (their first active card's), so the reward is theirs."""
    for card in account.get("cards", []):
        if card.get("status") == "active":
            return str(card["card_type_id"])
    return None


@routes.post(CUSTOMER + "/purchase")
async def purchase(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    fields = await w.form(request, session)
    amount = cents(fields.get("amount", ""))
    if amount is None:
        error = w.say(request, "The amount is not a price: for example 12,50.")
        return await _customer_page(request, session, 422, error=error)
    services, p = _services(request), session.principal
    try:
        found = await desk.customer(services, p, _account_id(request))
        reward = await desk.dry_run(
            services,
            p,
            amount,
            fields.get("family") or None,
            _card_type(found.account),
            w.language(request, session),
        )
    except Refused as exc:
        error = refusal(exc.reason, exc.status, w.language(request, session))
        return await _customer_page(request, session, exc.status, error=error)
    return await _customer_page(request, session, found=found, reward=reward)


@routes.post(CUSTOMER + "/details-link")
async def details_link(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    await w.form(request, session)
    try:
        await desk.details_link(_services(request), session.principal, _account_id(request))
    except Refused as exc:
        error = refusal(exc.reason, exc.status, w.language(request, session))
        return await _customer_page(request, session, exc.status, error=error)
    notice = w.say(request, "The link to complete their details is on its way.")
    return await _customer_page(request, session, notice=notice)


@routes.post(CUSTOMER + "/block")
async def block(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    fields = await w.form(request, session)
    number, reason = fields.get("number", ""), fields.get("reason", "lost")
    if not number.isdigit() or reason not in ("lost", "stolen"):
        raise web.HTTPNotFound()
    try:
        await desk.block(_services(request), session.principal, number, reason)
    except Refused as exc:
        error = refusal(exc.reason, exc.status, w.language(request, session))
        return await _customer_page(request, session, exc.status, error=error)
    notice = w.say(request, "The card is blocked: no till accepts it any more.")
    return await _customer_page(request, session, notice=notice)


@routes.post("/desk/enrol")
async def enrol(request: web.Request) -> web.Response:
    session = await w.signed_in_as(request, *desk.DESK_ROLES)
    fields = await w.form(request, session)
    kind, value = search_kind(fields.get("contact", "").strip()[:254])
    first_name = fields.get("first_name", "").strip()[:60] or None
    if kind not in ("phone", "email"):
        error = w.say(request, "Give a mobile number or an e-mail address.")
        return _page(request, session, "desk_find.html", 422, error=error, term="")
    try:
        enrolment_id = UUID(fields.get("enrolment_id", ""))
    except ValueError:  # a form without its id: enrolled, but a retry would be refused
        enrolment_id = uuid4()
    try:
        account_id = await desk.enrol(
            _services(request), session.principal, enrolment_id, kind, value, first_name
        )
    except Refused as exc:
        # already enrolled: the desk goes on with the customer who holds the contact
        return _refusal_page(request, session, exc, existing=exc.account_id)
    if account_id is None:  # cards has not answered yet: the enrolment's page will tell
        return w.redirect(f"/desk/enrolments/{enrolment_id}")
    return w.redirect(f"/desk/customers/{account_id}")
