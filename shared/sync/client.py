"""The terminal's side of a sync session (docs/terminal-protocol.md).

``SyncClient(transport).run(journal)`` says HELLO, uploads the journal after the gateway's
last committed sequence in chunks, closes with counts and totals (re-sending the ranges the
gateway reports missing), then downloads parameters and blacklist changes and hands them to
the journal in one call, so the terminal applies them atomically. A connection lost at any
step opens a new session that resumes from what the gateway says it holds: nothing is lost
and nothing is doubled, because the gateway skips lines it already holds identically.

Transports: ``HttpTransport`` (signed requests, shared/signing.py) and ``LineTransport`` (a
raw TCP line with STX/ETX/LRC frames, ACK/NAK and MACs, shared/sync/framing.py). ``Link`` is
the half-duplex link layer both the line transport and the gateway's line server use.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import aiohttp
import orjson

from shared import signing
from shared.contracts import CardTransaction
from shared.sync import framing
from shared.sync.messages import (
    MAX_CHUNK,
    ChunkReply,
    CloseReply,
    HelloReply,
    UpdatesReply,
)

# Link timings (seconds): the wait for an ACK, the gap allowed inside a frame, the wait for
# the answer to a request (a chunk's commit included), and the retries after NAK or silence.
ACK_TIMEOUT_S = 3.0
INTERBYTE_TIMEOUT_S = 5.0
REPLY_TIMEOUT_S = 30.0
LINK_RETRIES = 3
GATEWAY_DOMAIN = ":gw"  # the gateway's frames are MAC'd over challenge + ":gw"
ZERO_MAC = "0" * framing.MAC_HEX  # frames the gateway cannot authenticate (greeting, early errors)


class TransportError(Exception):
    """The line or the network failed: the session is lost, a new one resumes."""


class SyncRefused(Exception):
    """The gateway refused a message (``code``: shared.sync.messages.ERRORS)."""

    def __init__(self, code: str, detail: str, status: int = 0, **extra: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status
        self.extra = extra


# Refusals a new session cures (the gateway said where to resume, or was busy).
RESUMABLE = frozenset(
    {"busy", "session_expired", "unknown_session", "out_of_order", "replay", "protocol"}
)


class Transport(Protocol):
    terminal_id: str

    async def call(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send one message (``hello``, ``chunk``, ``close``, ``updates``), return the reply
        body; raise SyncRefused or TransportError."""
        ...

    async def reset(self) -> None:
        """Forget the connection after a failure; the next ``hello`` opens a new one."""
        ...

    async def aclose(self) -> None: ...


class JournalSource(Protocol):
    """The terminal's journal, as the client needs it (the terminal's SQLite journal
    implements it; tests use tests/cardtx.py's MemoryJournal)."""

    def hello(self) -> dict[str, Any]:
        """params_version, blacklist_version, pending_count, journal_first_seq,
        journal_last_seq (both 0 for an empty journal)."""
        ...

    def unsynced(self, after_seq: int, limit: int) -> list[CardTransaction]:
        """Up to ``limit`` lines with seq > after_seq, in seq order, synced or not (a
        mismatch at the close asks for lines again)."""
        ...

    def totals(self, from_seq: int, to_seq: int) -> tuple[int, int]:
        """Count and sum of amount_cents of the lines in from_seq..to_seq."""
        ...

    def committed(self, through_seq: int) -> None:
        """The gateway holds every line through this seq: they may be marked synced."""
        ...

    def apply_updates(
        self,
        configuration: dict[str, Any] | None,
        params: dict[str, Any] | None,
        params_version: int,
        blacklist: list[dict[str, Any]],
        blacklist_version: int,
    ) -> None:
        """All of a session's updates, to apply in one local transaction."""
        ...


@dataclass
class SyncReport:
    ok: bool = False
    error: str | None = None
    sessions: int = 0
    session_ids: list[str] = field(default_factory=list)
    first_connection: bool = False
    last_committed_seq: int = 0
    chunks: int = 0
    sent: int = 0
    inserted: int = 0
    skipped: int = 0
    close_status: str | None = None
    missing: list[tuple[int, int]] = field(default_factory=list)
    params_version: int = 0
    params_updated: bool = False
    blacklist_version: int = 0
    blacklist_changes: int = 0
    configuration: dict[str, Any] | None = None
    failures: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


class SyncClient:
    def __init__(
        self,
        transport: Transport,
        *,
        software: str = "comptoir-terminal",
        chunk_size: int = MAX_CHUNK,
        blacklist_page: int = 1000,
        max_sessions: int = 5,
        backoff_s: float = 0.2,
        repair_rounds: int = 2,
    ) -> None:
        self.transport = transport
        self.software = software
        self.chunk_size = chunk_size
        self.blacklist_page = blacklist_page
        self.max_sessions = max_sessions
        self.backoff_s = backoff_s
        self.repair_rounds = repair_rounds

    async def run(self, journal: JournalSource) -> SyncReport:
        report = SyncReport()
        started = time.perf_counter()
        try:
            for attempt in range(self.max_sessions):
                try:
                    await self._session(journal, report)
                    report.ok = report.close_status == "ok"
                    if not report.ok:
                        report.error = "mismatch"
                    break
                except TransportError as exc:
                    report.failures.append(f"transport: {exc}")
                except SyncRefused as exc:
                    report.failures.append(exc.code)
                    if exc.code not in RESUMABLE:
                        report.error = exc.code
                        break
                await self.transport.reset()
                await asyncio.sleep(self.backoff_s * 2**attempt)
            else:
                report.error = "unreachable"
        finally:
            await self.transport.reset()
            report.elapsed_s = time.perf_counter() - started
        return report

    async def _session(self, journal: JournalSource, report: SyncReport) -> None:
        h = journal.hello()
        # An empty journal may say None for its range: the protocol says 0.
        first, last = int(h.get("journal_first_seq") or 0), int(h.get("journal_last_seq") or 0)
        if not first or not last:
            first = last = 0
        report.sessions += 1
        hello = HelloReply.model_validate(
            await self.transport.call(
                "hello",
                {
                    "terminal_id": self.transport.terminal_id,
                    "software": str(h.get("software") or self.software),
                    "params_version": int(h.get("params_version") or 0),
                    "blacklist_version": int(h.get("blacklist_version") or 0),
                    "pending_count": int(h.get("pending_count") or 0),
                    "journal_first_seq": first,
                    "journal_last_seq": last,
                },
            )
        )
        session = str(hello.session_id)
        report.session_ids.append(session)
        report.first_connection = report.first_connection or hello.first_connection
        report.configuration = hello.configuration.model_dump(mode="json")
        size = max(1, min(self.chunk_size, hello.max_chunk))
        through = hello.last_committed_seq
        if through:
            journal.committed(min(through, last) if last else through)
        # Upload what follows the gateway's last committed sequence.
        after = max(through, first - 1) if first else through
        while after < last:
            lines = [t for t in journal.unsynced(after, min(size, last - after)) if t.seq <= last]
            if not lines:
                break
            reply = await self._chunk(session, lines, report)
            after = lines[-1].seq
            journal.committed(min(reply.committed_through, last))
        report.last_committed_seq = max(report.last_committed_seq, after)
        # Close; a mismatch is answered with the ranges to send again.
        for round_ in range(self.repair_rounds + 1):
            count, amount = journal.totals(first, last) if first else (0, 0)
            close = CloseReply.model_validate(
                await self.transport.call(
                    "close",
                    {
                        "session_id": session,
                        "from_seq": first,
                        "to_seq": last,
                        "count": count,
                        "amount_cents": amount,
                    },
                )
            )
            report.close_status, report.missing = close.status, list(close.missing)
            if close.status == "ok" or round_ == self.repair_rounds:
                break
            sent = 0
            for a, b in close.missing:
                sent += await self._send_range(session, journal, a, b, size, report)
            if not sent:
                break  # the journal no longer has the lines: the operator must look
        if report.close_status == "ok" and last:
            journal.committed(last)
        # Updates, paged; applied together at the end.
        pv, bv = int(h.get("params_version") or 0), int(h.get("blacklist_version") or 0)
        params: dict[str, Any] | None = None
        blacklist: list[dict[str, Any]] = []
        while True:
            u = UpdatesReply.model_validate(
                await self.transport.call(
                    "updates",
                    {
                        "session_id": session,
                        "params_version": pv,
                        "blacklist_version": bv,
                        "max_entries": self.blacklist_page,
                    },
                )
            )
            if u.params is not None:
                params = u.params
            pv, bv = u.params_version, u.blacklist_version
            blacklist.extend(e.model_dump(mode="json") for e in u.blacklist)
            if not u.more:
                break
        journal.apply_updates(report.configuration, params, pv, blacklist, bv)
        report.params_version, report.blacklist_version = pv, bv
        report.params_updated = report.params_updated or params is not None
        report.blacklist_changes += len(blacklist)

    async def _chunk(
        self, session: str, lines: Sequence[CardTransaction], report: SyncReport
    ) -> ChunkReply:
        body = {
            "session_id": session,
            "transactions": [t.model_dump(mode="json") for t in lines],
        }
        reply = ChunkReply.model_validate(await self.transport.call("chunk", body))
        report.chunks += 1
        report.sent += len(lines)
        report.inserted += reply.inserted
        report.skipped += reply.skipped
        return reply

    async def _send_range(
        self,
        session: str,
        journal: JournalSource,
        a: int,
        b: int,
        size: int,
        report: SyncReport,
    ) -> int:
        sent, after = 0, a - 1
        while after < b:
            lines = [t for t in journal.unsynced(after, min(size, b - after)) if t.seq <= b]
            if not lines or lines[0].seq != after + 1:
                break  # a hole in the terminal's own journal
            await self._chunk(session, lines, report)
            sent += len(lines)
            after = lines[-1].seq
        return sent


# --- HTTP ----------------------------------------------------------------------------------------


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


# --- The line ------------------------------------------------------------------------------------


class LinkError(TransportError):
    pass


class Link:
    """Half-duplex link over a byte stream: frames acknowledged one at a time, a frame
    re-sent after a NAK or ACK_TIMEOUT_S of silence, LINK_RETRIES times."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        interbyte_timeout_s: float = INTERBYTE_TIMEOUT_S,
        retries: int = LINK_RETRIES,
        max_payload: int = framing.MAX_PAYLOAD,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.ack_timeout_s = ack_timeout_s
        self.interbyte_timeout_s = interbyte_timeout_s
        self.retries = retries
        self.decoder = framing.Decoder(max_payload)
        self.events: deque[framing.Event] = deque()
        self.naks_sent = 0
        # Called with the reason of each damaged frame this side NAKs: the gateway counts
        # malformed frames and hangs up on a client that sends only those (issue 11).
        self.on_bad: Callable[[str], None] | None = None

    async def next_event(self, timeout: float) -> framing.Event | None:
        """The next event within ``timeout`` seconds (None: silence); ConnectionError at EOF."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.events:
            left = deadline - loop.time()
            if left <= 0:
                return None
            wait = min(left, self.interbyte_timeout_s) if self.decoder.in_frame else left
            try:
                data = await asyncio.wait_for(self.reader.read(65536), wait)
            except TimeoutError:
                if self.decoder.in_frame:
                    bad = self.decoder.reset()  # a frame stopped half way
                    if bad is not None:
                        self.events.append(bad)
                continue
            if not data:
                raise ConnectionError("the line was closed")
            self.events.extend(self.decoder.feed(data))
        return self.events.popleft()

    def control(self, byte: int) -> None:
        if byte == framing.NAK:
            self.naks_sent += 1
        self.writer.write(bytes((byte,)))

    def _bad(self, bad: framing.Bad) -> None:
        self.control(framing.NAK)
        if self.on_bad is not None:
            self.on_bad(bad.reason)

    async def send(self, payload: bytes) -> None:
        """Send a frame and wait for its ACK. A frame arriving meanwhile means the peer got
        ours and moved on (its ACK was lost): it is kept for ``receive``."""
        frame = framing.encode(payload)
        for _ in range(self.retries + 1):
            self.writer.write(frame)
            await self.writer.drain()
            while True:
                ev = await self.next_event(self.ack_timeout_s)
                if ev is None:
                    break  # silence: send again
                if isinstance(ev, framing.Control):
                    if ev.byte == framing.ACK:
                        return
                    if ev.byte == framing.NAK:
                        break
                    raise ConnectionError("the peer ended the session (EOT)")
                if isinstance(ev, framing.Frame):
                    self.events.appendleft(ev)
                    return
                self._bad(ev)
        raise LinkError(f"no ACK after {self.retries + 1} sendings")

    async def receive(self, timeout: float) -> bytes | None:
        """The next intact frame (ACKed at once), NAKing damaged ones; None on silence."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = await self.next_event(max(0.0, deadline - loop.time()))
            if ev is None:
                return None
            if isinstance(ev, framing.Frame):
                self.control(framing.ACK)
                return ev.payload
            if isinstance(ev, framing.Bad):
                self._bad(ev)
            elif ev.byte == framing.EOT:
                raise ConnectionError("the peer ended the session (EOT)")
            # a stray ACK or NAK outside a wait: nothing to do

    async def close(self, eot: bool = True) -> None:
        with contextlib.suppress(Exception):
            if eot:
                self.writer.write(bytes((framing.EOT,)))
                await self.writer.drain()
        with contextlib.suppress(Exception):
            self.writer.close()
            await self.writer.wait_closed()


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
