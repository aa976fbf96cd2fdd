"""The webhooks' HTTP client: one POST per attempt, no redirect followed, a total timeout, TLS
verified (against the system's CAs, or the file COMPTOIR_WEBHOOK_CA_FILE names), and, outside
development, no connection to a private, loopback or link-local address whatever the name
resolved to (SSRF: the check is on the addresses the connection uses, so a name that resolves
to 10.0.0.1 at delivery time is refused however it resolved when it was subscribed)."""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any, NamedTuple

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from services.notifications.domain.webhooks import public_address
from shared.settings import Settings


class Answer(NamedTuple):
    status: int | None  # None: no answer
    error: str | None
    duration_ms: int


class PublicOnly(ThreadedResolver):
    """Resolves as usual, then keeps only public addresses; none left is a refusal."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await super().resolve(host, port, family)
        public = [r for r in found if public_address(r["host"])]
        if not public:
            raise OSError(f"{host} resolves to no public address")
        return public


class WebhookClient:
    def __init__(self, settings: Settings) -> None:
        context = ssl.create_default_context(cafile=settings.webhook_ca_file or None)
        development = settings.env == "development"
        connector = aiohttp.TCPConnector(
            ssl=context,
            resolver=None if development else PublicOnly(),
            limit=settings.webhook_concurrency,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_s),
            headers={"User-Agent": "Comptoir-Webhooks/1"},
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:
            async with self.session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.content.read(4096)  # a little of the answer, then close
                return Answer(response.status, None, took())
        except TimeoutError:
            return Answer(None, "timed out", took())
        except (aiohttp.ClientError, OSError) as exc:
            return Answer(None, _short(exc), took())

    async def close(self) -> None:
        await self.session.close()


def _short(exc: Any) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
