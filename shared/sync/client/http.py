"""The HTTP transport: signed requests (shared/signing.py) to the gateway's /v1/sync/."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import aiohttp
import orjson

from shared import signing
from shared.sync.client.transport import REPLY_TIMEOUT_S, SyncRefused, TransportError


class HttpTransport:
    """Signed POSTs to /v1/sync/<kind>; a lost connection or a 503 is retried (with a fresh
    nonce: the gateway skips a chunk it already committed)."""

    def __init__(
        self,
        base_url: str,
        terminal_id: UUID | str,
        secret: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout_s: float = REPLY_TIMEOUT_S,
        attempts: int = 3,
        backoff_s: float = 0.1,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.terminal_id = str(terminal_id)
        self.secret = secret
        self._own = session is None
        self._session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.attempts = attempts
        self.backoff_s = backoff_s

    async def call(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        path = f"/v1/sync/{kind}"
        raw = orjson.dumps(body)
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            headers = signing.headers(self.terminal_id, self.secret, "POST", path, raw)
            headers["Content-Type"] = "application/json"
            try:
                async with self._session.post(
                    self.base + path, data=raw, headers=headers, timeout=self.timeout
                ) as r:
                    data = await r.read()
                    status = r.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = exc
                continue
            try:
                answer = orjson.loads(data) if data else {}
            except orjson.JSONDecodeError:
                answer = {}
            if status == 200 and isinstance(answer, dict):
                return answer
            if not isinstance(answer, dict):
                answer = {}
            code = str(answer.get("code") or ("busy" if status >= 500 else "malformed"))
            if code == "busy" or status >= 500:
                last = SyncRefused(code, str(answer.get("detail", "")), status)
                continue
            extra = {
                k: v
                for k, v in answer.items()
                if k not in ("type", "title", "status", "detail", "instance", "code")
            }
            raise SyncRefused(
                code, str(answer.get("detail", answer.get("title", ""))), status, **extra
            )
        if isinstance(last, SyncRefused):
            raise last
        raise TransportError(f"{kind}: {last!r}")

    async def reset(self) -> None:
        await self.aclose()  # a session of our own is opened again at the next call

    async def aclose(self) -> None:
        if self._own and self._session is not None:
            await self._session.close()
            self._session = None
