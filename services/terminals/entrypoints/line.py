"""The gateway's raw TCP line for sync sessions (docs/terminal-protocol.md, "The line").

One connection is one session: the gateway greets with a fresh challenge, every terminal
frame carries the terminal's id, a frame counter (1, 2, 3... within the connection) and an
HMAC with the terminal's secret over the challenge and the message, so a frame cannot be
forged, and a recorded frame or session cannot be replayed. The messages are those of
HTTP (service/sync.py); a damaged frame gets a NAK, a refused message an error
frame, and nothing a terminal sends can stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.terminals.domain.sync import SyncError
from services.terminals.domain.terminals import Terminal
from services.terminals.service.registry import TerminalRegistry
from services.terminals.service.sync import SyncService
from shared import logging as log
from shared.db import is_transient
from shared.sync import framing
from shared.sync.client import GATEWAY_DOMAIN, ZERO_MAC, Link, LinkError
from shared.sync.messages import REQUESTS, Chunk, Close, Hello, MessageType, Updates

IDLE_TIMEOUT_S = 120.0
MAX_AUTH_FAILURES = 3
# Issue 11, build item 8: a client that never says a valid HELLO, or sends only malformed
# frames, is hung up (settings line_hello_timeout_s and line_max_malformed).
HELLO_TIMEOUT_S = 30.0
MAX_MALFORMED = 3
_log = log.get("line")


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    terminal_id: UUID
    counter: int = Field(ge=1, le=2**31)
    type: MessageType
    body: dict[str, Any]


class _Hangup(Exception):
    pass


class LineSession:
    def __init__(
        self,
        link: Link,
        svc: SyncService,
        terminals: TerminalRegistry,
        hello_timeout_s: float = HELLO_TIMEOUT_S,
        max_malformed: int = MAX_MALFORMED,
    ) -> None:
        self.link = link
        self.hello_timeout_s = hello_timeout_s
        self.max_malformed = max_malformed
        # Malformed frames: damaged ones (NAKed: bad LRC, truncated, oversize) and intact
        # ones that are not the protocol.
        # Before HELLO they add up; after it a valid message starts the count again, so a
        # noisy line that recovers is not hung up.
        self.malformed = 0
        link.on_bad = self._damaged_frame
        self.svc = svc
        self.terminals = terminals
        self.challenge = secrets.token_hex(16)
        self.terminal: Terminal | None = None
        self.counter = 0
        self.session_id: UUID | None = None
        self.last_request: bytes | None = None
        self.last_reply: bytes | None = None
        self.auth_failures = 0
        self.busy = False  # between a request's arrival and the ACK of its answer

    async def run(self) -> None:
        greeting = {
            "type": "challenge",
            "challenge": self.challenge,
            "protocol": 1,
            "max_payload": self.link.decoder.max_payload,
        }
        await self.link.send(ZERO_MAC.encode() + b" " + orjson.dumps(greeting))
        loop = asyncio.get_running_loop()
        hello_by = loop.time() + self.hello_timeout_s
        while True:
            timeout = IDLE_TIMEOUT_S
            if self.session_id is None:
                timeout = min(timeout, hello_by - loop.time())
                if timeout <= 0:
                    _log.info("line_hangup", why="no valid HELLO in time")
                    return
            payload = await self.link.receive(timeout)
            if payload is None:
                return  # idle, or no HELLO in time: hang up
            self.busy = True
            if payload == self.last_request and self.last_reply is not None:
                # The terminal did not get our answer: the same one again, not a second commit.
                await self.link.send(self.last_reply)
                self.busy = False
                continue
            reply = await self.dispatch(payload)
            self.last_request, self.last_reply = payload, reply
            await self.link.send(reply)
            self.busy = False
            if self.auth_failures >= MAX_AUTH_FAILURES:
                return
            if self.malformed >= self.max_malformed:
                _log.info("line_hangup", why="malformed frames", count=self.malformed)
                return

    def _damaged_frame(self, reason: str) -> None:
        if reason == "noise":
            return  # bytes between frames, not a frame: the HELLO and idle timeouts bound them
        self.malformed += 1
        if self.malformed >= self.max_malformed:
            _log.info("line_hangup", why="malformed frames", count=self.malformed)
            raise LinkError(f"{self.malformed} malformed frames")

    def _seal(self, counter: int, type_: str, body: dict[str, Any]) -> bytes:
        message = {"counter": counter, "type": type_, "body": body}
        if self.terminal is None:
            return ZERO_MAC.encode() + b" " + orjson.dumps(message)
        return framing.seal(self.terminal.secret, self.challenge + GATEWAY_DOMAIN, message)

    def _error(self, counter: int, exc: SyncError, *, sealed: bool = True) -> bytes:
        body = {"code": exc.code, "detail": exc.detail, **exc.extra}
        if not sealed:
            return (
                ZERO_MAC.encode()
                + b" "
                + orjson.dumps({"counter": counter, "type": "error", "body": body})
            )
        return self._seal(counter, "error", body)

    async def dispatch(self, payload: bytes) -> bytes:
        parts = framing.split(payload)
        counter = 0
        try:
            if parts is None:
                raise SyncError("malformed", "a frame's payload is MAC, space, JSON")
            mac, body = parts
            try:
                env = Envelope.model_validate_json(body, strict=True)
            except ValidationError as exc:
                raise SyncError("malformed", _first_error(exc)) from exc
            counter = env.counter
            if self.terminal is None:
                t = await self.terminals.get(env.terminal_id)
                if t is None or not t.active:
                    self.auth_failures += 1
                    return self._error(counter, SyncError("unknown_terminal"), sealed=False)
                if not framing.check(t.secret, self.challenge, mac, body):
                    self.auth_failures += 1
                    return self._error(counter, SyncError("bad_signature"), sealed=False)
                self.terminal = t
            elif env.terminal_id != self.terminal.id or not framing.check(
                self.terminal.secret, self.challenge, mac, body
            ):
                self.auth_failures += 1
                return self._error(counter, SyncError("bad_signature"), sealed=False)
            if env.counter <= self.counter:
                raise SyncError("replay", f"frame counter {env.counter} was already used")
            if env.counter != self.counter + 1:
                raise SyncError("protocol", f"frame counter {self.counter + 1} expected")
            self.counter = env.counter
            reply = await self.handle(env)
            if self.session_id is not None:
                self.malformed = 0
            return self._seal(counter, env.type, reply)
        except SyncError as exc:
            if exc.code == "malformed":
                self.malformed += 1
            return self._error(counter, exc, sealed=self.terminal is not None)
        except (asyncpg.PostgresError, OSError) as exc:
            if not is_transient(exc):
                _log.exception("line_message_failed")
            return self._error(counter, SyncError("busy"), sealed=self.terminal is not None)

    async def handle(self, env: Envelope) -> dict[str, Any]:
        t = self.terminal
        assert t is not None
        who = t.who
        model = REQUESTS[env.type]
        try:
            # Strict JSON validation, as over HTTP (issue 11, finding 12): the body is read
            # again as JSON, where strict mode still takes UUIDs and times as strings.
            msg = model.model_validate_json(orjson.dumps(env.body), strict=True)
        except ValidationError as exc:
            raise SyncError("malformed", _first_error(exc)) from exc
        if isinstance(msg, Hello):
            if self.session_id is not None:
                raise SyncError("protocol", "one HELLO per connection")
            hello = await self.svc.hello(who, msg, "line")
            self.session_id = hello.session_id
            return hello.model_dump(mode="json")
        if self.session_id is None:
            raise SyncError("protocol", "say HELLO first")
        if getattr(msg, "session_id", None) != self.session_id:
            raise SyncError("unknown_session", "not this connection's session")
        if isinstance(msg, Chunk):
            return (await self.svc.chunk(who, msg)).model_dump(mode="json")
        if isinstance(msg, Close):
            return (await self.svc.close(who, msg)).model_dump(mode="json")
        if isinstance(msg, Updates):
            return (await self.svc.updates(who, msg)).model_dump(mode="json")
        raise SyncError("protocol", f"unknown message {env.type}")


def _first_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"[:300]


class LineServer:
    def __init__(
        self,
        svc: SyncService,
        terminals: TerminalRegistry,
        max_payload: int = framing.MAX_PAYLOAD,
        hello_timeout_s: float = HELLO_TIMEOUT_S,
        max_malformed: int = MAX_MALFORMED,
    ) -> None:
        self.svc = svc
        self.terminals = terminals
        self.max_payload = max_payload
        self.hello_timeout_s = hello_timeout_s
        self.max_malformed = max_malformed
        self.server: asyncio.Server | None = None
        self.sessions: dict[asyncio.Task[None], LineSession] = {}

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(
            self._connected, host, port, reuse_address=True, backlog=4096
        )
        _log.info("line_listening", host=host, port=port)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        link = Link(reader, writer, max_payload=self.max_payload)
        session = self.sessions[task] = LineSession(
            link, self.svc, self.terminals, self.hello_timeout_s, self.max_malformed
        )
        try:
            await session.run()
        except (ConnectionError, LinkError):
            pass  # the terminal hung up or stopped answering: it resumes next time
        except Exception:
            _log.exception("line_session_crashed")
        finally:
            self.sessions.pop(task, None)
            await link.close()

    async def stop(self, grace_s: float) -> None:
        """Stop accepting, let the sessions in hand finish their message, then hang up."""
        if self.server is not None:
            self.server.close()
        for task, session in list(self.sessions.items()):
            if not session.busy:
                task.cancel()  # waiting for the terminal: nothing in hand
        if self.sessions:
            _, pending = await asyncio.wait(set(self.sessions), timeout=grace_s)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(BaseException):
                    await task
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)
