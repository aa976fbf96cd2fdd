"""The cardholder space's changes beyond consents (issue 15, "Cardholder space"): one's own
details corrected in crm's customer file, a message to a shop of the network; and the shop's
inbox that its people read. Each asked of crm with the person's own scope token."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.portal.adapters.services import Services
from services.portal.service.calls import Refused, call, ok
from shared.access import Principal

# What a cardholder may change of their file here (crm's PublicDetails, less the e-mail and
# the mobile: they are the space's sign-in addresses, changed at a shop, which checks them).
EDITABLE = (
    "title",
    "first_name",
    "last_name",
    "address",
    "postal_code",
    "town",
    "landline",
    "birth_date",
    "language",
)
TITLES = ("M", "MME", "MX")
MAX_MESSAGE = 2000


def _account(p: Principal) -> UUID:
    if p.role != "cardholder" or p.account_id is None:
        raise Refused(403, "out_of_scope")
    return p.account_id


def details_of_form(fields: dict[str, str]) -> dict[str, Any]:
    """The form's fields as crm's correction: each editable field given, an empty one as
    null (it clears the field)."""
    out: dict[str, Any] = {}
    for name in EDITABLE:
        if name in fields:
            value = fields[name].strip()[:200]
            out[name] = value or None
    if out.get("language") is None:
        out.pop("language", None)  # a file always has a language: left as it is
    return out


async def details(services: Services, p: Principal) -> dict[str, Any]:
    aid = _account(p)
    found: dict[str, Any] = ok(await call(services, p, "GET", "crm", f"/v1/customers/{aid}"), 200)
    return found


async def correct(services: Services, p: Principal, changes: dict[str, Any]) -> None:
    aid = _account(p)
    ok(await call(services, p, "PATCH", "crm", f"/v1/customers/{aid}", json=changes), 200)


@dataclass(frozen=True, slots=True)
class Messages:
    shops: list[dict[str, Any]]  # the network's shops: id, name
    sent: list[dict[str, Any]]  # the holder's messages, newest first


async def messages(services: Services, p: Principal) -> Messages:
    aid = _account(p)
    shops, sent = await asyncio.gather(
        call(services, p, "GET", "cards", f"/v1/associations/{p.association_id}/directory"),
        call(services, p, "GET", "crm", f"/v1/customers/{aid}/shop-messages"),
    )
    return Messages(list(ok(shops, 200)), list(ok(sent, 200)["messages"]))


async def send(
    services: Services, p: Principal, message_id: UUID, merchant_id: UUID, body: str
) -> None:
    """Kept once by crm whatever the retries: ``message_id`` is the form's."""
    aid = _account(p)
    path = f"/v1/customers/{aid}/shop-messages/{message_id}"
    payload = {"merchant_id": str(merchant_id), "body": body}
    ok(await call(services, p, "PUT", "crm", path, json=payload), 200, 201)


INBOX_ROLES = ("staff", "manager")


async def inbox(services: Services, p: Principal) -> list[dict[str, Any]]:
    """The shop's customers' messages, newest first (its front desk and its manager)."""
    if p.role not in INBOX_ROLES or p.merchant_id is None:
        raise Refused(403, "out_of_scope")
    path = f"/v1/merchants/{p.merchant_id}/shop-messages"
    return list(ok(await call(services, p, "GET", "crm", path), 200)["messages"])
