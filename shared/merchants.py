"""Whether a merchant belongs to an association, asked of cards (the catalogue's owner) by the
services that take a ``merchant_id`` with an association in the back office (crm's segments,
notifications' webhook subscriptions). Asked at the request, not read from a copy kept from
events: a merchant admitted a moment ago is known at once, and no copy has to be filled
for the merchants admitted before."""

from __future__ import annotations

from uuid import UUID

import aiohttp

from shared import peers
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


def _unavailable(detail: str) -> Problem:
    return Problem(
        503, "Service unavailable", detail, reason="service_unavailable", service="cards"
    )
