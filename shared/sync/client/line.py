"""The line transport: a sync session over the gateway's raw TCP line, its frames MAC'd under
the session's challenge (shared/sync/framing.py)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from uuid import UUID

import orjson

from shared.sync import framing
from shared.sync.client.link import Link
from shared.sync.client.transport import (
    ACK_TIMEOUT_S,
    GATEWAY_DOMAIN,
    REPLY_TIMEOUT_S,
    ZERO_MAC,
    SyncRefused,
    TransportError,
)


class LineTransport:
    """A sync session over the gateway's TCP line: one connection per session (each has its
    own challenge, so a recorded session cannot be replayed)."""

    def __init__(
        self,
        host: str,
        port: int,
        terminal_id: UUID | str,
        secret: str,
        *,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.terminal_id = str(terminal_id)
        self.secret = secret
        self.reply_timeout_s = reply_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.link: Link | None = None
        self.challenge = ""
        self.counter = 0

    async def _connect(self) -> Link:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot reach the line: {exc!r}") from exc
        link = Link(reader, writer, ack_timeout_s=self.ack_timeout_s)
        try:
            payload = await link.receive(self.reply_timeout_s)
        except ConnectionError as exc:
            await link.close(eot=False)
            raise TransportError(str(exc)) from exc
        parts = framing.split(payload) if payload else None
        greeting: Any = None
        if parts is not None:
            with contextlib.suppress(orjson.JSONDecodeError):
                greeting = orjson.loads(parts[1])
        if not isinstance(greeting, dict) or greeting.get("type") != "challenge":
            await link.close()
            raise TransportError("no greeting from the gateway")
        self.link, self.challenge, self.counter = link, str(greeting["challenge"]), 0
        return link

    async def call(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind == "hello" and self.link is not None:
            await self.reset()  # a new session needs a new challenge
        link = self.link or await self._connect()
        self.counter += 1
        message = {
            "terminal_id": self.terminal_id,
            "counter": self.counter,
            "type": kind,
            "body": body,
        }
        try:
            await link.send(framing.seal(self.secret, self.challenge, message))
            while True:
                payload = await link.receive(self.reply_timeout_s)
                if payload is None:
                    raise TransportError(f"no answer to {kind} in {self.reply_timeout_s} s")
                reply = self._open(payload)
                if reply is not None and reply.get("counter") == self.counter:
                    break
        except ConnectionError as exc:
            await self.reset()
            raise TransportError(f"{kind}: {exc}") from exc
        except TransportError:
            await self.reset()
            raise
        if reply.get("type") == "error":
            err = reply.get("body") or {}
            extra = {k: v for k, v in err.items() if k not in ("code", "detail") and v is not None}
            raise SyncRefused(str(err.get("code")), str(err.get("detail", "")), 0, **extra)
        answer = reply.get("body")
        if not isinstance(answer, dict):
            raise TransportError(f"{kind}: an answer without a body")
        return answer

    def _open(self, payload: bytes) -> dict[str, Any] | None:
        """The gateway's message if its MAC is right; an unauthenticated error (zero MAC,
        the gateway could not tell who we are) is believed only as an error."""
        parts = framing.split(payload)
        if parts is None:
            return None
        mac, body = parts
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(message, dict):
            return None
        if framing.check(self.secret, self.challenge + GATEWAY_DOMAIN, mac, body):
            return message
        if mac == ZERO_MAC and message.get("type") == "error":
            return message
        return None

    async def reset(self) -> None:
        link, self.link = self.link, None
        if link is not None:
            await link.close()

    async def aclose(self) -> None:
        await self.reset()
