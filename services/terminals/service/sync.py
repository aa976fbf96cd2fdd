"""Sync sessions of offline terminals at the gateway (docs/terminal-protocol.md): HELLO, chunk
commits, CLOSE and UPDATES, the same whichever transport (HTTP or the line) carried them.

A chunk is committed in one transaction that locks the terminal's registry row (two sessions
of one terminal take turns, other terminals do not wait), inserts the new journal lines in
one statement, writes one CardTransactionsSynced event to the outbox and moves the
terminal's last committed sequence: the terminal hears "committed" only after the commit, so
a cut at any point leaves either the whole chunk or nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar
from uuid import UUID, uuid4

import asyncpg

from services.terminals.adapters import requests as request_store
from services.terminals.adapters import sync_sessions as store
from services.terminals.adapters import terminals as terminal_store
from services.terminals.domain.sync import (
    SESSION_TTL_S,
    SyncError,
    Transport,
    check_chunk,
    check_close,
    check_resume,
    content_hash,
    fresh_lines,
    session_state,
)
from services.terminals.domain.sync_registry import SyncRegistryEntry, entry
from services.terminals.domain.terminals import Who
from shared import clock, outbox
from shared.contracts import CardTransactionsSynced
from shared.db import is_transient
from shared.events import new_event
from shared.sync.messages import (
    MAX_CHUNK,
    BlacklistEntry,
    Chunk,
    ChunkReply,
    Close,
    CloseReply,
    Configuration,
    Hello,
    HelloReply,
    Updates,
    UpdatesReply,
    missing_ranges,
)

T = TypeVar("T")


class SyncService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        max_chunk: int = MAX_CHUNK,
        session_ttl_s: int = SESSION_TTL_S,
    ) -> None:
        self.pool = pool
        self.max_chunk = max_chunk
        self.session_ttl_s = session_ttl_s

    async def _tx(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """One transaction, retried on a deadlock or a lost connection; ``busy`` at the end."""
        for attempt in range(4):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    return await work(conn)
            except SyncError:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if attempt == 3:
                    raise SyncError("busy") from exc
                await asyncio.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    @staticmethod
    async def _nonce(conn: asyncpg.Connection, terminal_id: UUID, nonce: str | None) -> None:
        """HTTP requests spend their nonce in the transaction of their work: a replay is
        refused and a refused request leaves its nonce unspent for nothing."""
        if nonce is not None and not await request_store.spend_nonce(conn, terminal_id, nonce):
            raise SyncError("replay", "this nonce was already used")

    async def _session(
        self, conn: asyncpg.Connection, who: Who, session_id: UUID, *, lock: bool
    ) -> asyncpg.Record:
        """The terminal's registry row (locked for a commit) and its session's state."""
        row = await store.session(conn, who.id, session_id, self.session_ttl_s, lock=lock)
        session_state(
            None if row is None else row["status"],
            None if row is None else row["expired"],
            session_id,
        )
        assert row is not None
        return row

    async def hello(
        self, who: Who, msg: Hello, transport: Transport, nonce: str | None = None
    ) -> HelloReply:
        if msg.terminal_id != who.id:
            raise SyncError("malformed", "terminal_id is not the terminal that signed the message")
        session_id = uuid4()

        async def work(conn: asyncpg.Connection) -> HelloReply:
            await self._nonce(conn, who.id, nonce)
            label = await terminal_store.label(conn, who.id)
            committed, first = await store.hello(conn, who, msg, session_id, transport)
            return HelloReply(
                session_id=session_id,
                last_committed_seq=committed,
                server_time=clock.now(),
                first_connection=first,
                configuration=Configuration(
                    terminal_id=who.id,
                    association_id=who.association_id,
                    merchant_id=who.merchant_id,
                    shop_id=who.shop_id,
                    label=label,
                ),
                max_chunk=self.max_chunk,
            )

        return await self._tx(work)

    def check_chunk(self, msg: Chunk) -> None:
        """What can be refused before touching the database."""
        check_chunk(msg, self.max_chunk)

    async def chunk(self, who: Who, msg: Chunk, nonce: str | None = None) -> ChunkReply:
        self.check_chunk(msg)
        txs = msg.transactions
        first, last = txs[0].seq, txs[-1].seq
        hashes = [content_hash(t) for t in txs]

        async def work(conn: asyncpg.Connection) -> ChunkReply:
            await self._nonce(conn, who.id, nonce)
            state = await self._session(conn, who, msg.session_id, lock=True)
            check_resume(first, state["last_committed_seq"])
            fresh = list(range(len(txs)))
            if first <= state["last_committed_seq"]:
                known = await store.committed_hashes(conn, who.id, first, last)
                fresh = fresh_lines([t.seq for t in txs], hashes, known)
            chunk_id = uuid4()
            if fresh:
                new = [txs[i] for i in fresh]
                await store.insert_lines(
                    conn, who.id, chunk_id, msg.session_id, new, [hashes[i] for i in fresh]
                )
                synced = CardTransactionsSynced(
                    chunk_id=chunk_id,
                    association_id=who.association_id,
                    merchant_id=who.merchant_id,
                    shop_id=who.shop_id,
                    terminal_id=who.id,
                    synced_at=clock.now(),
                    transactions=new,
                    params_version=state["params_version"],
                )
                subject = f"terminal/{who.id}/{first}-{last}"
                await outbox.write(conn, [new_event("terminals", synced, subject=subject)])
            skipped = len(txs) - len(fresh)
            through = await store.chunk_committed(
                conn, who.id, msg.session_id, len(fresh), skipped, last
            )
            return ChunkReply(committed_through=through, inserted=len(fresh), skipped=skipped)

        try:
            return await self._tx(work)
        except SyncError as exc:
            if exc.code == "seq_conflict":
                await store.fail(self.pool, msg.session_id, who.id, exc.code)
            raise

    async def close(self, who: Who, msg: Close, nonce: str | None = None) -> CloseReply:
        check_close(msg)

        async def work(conn: asyncpg.Connection) -> CloseReply:
            await self._nonce(conn, who.id, nonce)
            state = await self._session(conn, who, msg.session_id, lock=False)
            count, amount = 0, 0
            missing: list[tuple[int, int]] = []
            if msg.from_seq > 0:
                count, amount = await store.range_totals(conn, who.id, msg.from_seq, msg.to_seq)
                if count < msg.to_seq - msg.from_seq + 1:
                    held = await store.present(conn, who.id, msg.from_seq, msg.to_seq)
                    missing = missing_ranges(held, msg.from_seq, msg.to_seq)
            ok = not missing and (count, amount) == (msg.count, msg.amount_cents)
            status: Literal["ok", "mismatch"] = "ok" if ok else "mismatch"
            await store.close(
                conn, who.id, msg.session_id, status, msg.count, msg.amount_cents, missing
            )
            return CloseReply(
                status=status,
                missing=missing,
                committed_count=count,
                committed_amount_cents=amount,
                last_committed_seq=state["last_committed_seq"],
            )

        return await self._tx(work)

    async def updates(self, who: Who, msg: Updates, nonce: str | None = None) -> UpdatesReply:
        async def work(conn: asyncpg.Connection) -> UpdatesReply:
            await self._nonce(conn, who.id, nonce)
            await self._session(conn, who, msg.session_id, lock=False)
            params = await store.parameters(conn, who.merchant_id, msg.params_version)
            newer = params if params and params["rules_version"] > msg.params_version else None
            rows = await store.blacklist_page(
                conn, who.association_id, msg.blacklist_version, msg.max_entries + 1
            )
            more = len(rows) > msg.max_entries
            rows = rows[: msg.max_entries]
            # Without more, the page holds every change of the association after the
            # cursor, so its last row is the association's latest.
            version = rows[-1]["received"] if rows else msg.blacklist_version
            params_version = newer["rules_version"] if newer else msg.params_version
            await store.delivered(conn, who.id, msg.session_id, params_version, version, more)
            return UpdatesReply(
                params=newer["document"] if newer else None,
                params_status="new" if newer else "current" if params else "not_computed",
                params_version=params_version,
                blacklist=[
                    BlacklistEntry(
                        version=r["version"],
                        card_number=r["card_number"],
                        action=r["action"],
                        reason=r["reason"],
                    )
                    for r in rows
                ],
                blacklist_version=version,
                more=more,
            )

        return await self._tx(work)


async def registry(
    pool: asyncpg.Pool,
    terminal_id: UUID | None = None,
    session_ttl_s: int = SESSION_TTL_S,
    association_id: UUID | None = None,
    merchant_id: UUID | None = None,
) -> list[SyncRegistryEntry]:
    """The back office's registry of offline terminals (one terminal's, an association's, a
    merchant's, or all)."""
    rows = await store.registry(pool, session_ttl_s, terminal_id, association_id, merchant_id)
    # last_sync_at is written by the database's clock: lateness is measured on the same clock.
    return [entry(r, r["read_at"]) for r in rows]
