"""The other services, as crm asks them what they hold of a person (GDPR access), over their
back-office HTTP APIs with the service token."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import aiohttp

from shared import peers
from shared.http import Problem
from shared.settings import Settings

TIMEOUT = aiohttp.ClientTimeout(total=20)


class Others:
    """One session for the questions of one access request (``async with Others(settings)``)."""

    def __init__(self, settings: Settings) -> None:
        self.urls = {
            "terminals": settings.terminals_url,
            "cards": settings.cards_url,
            "clearing": settings.clearing_url,
            "notifications": settings.notifications_url,
        }
        self._settings = settings
        self.http: aiohttp.ClientSession | None = None

    @property
    def headers(self) -> dict[str, str]:
        """This service's own scope token (shared/peers.py), signed again as it ages."""
        return peers.headers(self._settings)

    async def __aenter__(self) -> Others:
        self.http = aiohttp.ClientSession(timeout=TIMEOUT)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.http is not None:
            await self.http.close()

    async def get(
        self, service: str, path: str, params: list[tuple[str, str]] | None = None
    ) -> Any:
        """The JSON answer; None for a 404 (the service knows nothing of the person); a 503
        problem when the service cannot answer, since an access answer must be whole."""
        assert self.http is not None, "use Others in an async with"
        try:
            async with self.http.get(
                self.urls[service] + path, params=params, headers=self.headers
            ) as r:
                if r.status == 404:
                    return None
                if r.status != 200:
                    raise Problem(
                        503,
                        "Service unavailable",
                        f"{service} answered {r.status}",
                        reason="service_unavailable",
                        service=service,
                    )
                return await r.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Problem(
                503,
                "Service unavailable",
                f"{service} did not answer",
                reason="service_unavailable",
                service=service,
            ) from exc

    async def of_person(self, account_id: UUID, addresses: list[str]) -> dict[str, Any]:
        return {
            "terminals": await self.get("terminals", f"/v1/people/{account_id}/enrolments"),
            "cards": await self.get("cards", f"/v1/accounts/{account_id}"),
            "clearing": await self.get("clearing", f"/v1/accounts/{account_id}/personal-data"),
            "notifications": await self.get(
                "notifications", "/v1/people/messages", [("address", a) for a in addresses]
            )
            if addresses
            else {"messages": []},
        }
