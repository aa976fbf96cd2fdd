"""The rules of a sync session that need no database: the protocol's refusals, the identity
of a journal line's content, what a chunk and a close must be (docs/terminal-protocol.md)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import orjson

from shared.contracts import CardTransaction
from shared.sync.messages import ERRORS, Chunk, Close

Transport = Literal["http", "line"]
SESSION_TTL_S = 900


class SyncError(Exception):
    """A refused message; ``code`` is one of shared.sync.messages.ERRORS."""

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        self.status, default = ERRORS[code]
        super().__init__(detail or default)
        self.code = code
        self.detail = detail or default
        self.extra = extra


def content_hash(t: CardTransaction) -> bytes:
    """The identity of a journal line's content: a re-send must hash the same."""
    return hashlib.sha256(
        orjson.dumps(t.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ).digest()


def check_chunk(msg: Chunk, max_chunk: int) -> None:
    """What can be refused before touching the database."""
    txs = msg.transactions
    if len(txs) > max_chunk:
        raise SyncError(
            "chunk_too_large",
            f"{len(txs)} transactions; this gateway takes at most {max_chunk} per chunk",
            max_chunk=max_chunk,
        )
    first = txs[0].seq
    for i, t in enumerate(txs):
        if t.seq != first + i:
            raise SyncError(
                "not_contiguous", f"transaction {i} has seq {t.seq}, expected {first + i}"
            )


def check_resume(first: int, committed: int) -> None:
    """The gateway is the truth for where to resume: a hole after what it holds is refused
    (the terminal resumes from last_committed_seq); a chunk overlapping what it holds is a
    re-send, or fills a hole the close reported."""
    if committed > 0 and first > committed + 1:
        raise SyncError(
            "out_of_order",
            f"chunk starts at {first}; the gateway has committed through {committed}",
            last_committed_seq=committed,
        )


def fresh_lines(seqs: list[int], hashes: list[bytes], known: dict[int, bytes]) -> list[int]:
    """The indexes of the lines the gateway does not hold yet, given those it holds in the
    chunk's range; a line it holds with other content is a ``seq_conflict``."""
    clash = [s for s, h in zip(seqs, hashes, strict=True) if known.get(s, h) != h]
    if clash:
        raise SyncError(
            "seq_conflict",
            f"seq {clash[0]} is already committed with other content",
            seqs=clash[:20],
        )
    return [i for i, s in enumerate(seqs) if s not in known]


def check_close(msg: Close) -> None:
    if msg.from_seq == 0:
        if msg.to_seq != 0 or msg.count != 0 or msg.amount_cents != 0:
            raise SyncError("bad_range", "an empty journal closes with 0, 0, 0, 0")
    elif msg.from_seq > msg.to_seq or msg.count > msg.to_seq - msg.from_seq + 1:
        raise SyncError("bad_range", "from_seq after to_seq, or more lines than the range")


def session_state(status: str | None, expired: bool | None, session_id: object) -> None:
    """A session a message may continue: known, not expired, not failed."""
    if status is None:
        raise SyncError("unknown_session", f"no session {session_id} for this terminal")
    if expired:
        raise SyncError("session_expired")
    if status == "failed":
        # A failed session stays failed: a later CLOSE must not turn a seq_conflict, which
        # an operator must look at, into an "ok" in the registry.
        raise SyncError("protocol", "this session failed (seq_conflict): say HELLO again")
