"""What the association back office lists from the services beside its forms: the bank
details set for each party (clearing reads them back, the IBAN masked but its last 4
characters) and the card batches made for the printer (cards), each one's file to download
again. Each call with the person's own scope token (service/association.py's ``call``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.portal.adapters.services import Services
from services.portal.service.association import aid_of
from services.portal.service.calls import result
from shared.access import Principal


async def bank_details_set(
    services: Services, p: Principal, parties: list[tuple[str, UUID, str]]
) -> list[dict[str, Any]]:
    """What is set for each party (kind, id, name), as clearing reads it back: the IBAN masked
    but its last 4 characters, every party's in one call. A party with none, or one clearing
    does not know yet (its details are the operator's to set until then), is listed with
    ``details`` None."""
    path = f"/v1/associations/{aid_of(p)}/bank-details"
    answer = await result(services, p, "GET", "clearing", path)
    found = {(d["party_kind"], str(d["party_id"])): d for d in answer["bank_details"]}
    return [
        {
            "kind": kind,
            "party_id": str(party_id),
            "name": name,
            "details": found.get((kind, str(party_id))),
        }
        for kind, party_id, name in parties
    ]


BATCHES_PAGE = 50


async def card_batches(
    services: Services, p: Principal, before: str | None = None
) -> list[dict[str, Any]]:
    """The association's print batches, newest first (``BATCHES_PAGE`` of them, made before
    ``before``): each one's file can be downloaded again."""
    params = {"limit": str(BATCHES_PAGE)} | ({"before": before} if before else {})
    path = f"/v1/associations/{aid_of(p)}/card-batches"
    return list(await result(services, p, "GET", "cards", path, params=params))
