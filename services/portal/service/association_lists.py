"""What the association back office lists from the services beside its forms: the bank
details set for each party (clearing reads them back, the IBAN masked but its last 4
characters) and the card batches made for the printer (cards), each one's file to download
again. Each call with the person's own scope token (service/association.py's ``call``)."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from services.portal.adapters.services import Services
from services.portal.service.association import aid_of
from services.portal.service.calls import Refused, result
from shared.access import Principal


async def bank_details_set(
    services: Services, p: Principal, parties: list[tuple[str, UUID, str]]
) -> list[dict[str, Any]]:
    """What is set for each party (kind, id, name), as clearing reads it back: the IBAN masked
    but its last 4 characters. A party with none (404), or one clearing does not know yet
    (403: its details are the operator's to set until then), is listed with ``details`` None."""

    async def one(kind: str, party_id: UUID, name: str) -> dict[str, Any]:
        path = f"/v1/bank-details/{kind}/{party_id}"
        try:
            details = dict(await result(services, p, "GET", "clearing", path))
        except Refused as exc:
            if exc.status not in (403, 404):
                raise
            details = None
        return {"kind": kind, "party_id": str(party_id), "name": name, "details": details}

    return list(await asyncio.gather(*(one(*x) for x in parties)))


BATCHES_PAGE = 50


async def card_batches(
    services: Services, p: Principal, before: str | None = None
) -> list[dict[str, Any]]:
    """The association's print batches, newest first (``BATCHES_PAGE`` of them, made before
    ``before``): each one's file can be downloaded again."""
    params = {"limit": str(BATCHES_PAGE)} | ({"before": before} if before else {})
    path = f"/v1/associations/{aid_of(p)}/card-batches"
    return list(await result(services, p, "GET", "cards", path, params=params))
