"""The sync protocol's messages (docs/terminal-protocol.md): the same JSON bodies over HTTP
and over the line. Pure models, no I/O: the gateway and the terminal parse with them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from shared.contracts import CardTransaction

# The largest chunk the protocol allows; a gateway may set a lower limit (told in HELLO).
MAX_CHUNK = 500
MAX_SEQ = 2**32 - 1
Seq = int

MessageType = Literal["hello", "chunk", "close", "updates"]

# Error codes, the same over both transports (HTTP: problem+json ``code`` and status).
ERRORS: dict[str, tuple[int, str]] = {
    "malformed": (422, "the message does not match the protocol's schema"),
    "unsigned": (401, "the authentication headers are missing or malformed"),
    "unknown_terminal": (401, "the terminal is not registered or is disabled"),
    "stale": (401, "the request's timestamp is outside the gateway's window"),
    "bad_signature": (401, "the HMAC does not match (HTTP signature or line frame MAC)"),
    "replay": (409, "the nonce or the frame counter was already used"),
    "unknown_session": (404, "no such session for this terminal"),
    "session_expired": (409, "the session was idle too long: say HELLO again"),
    "protocol": (409, "this message is not allowed in the session's state"),
    "chunk_too_large": (413, "more transactions in one chunk than the gateway allows"),
    "not_contiguous": (422, "a chunk's sequences must be contiguous and increasing"),
    "out_of_order": (409, "the chunk leaves a hole after the last committed sequence"),
    "seq_conflict": (409, "a sequence is already committed with other content"),
    "bad_range": (422, "the close's range or totals are impossible"),
    "busy": (503, "the gateway could not commit now: nothing was written, retry"),
    # HTTP only, answered by the server before any handler (shared/http.py, shared/edge.py).
    "body_too_large": (413, "the body is over the gateway's limit of 1 MiB"),
    "body_timeout": (408, "the body did not arrive in time: the connection is closed"),
}


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hello(_Message):
    terminal_id: UUID
    software: str = Field(default="", max_length=64)
    params_version: int = Field(ge=0, le=2**62, description="rules_version of its parameters")
    blacklist_version: int = Field(ge=0, le=2**62)
    pending_count: int = Field(ge=0, le=MAX_SEQ, description="journal lines not yet synced")
    journal_first_seq: Seq = Field(ge=0, le=MAX_SEQ, description="0: the journal is empty")
    journal_last_seq: Seq = Field(ge=0, le=MAX_SEQ)

    @model_validator(mode="after")
    def _range(self) -> Hello:
        if self.journal_first_seq > self.journal_last_seq:
            raise ValueError("journal_first_seq is after journal_last_seq")
        return self


class Configuration(_Message):
    """Where the terminal stands: what it needs to configure itself at its first connection."""

    terminal_id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    label: str


class HelloReply(_Message):
    session_id: UUID
    last_committed_seq: Seq = Field(description="resume after this sequence (0: none yet)")
    server_time: datetime
    first_connection: bool
    configuration: Configuration
    max_chunk: int


class Chunk(_Message):
    session_id: UUID
    transactions: list[CardTransaction] = Field(min_length=1)


class ChunkReply(_Message):
    committed_through: Seq
    inserted: int = Field(description="transactions new to the gateway")
    skipped: int = Field(description="re-sent transactions already committed identically")


class Close(_Message):
    session_id: UUID
    from_seq: Seq = Field(ge=0, le=MAX_SEQ)
    to_seq: Seq = Field(ge=0, le=MAX_SEQ)
    count: int = Field(ge=0, le=MAX_SEQ)
    amount_cents: int = Field(ge=0, le=2**62)


class CloseReply(_Message):
    status: Literal["ok", "mismatch"]
    missing: list[tuple[Seq, Seq]] = Field(description="inclusive ranges the gateway lacks")
    committed_count: int
    committed_amount_cents: int
    last_committed_seq: Seq


class Updates(_Message):
    session_id: UUID
    params_version: int = Field(ge=0, le=2**62)
    blacklist_version: int = Field(ge=0, le=2**62)
    max_entries: int = Field(default=1000, ge=1, le=5000, description="blacklist page size")


class BlacklistEntry(_Message):
    version: int
    card_number: str
    action: Literal["add", "remove"]
    reason: str


# What UPDATES says of the parameters: ``new`` (``params`` carries them), ``current`` (the
# terminal holds the gateway's newest) or ``not_computed`` (the gateway holds none for this
# merchant yet, e.g. right after it was created: the terminal asks again at its next sync).
ParamsStatus = Literal["new", "current", "not_computed"]


class UpdatesReply(_Message):
    params: dict[str, Any] | None = Field(
        description="TerminalParameters when params_status is 'new', else null"
    )
    params_status: ParamsStatus
    params_version: int
    blacklist: list[BlacklistEntry]
    blacklist_version: int = Field(
        description="the cursor to send next: the gateway's position in the changes it "
        "received, in the order it committed them; the last entry's version when they "
        "arrived in order, never below it"
    )
    more: bool = Field(description="ask again from blacklist_version for the next page")


class ErrorReply(_Message):
    """The line's answer to a refused message (HTTP answers problem+json instead)."""

    code: str
    detail: str
    last_committed_seq: Seq | None = None


REQUESTS: dict[str, type[_Message]] = {
    "hello": Hello,
    "chunk": Chunk,
    "close": Close,
    "updates": Updates,
}
REPLIES: dict[str, type[_Message]] = {
    "hello": HelloReply,
    "chunk": ChunkReply,
    "close": CloseReply,
    "updates": UpdatesReply,
}

TRANSACTIONS = TypeAdapter(list[CardTransaction])


def totals(transactions: list[CardTransaction]) -> tuple[int, int]:
    """What the close counts: the number of journal lines and the sum of their amounts (sales
    and redemptions alike, both positive)."""
    return len(transactions), sum(t.amount_cents for t in transactions)


def missing_ranges(present: list[int], from_seq: int, to_seq: int) -> list[tuple[int, int]]:
    """The inclusive ranges of ``from_seq..to_seq`` absent from ``present`` (sorted)."""
    out: list[tuple[int, int]] = []
    expect = from_seq
    for s in present:
        if s < from_seq or s > to_seq:
            continue
        if s > expect:
            out.append((expect, s - 1))
        expect = max(expect, s + 1)
    if from_seq > 0 and expect <= to_seq:
        out.append((expect, to_seq))
    return out
