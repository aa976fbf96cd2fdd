"""Attachments fetched from the services that make them (a statement's XLSX from clearing's
back-office API), at sending time: the file is the one of the closed period, read when sent."""

from __future__ import annotations

from typing import Any

import aiohttp

from services.notifications.adapters.smtp import Attached
from shared import peers
from shared.settings import Settings


class Unavailable(Exception):
    """The file could not be fetched; ``temporary``: worth trying again later."""

    def __init__(self, reason: str, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


async def download(http: aiohttp.ClientSession, settings: Settings, a: dict[str, Any]) -> Attached:
    base = {"clearing": settings.clearing_url, "cards": settings.cards_url}.get(a["service"])
    if base is None:
        raise Unavailable(f"no address known for service {a['service']}", temporary=False)
    headers = peers.headers(settings)
    try:
        async with http.get(base + a["path"], headers=headers) as r:
            if r.status != 200:
                raise Unavailable(f"{a['service']} {a['path']}: HTTP {r.status}", r.status >= 500)
            data = await r.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise Unavailable(f"{a['service']} {a['path']}: {exc!r}", temporary=True) from exc
    return Attached(a["filename"], a["content_type"], data)
