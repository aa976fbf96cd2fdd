"""Whether a merchant belongs to an association, asked of cards (the catalogue's owner) by the
services that take a ``merchant_id`` with an association in the back office (crm's segments,
notifications' webhook subscriptions). Asked at the request, not read from a copy kept from
events: a merchant admitted a moment ago is known at once, and no copy has to be filled
for the merchants admitted before."""

from __future__ import annotations

from uuid import UUID

import aiohttp

from shared import peers
from shared.access import Principal
from shared.http import Problem
from shared.settings import Settings

TIMEOUT = aiohttp.ClientTimeout(total=10)


async def check_in_association(
    settings: Settings, association_id: UUID, merchant_id: UUID | None
) -> None:
    """Nothing if ``merchant_id`` (None: no merchant) is one of the association's merchants;
    else a 422 ``merchant_not_in_association``, or a 503 when cards cannot answer."""
    if merchant_id is None:
        return
    url = f"{settings.cards_url}/v1/associations/{association_id}/merchants/{merchant_id}"
    try:
        status = await peers.status_of(settings, url, TIMEOUT)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _unavailable("cards did not answer") from exc
    if status == 404:
        raise Problem(
            422,
            "Merchant not in the association",
            f"merchant {merchant_id} is not a merchant of association {association_id}",
            reason="merchant_not_in_association",
        )
    if status != 200:
        raise _unavailable(f"cards answered {status}")


async def association_seen_by(settings: Settings, p: Principal, merchant_id: UUID) -> UUID | None:
    """The association of ``merchant_id`` as far as ``p`` needs it, for a route keyed by a
    merchant alone: ``p``'s own association when the merchant is one of its merchants (``p``'s
    own merchant at once, another asked of cards), None otherwise, so that ``authorise`` then
    lets only the operator through. The operator reaches every merchant: None, without asking
    cards (the bootstrap admin's calls between services cost no request)."""
    if p.association_id is None:
        return None
    if p.merchant_id == merchant_id:
        return p.association_id
    try:
        await check_in_association(settings, p.association_id, merchant_id)
    except Problem as exc:
        if exc.status == 422:
            return None
        raise
    return p.association_id


def _unavailable(detail: str) -> Problem:
    return Problem(
        503, "Service unavailable", detail, reason="service_unavailable", service="cards"
    )
