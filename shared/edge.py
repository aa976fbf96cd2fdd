"""Connections with limits (issue 11, build item 8): what a service's HTTP server gives one
client at most, so a client that never finishes cannot hold a connection for ever and a
crowd of them cannot exhaust the process.

aiohttp (3.14) has a keep-alive timeout (``keepalive_timeout``: an idle connection, or one
that has not finished its first request's head, is closed) but no read timeout for a
request's head or body and no cap on connections. This module adds them without touching
aiohttp's request handling:

- ``GuardedSite`` listens like ``web.TCPSite`` but puts a ``_Guard`` in front of each
  connection's aiohttp protocol. Over ``max_connections`` open connections, a new one gets a
  503 problem (``code`` ``busy``) and is closed at once. From the first byte of a request's
  head, the head must be complete within ``header_timeout_s`` or the connection is closed.
- ``deadlines`` is a middleware: a request's body must arrive within ``body_timeout_s`` of
  its head; past it, the body's reader fails, the request is answered 408 (``body_timeout``)
  and the connection is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from shared import logging as log
from shared.http import Problem

_log = log.get("edge")


@dataclass
class Gate:
    """The limits of one listening socket, and its count of open connections."""

    max_connections: int
    header_timeout_s: float
    body_timeout_s: float
    open: int = 0
    refused: int = 0


class BodyTimeout(TimeoutError):
    """Set on a request's body reader when the body is late. A TimeoutError, so aiohttp's
    lingering read after the answer stops on it and closes the connection."""


def _busy_response() -> bytes:
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": "Too many connections",
            "status": 503,
            "detail": "the server holds its maximum of open connections: retry in a moment",
            "code": "busy",
            "reason": "too_many_connections",
        }
    )
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


_BUSY = _busy_response()


class _Guard(asyncio.Protocol):
    """Stands between the transport and aiohttp's protocol: counts the connection, times the
    heads of its requests, and passes every call through."""

    def __init__(self, inner: RequestHandler, gate: Gate) -> None:
        self.inner = inner
        self.gate = gate
        self.admitted = False
        self.head_timer: asyncio.TimerHandle | None = None
        # The request being handled (set by ``deadlines``); None between requests.
        self.request: web.BaseRequest | None = None
        # Bytes of a next request arrived while one was handled (pipelining).
        self.pipelined = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.gate.open >= self.gate.max_connections:
            self.gate.refused += 1
            if self.gate.refused % 1000 == 1:  # one line per burst, not one per connection
                _log.warning("connection_refused", open=self.gate.open, refused=self.gate.refused)
            tcp = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport
            tcp.write(_BUSY)
            tcp.close()
            return
        self.admitted = True
        self.gate.open += 1
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        if self.request is None:
            if self.head_timer is None:  # the first byte of a head: its clock starts
                self.arm_head_timer()
        elif self.request.content.is_eof():
            self.pipelined = True
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self.admitted:
            self.inner.eof_received()
        return None  # as aiohttp's: a half-closed connection is closed

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.admitted:
            return
        self.admitted = False
        self.gate.open -= 1
        self.cancel_head_timer()
        self.inner.connection_lost(exc)

    def arm_head_timer(self) -> None:
        self.cancel_head_timer()
        loop = asyncio.get_running_loop()
        self.head_timer = loop.call_later(self.gate.header_timeout_s, self._head_late)

    def cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_late(self) -> None:
        self.head_timer = None
        if self.request is None and self.admitted:
            _log.info("connection_closed", why="request head not complete in time")
            self.inner.force_close()

    def request_started(self, request: web.BaseRequest) -> None:
        self.cancel_head_timer()
        self.request = request
        self.pipelined = False

    def request_ended(self) -> None:
        self.request = None
        if self.pipelined and self.admitted:  # a next head is on its way: its clock runs
            self.arm_head_timer()
        self.pipelined = False


class GuardedSite(web.TCPSite):
    """``web.TCPSite`` whose connections pass through a ``_Guard`` with the gate's limits."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, gate: Gate, **kw: Any):
        super().__init__(runner, host, port, **kw)
        self.gate = gate

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        gate = self.gate
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Guard(server(), gate),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


def _late_body(request: web.BaseRequest) -> None:
    if not request.content.is_eof():
        request.content.set_exception(BodyTimeout())


def deadlines(gate: Gate) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware that ends a head's clock and runs the body's."""

    @web.middleware
    async def mw(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        transport = request.transport
        guard = transport.get_protocol() if transport is not None else None
        if not isinstance(guard, _Guard):
            guard = None
        if guard is not None:
            guard.request_started(request)
        timer = None
        if not request.content.is_eof():
            loop = asyncio.get_running_loop()
            timer = loop.call_later(gate.body_timeout_s, _late_body, request)
        try:
            return await handler(request)
        except BodyTimeout as exc:
            _log.info("connection_closed", why="request body not complete in time")
            raise Problem(
                408,
                "Body too slow",
                f"the body did not arrive within {gate.body_timeout_s:g} s; the connection "
                "is closed",
                code="body_timeout",
                reason="body_timeout",
            ) from exc
        finally:
            if timer is not None:
                timer.cancel()
            if guard is not None:
                guard.request_ended()

    return mw
