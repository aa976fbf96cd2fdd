"""Calls from one service of the project to another: each with a scope token the calling
service signs itself with its own key (shared/access.py: kid ``svc-<name>``, the actor
``service:<name>``, the operator's reach), never with the operator's admin token; and a
back-office question whose answer's status settles it (does cards hold this merchant in this
association, crm this referral code?)."""

from __future__ import annotations

import aiohttp

from shared import clock
from shared.access import Signer, service_principal
from shared.settings import Settings

# A token lives 5 minutes and is signed again after one: a call never carries one about to
# expire, and a signature costs once a minute, not once a call.
LIFETIME_S = 300
REUSE_S = 60

_held: dict[str, tuple[float, str]] = {}


def token(settings: Settings) -> str:
    """This service's scope token for its calls (signed again when a minute old)."""
    spec = settings.service_key()
    now = clock.now().timestamp()
    held = _held.get(spec)
    if held is None or not 0 <= now - held[0] < REUSE_S:  # a clock moved back: sign anew
        held = _held[spec] = (
            now,
            Signer(spec).issue(service_principal(settings.service), LIFETIME_S),
        )
    return held[1]


def headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(settings)}"}


async def status_of(settings: Settings, url: str, timeout: aiohttp.ClientTimeout) -> int:
    """The status of GET ``url``; aiohttp.ClientError or TimeoutError when none came."""
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(url, headers=headers(settings)) as r,
    ):
        return r.status
