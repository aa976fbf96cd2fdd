"""The front desk's use cases (issue 15, item 3, CARD): each one call or a few to the services,
made with the signed-in person's scope token, so that cards and crm decide what the person
reaches. A refusal comes back as ``Refused`` with the service's status and reason, for the
page to say in the person's language."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from services.portal.adapters.services import Services
from services.portal.domain.desk import Kind
from services.portal.service.calls import Refused, call, ok, refused
from shared.access import Principal

# The roles of a merchant's counter: its staff (CARD) and its manager.
DESK_ROLES = ("staff", "manager")
NAME_RESULTS = 20


@dataclass(frozen=True, slots=True)
class Customer:
    account: dict[str, Any]  # cards: buckets, visits, cards, last entries
    file: dict[str, Any] | None  # crm: the customer file with its "à remplir" fields
    levels: list[dict[str, Any]]  # crm: the status levels now


async def find(services: Services, p: Principal, kind: Kind, value: str) -> list[dict[str, Any]]:
    """The accounts of the person's association that the term names: by card, phone or e-mail
    (cards, at most one: its id), by name (crm's search, a few: each one's id, names and postal
    code, what the page lists to choose from; no call per file)."""
    aid = p.association_id
    if kind == "name":
        answer = await call(
            services,
            p,
            "GET",
            "crm",
            f"/v1/associations/{aid}/customers",
            params={"name": value, "limit": str(NAME_RESULTS)},
        )
        found: list[dict[str, Any]] = ok(answer)["customers"]
        return found
    answer = await call(
        services, p, "GET", "cards", f"/v1/associations/{aid}/accounts", params={kind: value}
    )
    if answer.status in (400, 404):  # a malformed number or phone finds nobody either
        return []
    return [{"account_id": ok(answer)["id"]}]


async def customer(services: Services, p: Principal, account_id: UUID) -> Customer:
    """The account (cards) and, beside it, its file and levels (crm). cards answers first: a
    refusal there is the page's; crm's file may lag an account just opened (then None)."""
    account = ok(await call(services, p, "GET", "cards", f"/v1/accounts/{account_id}"))
    file, levels = await asyncio.gather(
        call(services, p, "GET", "crm", f"/v1/customers/{account_id}"),
        call(services, p, "GET", "crm", f"/v1/customers/{account_id}/levels"),
    )
    if file.status not in (200, 404):
        raise refused(file)
    return Customer(
        account,
        file.body if file.status == 200 else None,
        levels.body["levels"] if levels.status == 200 else [],
    )


async def families(services: Services, p: Principal) -> list[dict[str, Any]]:
    """The merchant's product families, for the purchase form."""
    answer = await call(services, p, "GET", "cards", f"/v1/merchants/{p.merchant_id}/families")
    return list(ok(answer))


async def dry_run(
    services: Services,
    p: Principal,
    amount_cents: int,
    family: str | None,
    card_type_id: str | None,
    language: str,
) -> dict[str, Any]:
    """What this purchase earns at the person's merchant, and why (cards' rules engine,
    nothing recorded): the reward, the rules applied (each ``said`` in ``language``), one
    sentence in ``language`` with the amounts as the portal writes them (``explanation``)."""
    body: dict[str, Any] = {
        "merchant_id": str(p.merchant_id),
        "amount_cents": amount_cents,
        "language": language,
    }
    if family:
        body["product_family"] = family
    if card_type_id:
        body["card_type_id"] = card_type_id
    answer = await call(
        services, p, "POST", "cards", f"/v1/associations/{p.association_id}/dry-run", json=body
    )
    return dict(ok(answer))


async def details_link(services: Services, p: Principal, account_id: UUID) -> dict[str, Any]:
    """Send again the link to complete one's details (crm picks the e-mail, else the SMS)."""
    answer = await call(
        services,
        p,
        "POST",
        "crm",
        f"/v1/customers/{account_id}/details-link",
        json={"merchant_id": str(p.merchant_id)},
    )
    return dict(ok(answer, 200, 201, 202))


async def block(services: Services, p: Principal, number: str, reason: str) -> dict[str, Any]:
    """A lost or stolen card blocked, on the blacklist for every till (F16): one click."""
    answer = await call(
        services, p, "POST", "cards", f"/v1/cards/{number}/block", json={"reason": reason}
    )
    return dict(ok(answer, 200, 201))


async def enrol(
    services: Services,
    p: Principal,
    enrolment_id: UUID,
    kind: Kind,
    value: str,
    first_name: str | None,
) -> UUID | None:
    """A quick enrolment at the counter by mobile or e-mail, booked through the gateway as a
    till's (cards opens the account, crm the file and sends the link to complete it): the
    account, or None while cards has not answered yet (``enrolled`` tells later). A retry with
    the same ``enrolment_id`` answers the same account; another enrolment of an address
    already enrolled: Refused 409 with reason ``already_enrolled`` and the account."""
    body: dict[str, Any] = {"enrolment_id": str(enrolment_id), kind: value}
    if first_name:
        body["first_name"] = first_name
    answer = await book(services, p, "enrolment", body)
    return None if answer is None else UUID(answer["account_id"])


async def enrolled(services: Services, p: Principal, enrolment_id: UUID) -> UUID | None:
    """The account an enrolment booked at the desk opened (None: not answered yet)."""
    answer = await booked(services, p, "enrolment", enrolment_id)
    return None if answer is None else UUID(answer["account_id"])


# --- bookings at the desk, through the gateway (a till's path) ----------------------------

Booking = Literal["sale", "redemption", "return", "enrolment"]


def customer_key(account: dict[str, Any]) -> dict[str, str]:
    """How the gateway finds the customer, as a till would: their active card, else their
    mobile, else their e-mail address."""
    for card in account.get("cards", []):
        if card.get("status") == "active":
            return {"card_number": str(card["number"])}
    if account.get("phone"):
        return {"phone": str(account["phone"])}
    if account.get("email"):
        return {"email": str(account["email"])}
    raise Refused(422, "no_key", "the account has no card, mobile or e-mail")


async def book(
    services: Services, p: Principal, kind: Booking, body: dict[str, Any]
) -> dict[str, Any] | None:
    """A booking at the person's merchant's desk (the gateway's ``/desk/<kind>s``): cards'
    answer, or None while it has not come (202: ``booked`` reads it later). The same request
    id sent again books nothing more and answers the same (a refusal too: Refused)."""
    answer = await call(
        services, p, "POST", "terminals", f"/v1/merchants/{p.merchant_id}/desk/{kind}s", json=body
    )
    if answer.status == 202:
        return None
    return dict(ok(answer, 200, 201))


async def booked(
    services: Services, p: Principal, kind: Booking, request_id: UUID
) -> dict[str, Any] | None:
    """The answer to a booking at the desk (None: still pending); Refused as it was refused."""
    answer = await call(
        services, p, "GET", "terminals", f"/v1/merchants/{p.merchant_id}/desk/{kind}s/{request_id}"
    )
    if answer.status == 202:
        return None
    return dict(ok(answer, 200, 201))
