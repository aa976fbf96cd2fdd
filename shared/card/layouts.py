"""The Comptoir card's data layouts, as bytes: what SELECT, READ RECORD, READ LOG, CREDIT,
DEBIT and their RESULT carry (docs/terminal-protocol.md, "The card"). Integers are
big-endian; amounts and balances signed 64-bit cents; times Unix seconds (0: none); days
proleptic Gregorian ordinals (0: none). The commands that carry them: ``apdu.py``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from uuid import UUID

# --- dates ------------------------------------------------------------------------------------


def to_seconds(at: datetime | None) -> int:
    if at is None:
        return 0
    if at.tzinfo is None:
        raise ValueError(f"a card date is timezone-aware: {at!r}")
    return int(at.timestamp())


def from_seconds(seconds: int) -> datetime | None:
    return None if seconds == 0 else datetime.fromtimestamp(seconds, UTC)


def to_days(day: date | None) -> int:
    return 0 if day is None else day.toordinal()


def from_days(days: int) -> date | None:
    return None if days == 0 else date.fromordinal(days)


# --- SELECT -----------------------------------------------------------------------------------

SELECTED = struct.Struct(">16sB")  # card number, key version


# --- READ RECORD ------------------------------------------------------------------------------

# number, card type id, expires on (days), blocked, available, pending, units, visits,
# window started at (s), last used on (days), ATC, key version, log entries held.
RECORD = struct.Struct(">16s16sIBqqqIqIIBB")


@dataclass(frozen=True, slots=True)
class Record:
    number: str
    card_type_id: UUID
    expires_on: date
    blocked: bool
    available: int
    pending: int
    units: int
    visits: int
    window_started_at: datetime | None
    last_used_on: date | None
    atc: int
    key_version: int
    log_count: int

    def encode(self) -> bytes:
        return RECORD.pack(
            self.number.encode(),
            self.card_type_id.bytes,
            to_days(self.expires_on),
            int(self.blocked),
            self.available,
            self.pending,
            self.units,
            self.visits,
            to_seconds(self.window_started_at),
            to_days(self.last_used_on),
            self.atc,
            self.key_version,
            self.log_count,
        )

    @classmethod
    def decode(cls, raw: bytes) -> Record:
        (number, type_id, expires, blocked, available, pending, units, visits, window, last,
         atc, key_version, log_count) = RECORD.unpack(raw)  # fmt: skip
        expires_on = from_days(expires)
        if expires_on is None:
            raise ValueError("a card record without an expiry date")
        return cls(
            number.decode("ascii"),
            UUID(bytes=type_id),
            expires_on,
            bool(blocked),
            available,
            pending,
            units,
            visits,
            from_seconds(window),
            from_days(last),
            atc,
            key_version,
            log_count,
        )


# --- READ LOG ---------------------------------------------------------------------------------

LOG_ENTRY = struct.Struct(">BIq16sIq")  # kind, ATC, amount, terminal id, seq, occurred at (s)
KIND_BY_CODE: dict[int, Literal["sale", "redemption"]] = {1: "sale", 2: "redemption"}
CODE_BY_KIND = {v: k for k, v in KIND_BY_CODE.items()}


@dataclass(frozen=True, slots=True)
class LogEntry:
    kind: Literal["sale", "redemption"]
    atc: int
    amount_cents: int
    terminal_id: UUID
    seq: int
    occurred_at: datetime

    def encode(self) -> bytes:
        return LOG_ENTRY.pack(
            CODE_BY_KIND[self.kind],
            self.atc,
            self.amount_cents,
            self.terminal_id.bytes,
            self.seq,
            to_seconds(self.occurred_at),
        )

    @classmethod
    def decode(cls, raw: bytes) -> LogEntry:
        kind, atc, amount, terminal, seq, at = LOG_ENTRY.unpack(raw)
        occurred_at = from_seconds(at)
        if kind not in KIND_BY_CODE or occurred_at is None:
            raise ValueError(f"malformed log entry {raw.hex()}")
        return cls(KIND_BY_CODE[kind], atc, amount, UUID(bytes=terminal), seq, occurred_at)


def decode_log(raw: bytes) -> list[LogEntry]:
    if len(raw) % LOG_ENTRY.size:
        raise ValueError(f"a log is whole {LOG_ENTRY.size}-byte entries, got {len(raw)} bytes")
    return [
        LogEntry.decode(raw[i : i + LOG_ENTRY.size]) for i in range(0, len(raw), LOG_ENTRY.size)
    ]


# --- CREDIT and DEBIT -------------------------------------------------------------------------

# amount, available/pending/units deltas, visits after, window started at (s), occurred at
# (s), terminal id, seq, terminal nonce.
CREDIT = struct.Struct(">qqqqIqq16sI8s")
# amount, occurred at (s), terminal id, seq, terminal nonce.
DEBIT = struct.Struct(">qq16sI8s")
MAC_BYTES = 8
# ATC, available/pending/units after, visits after, key version, certificate.
RESULT = struct.Struct(">IqqqIB8s")


@dataclass(frozen=True, slots=True)
class CreditData:
    amount_cents: int
    available_delta: int
    pending_delta: int
    units_delta: int
    visits_after: int
    window_started_at: datetime | None
    occurred_at: datetime
    terminal_id: UUID
    seq: int
    terminal_nonce: bytes

    def encode(self) -> bytes:
        try:
            return CREDIT.pack(
                self.amount_cents,
                self.available_delta,
                self.pending_delta,
                self.units_delta,
                self.visits_after,
                to_seconds(self.window_started_at),
                to_seconds(self.occurred_at),
                self.terminal_id.bytes,
                self.seq,
                self.terminal_nonce,
            )
        except struct.error as exc:
            raise ValueError(f"credit out of range: {exc}") from exc

    @classmethod
    def decode(cls, raw: bytes) -> CreditData:
        (amount, available, pending, units, visits, window, at, terminal, seq,
         nonce) = CREDIT.unpack(raw)  # fmt: skip
        occurred_at = from_seconds(at)
        if occurred_at is None:
            raise ValueError("a credit without a date")
        return cls(
            amount, available, pending, units, visits, from_seconds(window), occurred_at,
            UUID(bytes=terminal), seq, nonce,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class DebitData:
    amount_cents: int
    occurred_at: datetime
    terminal_id: UUID
    seq: int
    terminal_nonce: bytes

    def encode(self) -> bytes:
        try:
            return DEBIT.pack(
                self.amount_cents,
                to_seconds(self.occurred_at),
                self.terminal_id.bytes,
                self.seq,
                self.terminal_nonce,
            )
        except struct.error as exc:
            raise ValueError(f"debit out of range: {exc}") from exc

    @classmethod
    def decode(cls, raw: bytes) -> DebitData:
        amount, at, terminal, seq, nonce = DEBIT.unpack(raw)
        occurred_at = from_seconds(at)
        if occurred_at is None:
            raise ValueError("a debit without a date")
        return cls(amount, occurred_at, UUID(bytes=terminal), seq, nonce)


@dataclass(frozen=True, slots=True)
class Result:
    atc: int
    available_after: int
    pending_after: int
    units_after: int
    visits_after: int
    key_version: int
    certificate: bytes

    def encode(self) -> bytes:
        return RESULT.pack(
            self.atc,
            self.available_after,
            self.pending_after,
            self.units_after,
            self.visits_after,
            self.key_version,
            self.certificate,
        )

    @classmethod
    def decode(cls, raw: bytes) -> Result:
        return cls(*RESULT.unpack(raw))
