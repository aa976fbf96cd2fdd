"""Card keys and certificates: pure functions shared by the card, the SAM, the terminal and
the server.

Keys are diversified per card from master keys, as NXP AN10922 does for DESFire:
``key(card) = MAC(master, purpose || 0x00 || card number)``. Three masters, three purposes:

- ``credit`` and ``debit``: held by the terminal's secure access module (SAM); the card holds
  its own diversified pair and accepts a credit or a debit only under a MAC made with it;
- ``cert``: held by the cards service only; the card holds its diversified key and returns a
  certificate with every credit or debit. A stolen terminal (or SAM) cannot forge one.

The MAC is HMAC-SHA256 truncated to 8 bytes, where a physical card would run AES-CMAC: the
construction and the key roles are the same, and the standard library has it.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal
from uuid import UUID

MAC_BYTES = 8
KEY_BYTES = 16
Purpose = Literal["credit", "debit", "cert"]

# Development masters: the demo, the tests and the benchmarks use them. A real network sets
# its own (COMPTOIR_CARD_CERT_KEY for the cards service, the SAM's file for the terminals).
DEV_MASTERS: dict[Purpose, bytes] = {
    "credit": bytes.fromhex("c7ed17c7ed17c7ed17c7ed17c7ed17c7"),
    "debit": bytes.fromhex("deb17deb17deb17deb17deb17deb17de"),
    "cert": bytes.fromhex("ce27ce27ce27ce27ce27ce27ce27ce27"),
}

KIND_CODES: dict[str, int] = {"sale": 1, "redemption": 2}


def mac(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, hashlib.sha256)[:MAC_BYTES]


@lru_cache(maxsize=100_000)
def diversify(master: bytes, purpose: Purpose, card_number: str) -> bytes:
    """The card's own key for ``purpose`` (kept: a card syncs many transactions a night)."""
    return hmac.digest(master, purpose.encode() + b"\x00" + card_number.encode(), hashlib.sha256)[
        :KEY_BYTES
    ]


@dataclass(frozen=True, slots=True)
class Certified:
    """What a card certifies about one credit or debit: its own counter and balances after
    it, what changed, and who asked (terminal, its journal sequence, its nonce, its clock)."""

    kind: Literal["sale", "redemption"]
    card_number: str
    atc: int
    amount_cents: int
    available_delta: int
    pending_delta: int
    units_delta: int
    available_after: int
    pending_after: int
    units_after: int
    visits_after: int
    terminal_id: UUID
    seq: int
    occurred_at: datetime
    terminal_nonce: bytes

    def message(self) -> bytes:
        """The canonical bytes the certificate is computed over (docs/terminal-protocol.md)."""
        return CERT_LAYOUT.pack(
            KIND_CODES[self.kind],
            self.card_number.encode(),
            self.atc,
            self.amount_cents,
            self.available_delta,
            self.pending_delta,
            self.units_delta,
            self.available_after,
            self.pending_after,
            self.units_after,
            self.visits_after,
            self.terminal_id.bytes,
            self.seq,
            int(self.occurred_at.timestamp()),
            self.terminal_nonce,
        )


# kind, card number (16 ASCII digits), ATC, amount, 3 deltas, 3 balances after, visits,
# terminal id, terminal sequence, Unix seconds, terminal nonce: big-endian.
CERT_LAYOUT = struct.Struct(">B16sIqqqqqqqI16sIq8s")


def certificate(card_cert_key: bytes, fields: Certified) -> bytes:
    """What the card computes with its diversified ``cert`` key."""
    return mac(card_cert_key, fields.message())


def verify_certificate(cert_master: bytes, fields: Certified, certificate_: bytes) -> bool:
    """What the server checks, with the ``cert`` master only it holds."""
    return verify_message(cert_master, fields.card_number, fields.message(), certificate_)


def verify_message(
    cert_master: bytes, card_number: str, message: bytes, certificate_: bytes
) -> bool:
    """``verify_certificate`` for a message already packed (``Certified.message()``)."""
    key = diversify(cert_master, "cert", card_number)
    return hmac.compare_digest(mac(key, message), certificate_)
