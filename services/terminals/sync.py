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
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID, uuid4

import asyncpg
import orjson

from shared import clock, outbox
from shared.contracts import CardTransaction, CardTransactionsSynced, TerminalParametersPublished
from shared.db import is_transient
from shared.events import Event, new_event
from shared.sync.messages import (
    ERRORS,
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

Transport = Literal["http", "line"]
T = TypeVar("T")
LATE_AFTER_S = 36 * 3600
SESSION_TTL_S = 900


class SyncError(Exception):
    """A refused message; ``code`` is one of shared.sync.messages.ERRORS."""

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        self.status, default = ERRORS[code]
        super().__init__(detail or default)
        self.code = code
        self.detail = detail or default
        self.extra = extra


@dataclass(frozen=True, slots=True)
class Who:
    """The authenticated terminal a message came from."""

    id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID


def content_hash(t: CardTransaction) -> bytes:
    """The identity of a journal line's content: a re-send must hash the same."""
    return hashlib.sha256(
        orjson.dumps(t.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ).digest()


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
        if nonce is None:
            return
        fresh = await conn.fetchval(
            """INSERT INTO nonces (terminal_id, nonce) VALUES ($1, $2)
               ON CONFLICT DO NOTHING RETURNING true""",
            terminal_id,
            nonce,
        )
        if not fresh:
            raise SyncError("replay", "this nonce was already used")

    async def _session(
        self, conn: asyncpg.Connection, who: Who, session_id: UUID, *, lock: bool
    ) -> asyncpg.Record:
        """The terminal's registry row (locked for a commit) and its session's state."""
        row = await conn.fetchrow(
            f"""SELECT t.last_committed_seq, t.journal_last_seq, s.status, s.params_version,
                       s.last_activity_at < now() - make_interval(secs => $3) AS expired
                FROM sync_terminals t
                LEFT JOIN sync_sessions s ON s.id = $2 AND s.terminal_id = t.terminal_id
                WHERE t.terminal_id = $1 {"FOR UPDATE OF t" if lock else ""}""",
            who.id,
            session_id,
            self.session_ttl_s,
        )
        if row is None or row["status"] is None:
            raise SyncError("unknown_session", f"no session {session_id} for this terminal")
        if row["expired"]:
            raise SyncError("session_expired")
        if row["status"] == "failed":
            # A failed session stays failed: a later CLOSE must not turn a seq_conflict, which
            # an operator must look at, into an "ok" in the registry.
            raise SyncError("protocol", "this session failed (seq_conflict): say HELLO again")
        return row

    # --- HELLO ------------------------------------------------------------------------------

    async def hello(
        self, who: Who, msg: Hello, transport: Transport, nonce: str | None = None
    ) -> HelloReply:
        if msg.terminal_id != who.id:
            raise SyncError("malformed", "terminal_id is not the terminal that signed the message")
        session_id = uuid4()

        async def work(conn: asyncpg.Connection) -> HelloReply:
            await self._nonce(conn, who.id, nonce)
            label = await conn.fetchval("SELECT label FROM terminals WHERE id = $1", who.id)
            reg = await conn.fetchrow(
                """INSERT INTO sync_terminals AS r (terminal_id, software, params_version,
                       blacklist_version, journal_last_seq, pending_count, last_session_id)
                   VALUES ($1, $2, $3, $4, $5, $5, $6)
                   ON CONFLICT (terminal_id) DO UPDATE SET software = excluded.software,
                       params_version = excluded.params_version,
                       blacklist_version = excluded.blacklist_version,
                       journal_last_seq = excluded.journal_last_seq,
                       pending_count = GREATEST(excluded.journal_last_seq - r.last_committed_seq, 0),
                       last_hello_at = now(), last_session_id = excluded.last_session_id
                   RETURNING last_committed_seq, xmax = 0 AS first""",
                who.id,
                msg.software,
                msg.params_version,
                msg.blacklist_version,
                msg.journal_last_seq,
                session_id,
            )
            await conn.execute(
                """INSERT INTO sync_sessions (id, terminal_id, transport, software, params_version,
                       blacklist_version, pending_count, journal_first_seq, journal_last_seq,
                       start_committed_seq)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                session_id,
                who.id,
                transport,
                msg.software,
                msg.params_version,
                msg.blacklist_version,
                msg.pending_count,
                msg.journal_first_seq,
                msg.journal_last_seq,
                reg["last_committed_seq"],
            )
            return HelloReply(
                session_id=session_id,
                last_committed_seq=reg["last_committed_seq"],
                server_time=clock.now(),
                first_connection=reg["first"],
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

    # --- CHUNK ------------------------------------------------------------------------------

    def check_chunk(self, msg: Chunk) -> None:
        """What can be refused before touching the database."""
        txs = msg.transactions
        if len(txs) > self.max_chunk:
            raise SyncError(
                "chunk_too_large",
                f"{len(txs)} transactions; this gateway takes at most {self.max_chunk} per chunk",
                max_chunk=self.max_chunk,
            )
        first = txs[0].seq
        for i, t in enumerate(txs):
            if t.seq != first + i:
                raise SyncError(
                    "not_contiguous", f"transaction {i} has seq {t.seq}, expected {first + i}"
                )

    async def chunk(self, who: Who, msg: Chunk, nonce: str | None = None) -> ChunkReply:
        self.check_chunk(msg)
        txs = msg.transactions
        first, last = txs[0].seq, txs[-1].seq
        hashes = [content_hash(t) for t in txs]

        async def work(conn: asyncpg.Connection) -> ChunkReply:
            await self._nonce(conn, who.id, nonce)
            state = await self._session(conn, who, msg.session_id, lock=True)
            committed = state["last_committed_seq"]
            # The gateway is the truth for where to resume: a hole after what it holds is
            # refused (the terminal resumes from last_committed_seq); a chunk overlapping what
            # it holds is a re-send, or fills a hole the close reported.
            if committed > 0 and first > committed + 1:
                raise SyncError(
                    "out_of_order",
                    f"chunk starts at {first}; the gateway has committed through {committed}",
                    last_committed_seq=committed,
                )
            fresh = list(range(len(txs)))
            if first <= committed:
                known = {
                    r["seq"]: bytes(r["content_hash"])
                    for r in await conn.fetch(
                        """SELECT seq, content_hash FROM offline_transactions
                           WHERE terminal_id = $1 AND seq BETWEEN $2 AND $3""",
                        who.id,
                        first,
                        last,
                    )
                }
                clash = [
                    t.seq for t, h in zip(txs, hashes, strict=True) if known.get(t.seq, h) != h
                ]
                if clash:
                    raise SyncError(
                        "seq_conflict",
                        f"seq {clash[0]} is already committed with other content",
                        seqs=clash[:20],
                    )
                fresh = [i for i, t in enumerate(txs) if t.seq not in known]
            chunk_id = uuid4()
            if fresh:
                new = [txs[i] for i in fresh]
                await conn.execute(
                    """INSERT INTO offline_transactions (terminal_id, chunk_id, session_id, seq,
                           content_hash, kind, card_number, atc, amount_cents, occurred_at)
                       SELECT $1, $2, $3, * FROM unnest($4::bigint[], $5::bytea[], $6::text[],
                           $7::text[], $8::bigint[], $9::bigint[], $10::timestamptz[])""",
                    who.id,
                    chunk_id,
                    msg.session_id,
                    [t.seq for t in new],
                    [hashes[i] for i in fresh],
                    [t.kind for t in new],
                    [t.card_number for t in new],
                    [t.atc for t in new],
                    [t.amount_cents for t in new],
                    [t.occurred_at for t in new],
                )
                await outbox.write(
                    conn,
                    [
                        new_event(
                            "terminals",
                            CardTransactionsSynced(
                                chunk_id=chunk_id,
                                association_id=who.association_id,
                                merchant_id=who.merchant_id,
                                shop_id=who.shop_id,
                                terminal_id=who.id,
                                synced_at=clock.now(),
                                transactions=new,
                                params_version=state["params_version"],
                            ),
                            subject=f"terminal/{who.id}/{first}-{last}",
                        )
                    ],
                )
            through = await conn.fetchval(
                """WITH s AS (
                       UPDATE sync_sessions SET chunks = chunks + 1, inserted = inserted + $3,
                           skipped = skipped + $4, last_activity_at = now()
                       WHERE id = $2)
                   UPDATE sync_terminals SET
                       last_committed_seq = GREATEST(last_committed_seq, $5),
                       committed_total = committed_total + $3,
                       pending_count = GREATEST(journal_last_seq - GREATEST(last_committed_seq, $5), 0)
                   WHERE terminal_id = $1 RETURNING last_committed_seq""",
                who.id,
                msg.session_id,
                len(fresh),
                len(txs) - len(fresh),
                last,
            )
            return ChunkReply(
                committed_through=through, inserted=len(fresh), skipped=len(txs) - len(fresh)
            )

        try:
            return await self._tx(work)
        except SyncError as exc:
            if exc.code == "seq_conflict":
                await self._fail(msg.session_id, who.id, exc.code)
            raise

    async def _fail(self, session_id: UUID, terminal_id: UUID, code: str) -> None:
        await self.pool.execute(
            """UPDATE sync_sessions SET status = 'failed', error_code = $3,
                   last_activity_at = now()
               WHERE id = $1 AND terminal_id = $2""",
            session_id,
            terminal_id,
            code,
        )

    # --- CLOSE ------------------------------------------------------------------------------

    async def close(self, who: Who, msg: Close, nonce: str | None = None) -> CloseReply:
        if msg.from_seq == 0:
            if msg.to_seq != 0 or msg.count != 0 or msg.amount_cents != 0:
                raise SyncError("bad_range", "an empty journal closes with 0, 0, 0, 0")
        elif msg.from_seq > msg.to_seq or msg.count > msg.to_seq - msg.from_seq + 1:
            raise SyncError("bad_range", "from_seq after to_seq, or more lines than the range")

        async def work(conn: asyncpg.Connection) -> CloseReply:
            await self._nonce(conn, who.id, nonce)
            state = await self._session(conn, who, msg.session_id, lock=False)
            count, amount = 0, 0
            missing: list[tuple[int, int]] = []
            if msg.from_seq > 0:
                r = await conn.fetchrow(
                    """SELECT count(*) AS n, coalesce(sum(amount_cents), 0)::bigint AS amount
                       FROM offline_transactions
                       WHERE terminal_id = $1 AND seq BETWEEN $2 AND $3""",
                    who.id,
                    msg.from_seq,
                    msg.to_seq,
                )
                count, amount = r["n"], r["amount"]
                if count < msg.to_seq - msg.from_seq + 1:
                    present = [
                        s
                        for (s,) in await conn.fetch(
                            """SELECT seq FROM offline_transactions
                               WHERE terminal_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq""",
                            who.id,
                            msg.from_seq,
                            msg.to_seq,
                        )
                    ]
                    missing = missing_ranges(present, msg.from_seq, msg.to_seq)
            ok = not missing and (count, amount) == (msg.count, msg.amount_cents)
            status: Literal["ok", "mismatch"] = "ok" if ok else "mismatch"
            await conn.execute(
                """WITH s AS (
                       UPDATE sync_sessions SET status = $3, close_count = $4,
                           close_amount_cents = $5, missing = $6, closed_at = now(),
                           last_activity_at = now(), error_code = NULL
                       WHERE id = $2)
                   UPDATE sync_terminals SET last_session_id = $2,
                       last_sync_at = CASE WHEN $3 = 'ok' THEN now() ELSE last_sync_at END
                   WHERE terminal_id = $1""",
                who.id,
                msg.session_id,
                status,
                msg.count,
                msg.amount_cents,
                [list(m) for m in missing],
            )
            return CloseReply(
                status=status,
                missing=missing,
                committed_count=count,
                committed_amount_cents=amount,
                last_committed_seq=state["last_committed_seq"],
            )

        return await self._tx(work)

    # --- UPDATES ----------------------------------------------------------------------------

    async def updates(self, who: Who, msg: Updates, nonce: str | None = None) -> UpdatesReply:
        async def work(conn: asyncpg.Connection) -> UpdatesReply:
            await self._nonce(conn, who.id, nonce)
            await self._session(conn, who, msg.session_id, lock=False)
            # The row whatever its version: none at all means the parameters are not yet
            # computed, which a terminal must be told apart from "yours are current".
            params = await conn.fetchrow(
                """SELECT rules_version, CASE WHEN rules_version > $2 THEN document END AS document
                   FROM terminal_parameters WHERE merchant_id = $1""",
                who.merchant_id,
                msg.params_version,
            )
            newer = params is not None and params["rules_version"] > msg.params_version
            # One statement, so one snapshot: the page and the cursor it ends at are read
            # together (finding 11: a second statement for the latest version saw changes
            # committed after the page, which the terminal then skipped for good). The
            # cursor is ``received``, the order the gateway committed the changes in
            # (migration 0004): a snapshot sees a prefix of it, never a later change
            # without an earlier one.
            rows = await conn.fetch(
                """SELECT received, version, card_number, action, reason FROM blacklist
                   WHERE association_id = $1 AND received > $2 ORDER BY received LIMIT $3""",
                who.association_id,
                msg.blacklist_version,
                msg.max_entries + 1,
            )
            more = len(rows) > msg.max_entries
            rows = rows[: msg.max_entries]
            # Without more, the page holds every change of the association after the
            # cursor, so its last row is the association's latest.
            version = rows[-1]["received"] if rows else msg.blacklist_version
            params_version = params["rules_version"] if newer else msg.params_version
            await conn.execute(
                """WITH s AS (UPDATE sync_sessions SET last_activity_at = now() WHERE id = $2)
                   UPDATE sync_terminals SET delivered_params_version = $3,
                       delivered_blacklist_version = $4
                   WHERE terminal_id = $1 AND NOT $5""",
                who.id,
                msg.session_id,
                params_version,
                version,
                more,
            )
            return UpdatesReply(
                params=params["document"] if newer else None,
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


# --- Parameters from the cards service ---------------------------------------------------------


async def on_parameters(
    conn: asyncpg.Connection, events: list[Event[TerminalParametersPublished]]
) -> list[Event[Any]]:
    """Keep the newest document per merchant: an older or repeated one changes nothing."""
    newest: dict[UUID, TerminalParametersPublished] = {}
    for e in events:
        d = e.data
        if d.merchant_id not in newest or d.rules_version > newest[d.merchant_id].rules_version:
            newest[d.merchant_id] = d
    data = list(newest.values())
    await conn.execute(
        """INSERT INTO terminal_parameters AS p (merchant_id, association_id, rules_version, document)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::jsonb[])
           ON CONFLICT (merchant_id) DO UPDATE SET association_id = excluded.association_id,
               rules_version = excluded.rules_version, document = excluded.document,
               received_at = now()
           WHERE p.rules_version < excluded.rules_version""",
        [d.merchant_id for d in data],
        [d.association_id for d in data],
        [d.rules_version for d in data],
        [d.document for d in data],
    )
    return []


# --- The registry, for the back office ---------------------------------------------------------

_REGISTRY = """
SELECT t.id AS terminal_id, t.label, t.association_id, t.merchant_id, t.shop_id, t.active,
       r.last_committed_seq, r.committed_total, r.software, r.params_version,
       r.blacklist_version, r.delivered_params_version, r.delivered_blacklist_version,
       r.pending_count, r.first_seen_at, r.last_hello_at, r.last_sync_at,
       s.id AS session_id, s.transport, s.status, s.started_at, s.closed_at, s.chunks,
       s.inserted, s.skipped, s.missing, s.error_code,
       s.status = 'open' AND s.last_activity_at < now() - make_interval(secs => $1) AS abandoned,
       now() AS read_at
FROM terminals t
LEFT JOIN sync_terminals r ON r.terminal_id = t.id
LEFT JOIN sync_sessions s ON s.id = r.last_session_id
"""


def _health(r: asyncpg.Record, now: datetime) -> str:
    if r["status"] in ("mismatch", "failed") or r["abandoned"]:
        return "failing"
    last = r["last_sync_at"]
    if last is None or (now - last).total_seconds() > LATE_AFTER_S:
        return "late"
    return "ok"


def _entry(r: asyncpg.Record, now: datetime) -> dict[str, Any]:
    session = None
    if r["session_id"] is not None:
        session = {
            "id": r["session_id"],
            "transport": r["transport"],
            "status": "abandoned" if r["abandoned"] else r["status"],
            "started_at": r["started_at"],
            "closed_at": r["closed_at"],
            "chunks": r["chunks"],
            "inserted": r["inserted"],
            "skipped": r["skipped"],
            "missing": r["missing"] or [],
            "error_code": r["error_code"],
        }
    return {
        "terminal_id": r["terminal_id"],
        "label": r["label"],
        "association_id": r["association_id"],
        "merchant_id": r["merchant_id"],
        "shop_id": r["shop_id"],
        "active": r["active"],
        "health": _health(r, now),
        "last_sync_at": r["last_sync_at"],
        "last_hello_at": r["last_hello_at"],
        "last_committed_seq": r["last_committed_seq"] or 0,
        "committed_total": r["committed_total"] or 0,
        "pending_count": r["pending_count"] or 0,
        "software": r["software"],
        "params_version": r["params_version"],
        "blacklist_version": r["blacklist_version"],
        "delivered_params_version": r["delivered_params_version"],
        "delivered_blacklist_version": r["delivered_blacklist_version"],
        "last_session": session,
    }


async def registry(
    pool: asyncpg.Pool, terminal_id: UUID | None = None, session_ttl_s: int = SESSION_TTL_S
) -> list[dict[str, Any]]:
    if terminal_id is None:
        rows = await pool.fetch(_REGISTRY + " ORDER BY t.label, t.id", session_ttl_s)
    else:
        rows = await pool.fetch(_REGISTRY + " WHERE t.id = $2", session_ttl_s, terminal_id)
    # last_sync_at is written by the database's clock: lateness is measured on the same clock.
    return [_entry(r, r["read_at"]) for r in rows]
