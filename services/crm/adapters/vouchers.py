"""cards' gift vouchers (F11), as crm's birthday trigger issues one per person: a batch of
one, whose id crm derives (cards answers the same batch for the same id), and its code."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from uuid import UUID

import aiohttp

from services.crm.adapters.promotions import Promotions
from shared import peers
from shared.settings import Settings

TIMEOUT = aiohttp.ClientTimeout(total=20)


class VoucherFailed(RuntimeError):
    """cards did not issue the voucher: the day's batch is rolled back and tried again."""


class Vouchers:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.cards_url.rstrip("/")
        self._settings = settings
        # The birthday's other offer, on the same service: a rate multiplied for N days.
        self.promotions = Promotions(settings)

    @property
    def headers(self) -> dict[str, str]:
        """This service's own scope token (shared/peers.py), signed again as it ages."""
        return peers.headers(self._settings)

    async def issue(
        self, batch_id: UUID, association_id: UUID, value_cents: int, expires_at: datetime
    ) -> str:
        """The code of the one voucher of batch ``batch_id`` (issued now, or before)."""
        body = {
            "batch_id": str(batch_id),
            "reason": "birthday",
            "value_cents": value_cents,
            "expires_at": expires_at.isoformat(),
            "size": 1,
        }
        async with aiohttp.ClientSession(timeout=TIMEOUT, headers=self.headers) as http:
            async with http.post(
                f"{self.url}/v1/associations/{association_id}/voucher-batches", json=body
            ) as r:
                if r.status not in (200, 201):
                    raise VoucherFailed(f"cards answered {r.status}: {await r.text()}")
            async with http.get(f"{self.url}/v1/voucher-batches/{batch_id}.csv") as r:
                if r.status != 200:
                    raise VoucherFailed(f"cards answered {r.status} for the codes")
                text = (await r.read()).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text), delimiter=_delimiter(text)))
        if len(rows) != 1:
            raise VoucherFailed(f"a batch of one has {len(rows)} codes")
        return rows[0]["code"]


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","
