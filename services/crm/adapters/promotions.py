"""cards' personal promotions, as crm's birthday trigger grants one per person: a rate
multiplied for N days for that account only (``PUT /v1/accounts/{id}/promotions/{id}``),
whose id crm derives (cards answers the same promotion for the same id)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import aiohttp

from shared import peers
from shared.settings import Settings

TIMEOUT = aiohttp.ClientTimeout(total=20)


class PromotionFailed(RuntimeError):
    """cards did not grant the promotion: the day's batch is rolled back and tried again."""


class Promotions:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.cards_url.rstrip("/")
        self._settings = settings

    @property
    def headers(self) -> dict[str, str]:
        """This service's own scope token (shared/peers.py), signed again as it ages."""
        return peers.headers(self._settings)

    async def grant(
        self,
        promotion_id: UUID,
        account_id: UUID,
        merchant_id: UUID | None,
        multiplier: int,
        starts_at: datetime,
        ends_at: datetime,
    ) -> None:
        """The account's sales from ``starts_at`` to ``ends_at`` (at ``merchant_id``, or at
        every merchant) earn ``multiplier`` times their rate, granted now or before."""
        body = {
            "reason": "birthday",
            "merchant_id": str(merchant_id) if merchant_id else None,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "multiplier": {"numerator": multiplier, "denominator": 1},
        }
        path = f"{self.url}/v1/accounts/{account_id}/promotions/{promotion_id}"
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT, headers=self.headers) as http,
            http.put(path, json=body) as r,
        ):
            if r.status not in (200, 201):
                raise PromotionFailed(f"cards answered {r.status}: {await r.text()}")
