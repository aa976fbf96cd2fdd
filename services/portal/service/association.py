"""The association back office's use cases (issue 15, item 3): an association's administrator
(its treasurer) works the books in clearing (periods, the close of a month, statements,
settlement files, reconciliation), reviews the offline card transactions cards holds in
quarantine, and keeps the network's catalogue in cards (merchants, programmes, card types)
and its webhooks in notifications. Each is a call with the person's own scope token: the
services decide what the person reaches and record the signed-in person as the actor; a
refusal comes back as ``Refused`` with the service's status and reason."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal
from uuid import UUID

import aiohttp

from services.portal.adapters.services import Answer, Services
from services.portal.service.calls import Refused, refused, result
from shared.access import Principal

# The association's administrator alone: a manager has their own merchant's back office.
ASSOCIATION_ROLES = ("association_admin",)
PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
# The settlement's SEPA files (clearing's paths), by the name the page gives them.
FILES: dict[str, str] = {
    "direct-debit": "direct-debit.xml",  # pain.008: the merchants who owe
    "credit-transfer": "credit-transfer.xml",  # pain.001: the parties owed
}
Decision = Literal["approve", "reject"]


def aid_of(p: Principal) -> UUID:
    assert p.association_id is not None, "an association's administrator has one"
    return p.association_id


# Clearing: the books.


async def periods(services: Services, p: Principal) -> dict[str, Any]:
    """The closed periods (newest first) and where the open ones start."""
    body = await result(services, p, "GET", "clearing", f"/v1/associations/{aid_of(p)}/periods")
    closes = sorted(body.get("closes", []), key=lambda c: str(c["period"]), reverse=True)
    return {**body, "closes": closes}


async def close(services: Services, p: Principal, period: str) -> dict[str, Any]:
    """Close ``period`` (and every open one before it): what clearing wrote."""
    assert PERIOD.match(period)
    path = f"/v1/associations/{aid_of(p)}/periods/{period}/close"
    return dict(await result(services, p, "POST", "clearing", path, (201,), json={}))


async def statements(services: Services, p: Principal, period: str) -> list[dict[str, Any]]:
    """Every merchant's statement of the period (provisional while it is open)."""
    path = f"/v1/associations/{aid_of(p)}/statements/{period}"
    body = await result(services, p, "GET", "clearing", path)
    return sorted(body, key=lambda s: str(s.get("merchant_name") or s.get("merchant_id")))


async def settlement(services: Services, p: Principal, period: str) -> dict[str, Any] | None:
    """The settlement of a closed period; None while the period is open."""
    path = f"/v1/associations/{aid_of(p)}/settlements/{period}"
    try:
        return dict(await result(services, p, "GET", "clearing", path))
    except Refused as exc:
        if exc.status == 404:
            return None
        raise


@asynccontextmanager
async def _download(
    services: Services, p: Principal, path: str
) -> AsyncIterator[aiohttp.ClientResponse]:
    """clearing's file at ``path``, open to be streamed on; Refused before its first byte."""
    try:
        async with services.download(p, "clearing", path, {}) as r:
            if r.status != 200:
                body = await r.json(content_type=None) if r.content_length != 0 else None
                raise refused(Answer(r.status, body))
            yield r
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Refused(503, "unreachable", "clearing") from exc


@asynccontextmanager
async def settlement_file(
    services: Services, p: Principal, period: str, kind: str
) -> AsyncIterator[aiohttp.ClientResponse]:
    """One SEPA file of the period's settlement, open to be streamed on; Refused otherwise."""
    assert PERIOD.match(period) and kind in FILES
    path = f"/v1/associations/{aid_of(p)}/settlements/{period}/{FILES[kind]}"
    async with _download(services, p, path) as r:
        yield r


async def reconciliation(services: Services, p: Principal) -> dict[str, Any] | None:
    """The last reconciliation of the association's books; None when none has run."""
    path = f"/v1/associations/{aid_of(p)}/reconciliation"
    try:
        return dict(await result(services, p, "GET", "clearing", path))
    except Refused as exc:
        if exc.reason == "never_run":
            return None
        raise


async def reconcile(services: Services, p: Principal) -> dict[str, Any]:
    """Run the reconciliation of the association's books now."""
    path = f"/v1/associations/{aid_of(p)}/reconciliation"
    return dict(await result(services, p, "POST", "clearing", path, json={}))


# Cards: the quarantine of offline card transactions.


QUARANTINE_PAGE = 50


async def quarantine(
    services: Services, p: Principal, status: str, before: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """The association's quarantined lines of one status, newest first, a page at a time
    (``before``: the page after the one that ended there); and where the next page starts."""
    path = f"/v1/associations/{aid_of(p)}/card-quarantine"
    params = {"status": status, "limit": str(QUARANTINE_PAGE)}
    if before is not None:
        params["before"] = str(before)
    body = await result(services, p, "GET", "cards", path, params=params)
    following = body.get("next")
    return list(body.get("lines", [])), int(following) if following else None


async def decide(
    services: Services,
    p: Principal,
    line_id: int,
    decision: Decision,
    reason: str,
    card_at_fault: bool = False,
) -> bool:
    """Approve (book) or reject a held line, cards recording the signed-in person. True when
    done now; False when it was decided already (a second click, a retry): nothing again."""
    body: dict[str, Any] = {"reason": reason}
    if decision == "reject":
        body["card_at_fault"] = card_at_fault
    path = f"/v1/card-quarantine/{line_id}/{decision}"
    try:
        await result(services, p, "POST", "cards", path, json=body)
    except Refused as exc:
        if exc.reason == "already_decided":
            return False
        raise
    return True


# Cards: the network's catalogue.


async def merchants(services: Services, p: Principal) -> list[dict[str, Any]]:
    body = await result(services, p, "GET", "cards", f"/v1/associations/{aid_of(p)}/merchants")
    items = body.get("merchants", []) if isinstance(body, dict) else body
    return sorted(items, key=lambda m: str(m.get("name", "")).lower())


async def merchant(services: Services, p: Principal, merchant_id: UUID) -> dict[str, Any]:
    path = f"/v1/associations/{aid_of(p)}/merchants/{merchant_id}"
    return dict(await result(services, p, "GET", "cards", path))


async def save_merchant(
    services: Services, p: Principal, merchant_id: UUID | None, fields: dict[str, Any]
) -> UUID:
    """Create (no id: a new one) or change a merchant; a PUT, so a retry changes nothing."""
    mid = merchant_id or uuid.uuid4()
    path = f"/v1/associations/{aid_of(p)}/merchants/{mid}"
    await result(services, p, "PUT", "cards", path, (200, 201), json=fields)
    return mid


async def listing(services: Services, p: Principal, what: str) -> list[dict[str, Any]]:
    """One of the association's lists in cards (programs, card-types) or clearing
    (partners), as the service gives it."""
    service = "clearing" if what == "partners" else "cards"
    body = await result(services, p, "GET", service, f"/v1/associations/{aid_of(p)}/{what}")
    if isinstance(body, dict):
        for key in (what.replace("-", "_"), "items", what):
            if isinstance(body.get(key), list):
                return list(body[key])
        return []
    return list(body)


# Cards: card batches for the printer, gift vouchers.

VOUCHER_REASONS = ("birthday", "sponsorship", "big_purchase", "lottery", "other")


async def card_batch(
    services: Services, p: Principal, batch_id: UUID, card_type_id: UUID | None, size: int
) -> dict[str, Any]:
    """A batch of ``size`` new cards for the printer; the same ``batch_id`` again (a retry)
    answers the same batch."""
    body = {"batch_id": str(batch_id), "size": size}
    if card_type_id is not None:
        body["card_type_id"] = str(card_type_id)
    path = f"/v1/associations/{aid_of(p)}/card-batches"
    return dict(await result(services, p, "POST", "cards", path, (200, 201), json=body))


async def voucher_batch(
    services: Services, p: Principal, batch_id: UUID, terms: dict[str, Any]
) -> dict[str, Any]:
    """A batch of gift vouchers; the same ``batch_id`` again answers the same batch."""
    path = f"/v1/associations/{aid_of(p)}/voucher-batches"
    body = {"batch_id": str(batch_id), **terms}
    return dict(await result(services, p, "POST", "cards", path, (200, 201), json=body))


async def voucher_batch_of(services: Services, p: Principal, batch_id: UUID) -> dict[str, Any]:
    path = f"/v1/voucher-batches/{batch_id}"
    return dict(await result(services, p, "GET", "cards", path))


# A batch's CSV (cards' paths), by the page's name for it.
CSV_FILES = {"cards": "/v1/card-batches/{id}.csv", "vouchers": "/v1/voucher-batches/{id}.csv"}


@asynccontextmanager
async def batch_csv(
    services: Services, p: Principal, kind: str, batch_id: UUID
) -> AsyncIterator[aiohttp.ClientResponse]:
    """A batch's CSV (the printer's cards, the vouchers' codes), open to be streamed on."""
    path = CSV_FILES[kind].format(id=batch_id)
    try:
        async with services.download(p, "cards", path, {}) as r:
            if r.status != 200:
                body = await r.json(content_type=None) if r.content_length != 0 else None
                raise refused(Answer(r.status, body))
            yield r
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Refused(503, "unreachable", "cards") from exc


# Cards: a card type's rates at the merchants, and acceptances.


async def card_type(services: Services, p: Principal, card_type_id: UUID) -> dict[str, Any]:
    """A card type with its own rates per merchant and the associations that accept it."""
    return dict(await result(services, p, "GET", "cards", f"/v1/card-types/{card_type_id}"))


async def set_rate(
    services: Services,
    p: Principal,
    card_type_id: UUID,
    merchant_id: UUID,
    rates: dict[str, int | None],
) -> None:
    """The card type's own rates at one merchant (a PUT: a retry changes nothing)."""
    path = f"/v1/card-types/{card_type_id}/rates/{merchant_id}"
    await result(services, p, "PUT", "cards", path, (200, 201), json=rates)


async def acceptance(
    services: Services,
    p: Principal,
    card_type_id: UUID,
    merchant_id: UUID | None,
    accept: bool,
) -> None:
    """The association (or one of its merchants) accepts another's card type, or stops."""
    path = f"/v1/card-types/{card_type_id}/acceptances/{aid_of(p)}"
    params = {"merchant_id": str(merchant_id)} if merchant_id else None
    method = "PUT" if accept else "DELETE"
    await result(services, p, method, "cards", path, (200, 201), params=params)


# Clearing: partner associations.


async def save_partner(
    services: Services, p: Principal, partner_id: UUID, name: str, active: bool
) -> None:
    """A partner association of the network (a club, a charity): registered or renamed, a
    PUT under the id the form carries."""
    path = f"/v1/associations/{aid_of(p)}/partners/{partner_id}"
    body = {"name": name, "active": active}
    await result(services, p, "PUT", "clearing", path, (200, 201), json=body)


# Clearing: a merchant's statement as a file, and the adjustment of a closed month.

STATEMENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   "csv": "text/csv"}  # fmt: skip


@asynccontextmanager
async def statement_file(
    services: Services, p: Principal, party: str, party_id: UUID, period: str, fmt: str
) -> AsyncIterator[aiohttp.ClientResponse]:
    """A merchant's (``party`` "merchants") or a partner association's ("partners")
    statement of the period as XLSX or CSV, open to be streamed on."""
    assert PERIOD.match(period) and fmt in STATEMENT_TYPES
    assert party in ("merchants", "partners")
    path = f"/v1/{party}/{party_id}/statements/{period}.{fmt}"
    async with _download(services, p, path) as r:
        yield r


async def adjust(
    services: Services,
    p: Principal,
    adjustment_id: UUID,
    merchant_id: UUID,
    period: str,
    amount_cents: int,
    reason: str,
) -> dict[str, Any]:
    """Correct a merchant's closed ``period`` by an entry in the open one, under the id the
    form carries (the same id again answers the same adjustment)."""
    body = {
        "adjustment_id": str(adjustment_id),
        "period": period,
        "amount_cents": amount_cents,
        "reason": reason,
    }
    path = f"/v1/merchants/{merchant_id}/adjustments"
    return dict(await result(services, p, "POST", "clearing", path, (200, 201), json=body))


async def bank_details(
    services: Services, p: Principal, kind: str, party_id: UUID, details: dict[str, Any]
) -> None:
    """The bank details the settlement files use at the next close: the association's own
    (with its SEPA creditor id), a merchant's (with its direct-debit mandate), a partner's.
    clearing checks them (IBAN, BIC, mandate, creditor id) and keeps no copy here."""
    assert kind in ("association", "merchant", "partner")
    path = f"/v1/bank-details/{kind}/{party_id}"
    await result(services, p, "PUT", "clearing", path, json=details)


async def programme(services: Services, p: Principal, programme_id: UUID) -> dict[str, Any]:
    path = f"/v1/associations/{aid_of(p)}/programs/{programme_id}"
    return dict(await result(services, p, "GET", "cards", path))


async def save_programme(
    services: Services, p: Principal, programme_id: UUID, fields: dict[str, Any]
) -> None:
    """Create or change a programme (a PUT under the form's id: a retry changes nothing)."""
    path = f"/v1/associations/{aid_of(p)}/programs/{programme_id}"
    await result(services, p, "PUT", "cards", path, (200, 201), json=fields)
