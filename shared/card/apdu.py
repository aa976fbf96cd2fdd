"""The Comptoir card's and SAM's commands as bytes: APDU parsing, encodings, status words.

Pure: the card (``application.py``), the terminal's reader (``terminal/``)
and the tests share these layouts, so a change here changes both ends at once.

Short APDUs only (ISO 7816-4): ``CLA INS P1 P2 [Lc data] [Le]``, at most 255 data bytes in,
256 out. Integers are big-endian; amounts and balances are signed 64-bit cents (units are
points or stamps); dates are Unix seconds (UTC), 0 meaning "none"; days are
``date.toordinal()``, 0 meaning "none".

Card (AID ``F0 43 4F 4D 50 54 4F 49 52``, "\\xF0COMPTOIR"):

=================  ===================  =============================================
command            APDU                 data in → data out
=================  ===================  =============================================
SELECT             00 A4 04 00 Lc AID   → card number (16 ASCII digits), key version
READ RECORD        90 B2 00 00 00       → ``RECORD`` (83 bytes)
READ LOG           90 B4 first n 00     → n ≤ 6 ``LOG_ENTRY`` (41 bytes), newest first
GET CHALLENGE      90 84 00 00 08       → 8 random bytes, consumed by the next CREDIT/DEBIT
CREDIT (sale)      90 0C 00 00 Lc 00    ``CREDIT`` + MAC → ``RESULT``
DEBIT (redemption) 90 DC 00 00 Lc 00    ``DEBIT`` + MAC → ``RESULT``
=================  ===================  =============================================

SAM (AID ``F0 43 4F 4D 50 54 4F 49 52 53 41 4D``, "\\xF0COMPTOIRSAM"):
``90 72 P1 P2 Lc card-number(16) challenge(8) command-data 00`` → the 8-byte MAC, with
P1 = 01 credit, 02 debit, and P2 the card's key version. The SAM holds the credit and debit
masters, never the cert one.

The MAC of a CREDIT or DEBIT is ``crypto.mac(card's credit|debit key, challenge || data)``
(AES-CMAC truncated to 8 bytes)
where ``data`` is the command's data without its trailing 8-byte MAC.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from uuid import UUID

CARD_AID = b"\xf0COMPTOIR"
SAM_AID = b"\xf0COMPTOIRSAM"

CLA_ISO = 0x00
CLA_PROPRIETARY = 0x90
INS_SELECT = 0xA4
INS_READ_RECORD = 0xB2
INS_READ_LOG = 0xB4
INS_GET_CHALLENGE = 0x84
INS_CREDIT = 0x0C  # DESFire's Credit and Debit codes
INS_DEBIT = 0xDC
INS_SAM_MAC = 0x72

SAM_PURPOSES: dict[int, Literal["credit", "debit"]] = {0x01: "credit", 0x02: "debit"}
SAM_P1: dict[Literal["credit", "debit"], int] = {v: k for k, v in SAM_PURPOSES.items()}

CHALLENGE_BYTES = 8
NONCE_BYTES = 8
LOG_SIZE = 10
LOG_PER_READ = 6  # 6 x 41 bytes fit a short response (256)
MAX_BALANCE = 2**40  # shared.contracts.CardTransaction's bound
MAX_U32 = 2**32 - 1

# --- status words -----------------------------------------------------------------------------
# One word per reason the terminal must tell apart; ``SW_CODES`` names them for CardError.
SW_OK = 0x9000
SW_BLOCKED = 0x6283  # selected application invalidated
SW_EXPIRED = 0x6284  # proprietary, next to "blocked": the application is out of its validity
SW_MEMORY_FAILURE = 0x6581  # the state could not be written: nothing changed
SW_WRONG_LENGTH = 0x6700
SW_BAD_MAC = 0x6982  # security status not satisfied
SW_NO_CHALLENGE = 0x6985  # conditions of use not satisfied
SW_NOT_SELECTED = 0x6986  # command not allowed: no application selected
SW_WRONG_DATA = 0x6A80  # a field out of range (negative amount, balance above 2^40...)
SW_NOT_FOUND = 0x6A82  # SELECT of an application this card does not have
SW_INSUFFICIENT = 0x6A84  # a debit above the available balance, or a balance below zero
SW_WRONG_P1P2 = 0x6A86
SW_COUNTER_EXHAUSTED = 0x6A8A  # proprietary: the ATC reached 2^32 - 1, the card is spent
SW_UNKNOWN_INS = 0x6D00
SW_BAD_CLASS = 0x6E00
SW_INTERNAL = 0x6F00

SW_CODES: dict[int, str] = {
    SW_BLOCKED: "blocked",
    SW_EXPIRED: "expired",
    SW_MEMORY_FAILURE: "memory_failure",
    SW_WRONG_LENGTH: "wrong_length",
    SW_BAD_MAC: "bad_mac",
    SW_NO_CHALLENGE: "no_challenge",
    SW_NOT_SELECTED: "not_selected",
    SW_WRONG_DATA: "wrong_data",
    SW_NOT_FOUND: "not_a_comptoir_card",
    SW_INSUFFICIENT: "insufficient_balance",
    SW_WRONG_P1P2: "wrong_parameters",
    SW_COUNTER_EXHAUSTED: "counter_exhausted",
    SW_UNKNOWN_INS: "unknown_instruction",
    SW_BAD_CLASS: "bad_class",
    SW_INTERNAL: "card_fault",
}

SW_MESSAGES: dict[int, str] = {
    SW_BLOCKED: "the card is blocked",
    SW_EXPIRED: "the card has expired",
    SW_MEMORY_FAILURE: "the card could not save its state; nothing was written",
    SW_WRONG_LENGTH: "wrong command length",
    SW_BAD_MAC: "the card refused the terminal's MAC",
    SW_NO_CHALLENGE: "no challenge: GET CHALLENGE must come right before a credit or a debit",
    SW_NOT_SELECTED: "no application selected",
    SW_WRONG_DATA: "a value is out of range",
    SW_NOT_FOUND: "not a Comptoir card",
    SW_INSUFFICIENT: "insufficient balance on the card",
    SW_WRONG_P1P2: "wrong P1 P2",
    SW_COUNTER_EXHAUSTED: "the card's transaction counter is exhausted",
    SW_UNKNOWN_INS: "unknown instruction",
    SW_BAD_CLASS: "unknown class",
    SW_INTERNAL: "internal card error",
}


def sw_bytes(sw: int) -> bytes:
    return sw.to_bytes(2, "big")


def response(data: bytes, sw: int = SW_OK) -> bytes:
    return data + sw_bytes(sw)


def split_response(raw: bytes) -> tuple[bytes, int]:
    """(data, status word) of a response APDU; ValueError if it has no status word."""
    if len(raw) < 2:
        raise ValueError(f"a response APDU has at least 2 bytes, got {raw.hex()!r}")
    return raw[:-2], int.from_bytes(raw[-2:], "big")


class ApduError(Exception):
    """A command the card answers with a status word and nothing else."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"{sw:04X} {SW_MESSAGES.get(sw, '')}")
        self.sw = sw


@dataclass(frozen=True, slots=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None  # None: no Le field; 0 stands for 256

    def encode(self) -> bytes:
        if len(self.data) > 255:
            raise ValueError("short APDUs carry at most 255 data bytes")
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            out += bytes([self.le & 0xFF])
        return out


def parse_command(raw: bytes) -> Command:
    """The four short-APDU cases; anything else (truncated, extended, trailing bytes) is
    ApduError(6700)."""
    if len(raw) < 4:
        raise ApduError(SW_WRONG_LENGTH)
    cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
    if len(raw) == 4:
        return Command(cla, ins, p1, p2)
    if len(raw) == 5:
        return Command(cla, ins, p1, p2, le=raw[4])
    lc = raw[4]
    if lc == 0:  # extended length: no card command needs it
        raise ApduError(SW_WRONG_LENGTH)
    if len(raw) == 5 + lc:
        return Command(cla, ins, p1, p2, raw[5 : 5 + lc])
    if len(raw) == 6 + lc:
        return Command(cla, ins, p1, p2, raw[5 : 5 + lc], le=raw[5 + lc])
    raise ApduError(SW_WRONG_LENGTH)


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


def select(aid: bytes) -> bytes:
    return Command(CLA_ISO, INS_SELECT, 0x04, 0x00, aid, le=0).encode()


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


def read_record() -> bytes:
    return Command(CLA_PROPRIETARY, INS_READ_RECORD, 0, 0, le=0).encode()


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


def read_log(first: int, count: int) -> bytes:
    return Command(CLA_PROPRIETARY, INS_READ_LOG, first, count, le=0).encode()


def decode_log(raw: bytes) -> list[LogEntry]:
    if len(raw) % LOG_ENTRY.size:
        raise ValueError(f"a log is whole {LOG_ENTRY.size}-byte entries, got {len(raw)} bytes")
    return [
        LogEntry.decode(raw[i : i + LOG_ENTRY.size]) for i in range(0, len(raw), LOG_ENTRY.size)
    ]


# --- GET CHALLENGE ----------------------------------------------------------------------------


def get_challenge() -> bytes:
    return Command(CLA_PROPRIETARY, INS_GET_CHALLENGE, 0, 0, le=CHALLENGE_BYTES).encode()


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


def credit(data: bytes, mac: bytes) -> bytes:
    return Command(CLA_PROPRIETARY, INS_CREDIT, 0, 0, data + mac, le=0).encode()


def debit(data: bytes, mac: bytes) -> bytes:
    return Command(CLA_PROPRIETARY, INS_DEBIT, 0, 0, data + mac, le=0).encode()


# --- SAM --------------------------------------------------------------------------------------


def sam_mac(
    purpose: Literal["credit", "debit"],
    card_number: str,
    challenge: bytes,
    data: bytes,
    key_version: int = 1,
) -> bytes:
    """P2 is the card's key version (SELECT told it): the SAM diversifies for it."""
    body = card_number.encode() + challenge + data
    return Command(
        CLA_PROPRIETARY, INS_SAM_MAC, SAM_P1[purpose], key_version, body, le=MAC_BYTES
    ).encode()


# --- answer to reset --------------------------------------------------------------------------


def atr(historical: bytes) -> bytes:
    """An ATR offering T=1 only, with ``historical`` bytes (at most 15) and its check byte."""
    if len(historical) > 15:
        raise ValueError("at most 15 historical bytes")
    body = bytes([0x80 | len(historical), 0x01]) + historical  # T0 (TD1 follows), TD1: T=1
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


CARD_ATR = atr(b"COMPTOIR")
SAM_ATR = atr(b"COMPTSAM")
