"""A back-office question to another service of the project that its answer's status settles
(does cards hold this merchant in this association, crm this referral code?): one GET with the
admin token."""

from __future__ import annotations

import aiohttp

from shared.settings import Settings


async def status_of(settings: Settings, url: str, timeout: aiohttp.ClientTimeout) -> int:
    """The status of GET ``url``; aiohttp.ClientError or TimeoutError when none came."""
    headers = {"Authorization": f"Bearer {settings.admin_token}"}
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url, headers=headers) as r:
        return r.status
