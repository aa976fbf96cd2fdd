"""The Comptoir card's and SAM's commands as bytes: APDU parsing, the commands, status words
(the data layouts the commands carry: ``layouts.py``).

Pure: the card (``application.py``), the terminal's reader (``terminal/``) and the tests
share these commands and layouts, so a change here changes both ends at once.

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

from dataclasses import dataclass
from typing import Literal

from shared.card.layouts import MAC_BYTES

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
SW_UNKNOWN_KEY_VERSION = 0x6A88  # referenced data not found: the SAM holds no such key version
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
    SW_UNKNOWN_KEY_VERSION: "unknown_key_version",
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
    SW_UNKNOWN_KEY_VERSION: "the SAM holds no masters for the card's key version",
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


# --- commands -------------------------------------------------------------------------------


def select(aid: bytes) -> bytes:
    return Command(CLA_ISO, INS_SELECT, 0x04, 0x00, aid, le=0).encode()


def read_record() -> bytes:
    return Command(CLA_PROPRIETARY, INS_READ_RECORD, 0, 0, le=0).encode()


def read_log(first: int, count: int) -> bytes:
    return Command(CLA_PROPRIETARY, INS_READ_LOG, first, count, le=0).encode()


def get_challenge() -> bytes:
    return Command(CLA_PROPRIETARY, INS_GET_CHALLENGE, 0, 0, le=CHALLENGE_BYTES).encode()


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
