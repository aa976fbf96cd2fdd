"""The five services, called on behalf of the signed-in person: one shared aiohttp session and
one call helper that adds a scope token of that person (signed here, minutes long), so that
each service applies the person's scope itself (shared/access.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import aiohttp

from shared import logging as log
from shared import peers
from shared.access import Principal, Signer
from shared.http import CORRELATION_HEADER
from shared.settings import Settings

Service = Literal["terminals", "cards", "clearing", "crm", "notifications"]
# One page's calls: the token outlives them, not the session.
TOKEN_LIFETIME_S = 300


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any


class Services:
    def __init__(self, settings: Settings, signer: Signer) -> None:
        self._signer = signer
        self._settings = settings
        self._urls: dict[Service, str] = {
            "terminals": settings.terminals_url,
            "cards": settings.cards_url,
            "clearing": settings.clearing_url,
            "crm": settings.crm_url,
            "notifications": settings.notifications_url,
        }
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=10),
            connector=aiohttp.TCPConnector(limit=50),
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    def token_for(self, p: Principal) -> str:
        return self._signer.issue(p, TOKEN_LIFETIME_S)

    async def call(
        self,
        p: Principal | None,
        method: str,
        service: Service,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> Answer:
        """``method`` ``path`` on ``service`` as ``p`` (None: as the portal itself, with its own
        service token: only to find a cardholder before they are signed in)."""
        assert self._http is not None, "Services.start() first"
        token = peers.token(self._settings) if p is None else self.token_for(p)
        async with self._http.request(
            method,
            self._urls[service] + path,
            params=params,
            json=json,
            headers=_headers(token),
        ) as r:
            body = await r.json(content_type=None) if r.content_length != 0 else None
            return Answer(r.status, body)

    @asynccontextmanager
    async def download(
        self, p: Principal, service: Service, path: str, params: dict[str, str]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A file of ``service`` (an export) as ``p``, to stream on as it comes: the answer
        open, its status and headers to read first (a refusal is a problem+json)."""
        assert self._http is not None, "Services.start() first"
        async with self._http.get(
            self._urls[service] + path,
            params=params,
            headers=_headers(self.token_for(p)),
            # An export of many lines takes longer than a page's call.
            timeout=aiohttp.ClientTimeout(total=300),
        ) as r:
            yield r

    async def scope_exists(self, association_id: UUID | None, merchant_id: UUID | None) -> bool:
        """Does cards know this association (and this merchant in it)? Asked as the portal
        itself: a scope given to a person or a token must name real data."""
        if association_id is None:
            return True
        path = f"/v1/associations/{association_id}"
        if merchant_id is not None:
            path += f"/merchants/{merchant_id}"
        return (await self.call(None, "GET", "cards", path)).status == 200

    async def find_account(
        self, association_id: UUID, kind: Literal["email", "phone"], value: str
    ) -> dict[str, Any] | None:
        """The account of the association this e-mail or phone names, if exactly one."""
        a = await self.call(
            None,
            "GET",
            "cards",
            f"/v1/associations/{association_id}/accounts",
            params={kind: value},
        )
        return a.body if a.status == 200 and isinstance(a.body, dict) else None


def _headers(token: str) -> dict[str, str]:
    # The page's correlation id follows the calls it makes (one trace in the logs).
    return {
        "Authorization": f"Bearer {token}",
        CORRELATION_HEADER: log.correlation_id.get() or log.new_id(),
    }
