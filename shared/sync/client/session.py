"""The session itself: HELLO, the journal's chunks, the close (re-sending the ranges the
gateway reports missing), then the updates, applied in one call (``SyncClient``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.contracts import CardTransaction
from shared.sync.client.transport import RESUMABLE, SyncRefused, Transport, TransportError
from shared.sync.messages import (
    MAX_CHUNK,
    ChunkReply,
    CloseReply,
    HelloReply,
    UpdatesReply,
)


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
