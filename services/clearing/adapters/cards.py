"""The cards service, as the reconciliation asks it: its liability per association (and per
customer account), and its count of the offline card lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import aiohttp

from shared import peers
from shared.settings import Settings

TIMEOUT = aiohttp.ClientTimeout(total=30)


class CardsUnavailable(Exception):
    """cards did not answer (``cause``: what the client ran into)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(repr(cause))
        self.cause = cause


class Cards:
    """A client of cards' back office, over one session (``async with Cards(settings)``)."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.cards_url
        self._settings = settings
        self.http: aiohttp.ClientSession | None = None

    @property
    def headers(self) -> dict[str, str]:
        """This service's own scope token (shared/peers.py), signed again as it ages."""
        return peers.headers(self._settings)

    async def __aenter__(self) -> Cards:
        self.http = aiohttp.ClientSession(timeout=TIMEOUT)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.http is not None:
            await self.http.close()

    def _session(self) -> aiohttp.ClientSession:
        assert self.http is not None, "use Cards in an async with"
        return self.http

    async def liability(
        self, association_id: UUID, as_of: datetime, per_account: bool = False
    ) -> dict[str, Any] | None:
        """cards' liability of an association at ``as_of`` (None: cards does not know it)."""
        try:
            return await self._liability(association_id, as_of, per_account)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CardsUnavailable(exc) from exc

    async def _liability(
        self, association_id: UUID, as_of: datetime, per_account: bool = False
    ) -> dict[str, Any] | None:
        """cards' liability of an association at ``as_of`` (None: cards does not know it)."""
        url = f"{self.url}/v1/associations/{association_id}/liability"
        params = {"as_of": as_of.isoformat()} | ({"per_account": "true"} if per_account else {})
        async with self._session().get(url, params=params, headers=self.headers) as r:
            if r.status == 404:  # an association cards does not know: it holds nothing for it
                return None
            r.raise_for_status()
            body: dict[str, Any] = await r.json()
        return body

    async def card_lines(self, association_id: UUID | None) -> dict[str, Any]:
        """cards' count of the offline card lines the gateway acknowledged, booked or held."""
        try:
            return await self._card_lines(association_id)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CardsUnavailable(exc) from exc

    async def _card_lines(self, association_id: UUID | None) -> dict[str, Any]:
        params = {"settle_s": "2"} | (
            {"association_id": str(association_id)} if association_id else {}
        )
        url = f"{self.url}/v1/card-transactions/reconciliation"
        async with self._session().get(url, params=params, headers=self.headers) as r:
            r.raise_for_status()
            body: dict[str, Any] = await r.json()
        return body
