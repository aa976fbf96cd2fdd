"""Card keys and certificates: pure functions shared by the card, the SAM, the terminal and
the server.

The MAC is AES-CMAC (NIST SP 800-38B, RFC 4493) with AES-128, what a physical card's
crypto-processor runs, truncated to its first 8 bytes where the APDU layouts carry a MAC or
a certificate (SP 800-38B allows a truncated tag; 64 bits is the card industry's usual).

Keys are diversified per card from master keys, as NXP AN10922 does for AES-128 keys:

    key(card, purpose, version) = AES-CMAC(master[purpose, version], 01 || M)
    M = purpose code (1) || key version (1) || card number (16 ASCII digits) || "COMPTOIR"

``01`` is AN10922's diversification constant for an AES-128 key, M its diversification input
(the card number in the UID's role, "COMPTOIR" the system identifier). 01 || M is 27 bytes,
so CMAC pads it to two blocks and uses its second subkey, as AN10922 prescribes for an
input shorter than 32 bytes. The key version is in the input, so that master keys can
rotate: a card personalised under key version 2 holds keys that only the version-2 master
(and the version number 2) gives back; a card of version 1 keeps working under the version-1
master until it is replaced.

Three masters, three purposes:

- ``credit`` and ``debit``: held by the terminal's secure access module (SAM); the card holds
  its own diversified pair and accepts a credit or a debit only under a MAC made with it;
- ``cert``: held by the cards service only; the card holds its diversified key and returns a
  certificate with every credit or debit. A stolen terminal (or SAM) cannot forge one.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.algorithms import AES128
from cryptography.hazmat.primitives.cmac import CMAC

MAC_BYTES = 8
KEY_BYTES = 16
Purpose = Literal["credit", "debit", "cert"]
PURPOSE_CODES: dict[Purpose, int] = {"credit": 0x01, "debit": 0x02, "cert": 0x03}
# AN10922: the diversification constant of an AES-128 key, and our system identifier.
DIV_CONSTANT = b"\x01"
SYSTEM_ID = b"COMPTOIR"
DEFAULT_KEY_VERSION = 1

# Development masters: the demo, the tests and the benchmarks use them. A real network sets
# its own (COMPTOIR_CARD_CERT_KEY for the cards service, the SAM's file for the terminals).
DEV_MASTERS: dict[Purpose, bytes] = {
    "credit": bytes.fromhex("c7ed17c7ed17c7ed17c7ed17c7ed17c7"),
    "debit": bytes.fromhex("deb17deb17deb17deb17deb17deb17de"),
    "cert": bytes.fromhex("ce27ce27ce27ce27ce27ce27ce27ce27"),
}

# A master, or the masters of one purpose by key version (a rotation under way).
Master = bytes | Mapping[int, bytes]

KIND_CODES: dict[str, int] = {"sale": 1, "redemption": 2}


def cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC of ``data`` under a 16-byte key: the full 16-byte tag."""
    c = CMAC(AES128(key))
    c.update(data)
    return c.finalize()


def mac(key: bytes, data: bytes) -> bytes:
    """The 8-byte MAC the APDUs carry: AES-CMAC truncated (SP 800-38B, section 5.4)."""
    return cmac(key, data)[:MAC_BYTES]


def diversification_input(
    purpose: Purpose, card_number: str, key_version: int = DEFAULT_KEY_VERSION
) -> bytes:
    """AN10922's ``01 || M`` for this card, purpose and key version (27 bytes)."""
    if not 0 <= key_version <= 255:
        raise ValueError(f"key version {key_version} is not 0..255")
    number = card_number.encode("ascii")
    if len(number) != 16:
        raise ValueError("a card number has 16 digits")
    return DIV_CONSTANT + bytes((PURPOSE_CODES[purpose], key_version)) + number + SYSTEM_ID


@lru_cache(maxsize=100_000)
def diversify(
    master: bytes, purpose: Purpose, card_number: str, key_version: int = DEFAULT_KEY_VERSION
) -> bytes:
    """The card's own key for ``purpose`` at ``key_version`` (kept: a card syncs many
    transactions a night)."""
    return cmac(master, diversification_input(purpose, card_number, key_version))


def master_of(master: Master, key_version: int) -> bytes | None:
    """The master for a key version: ``master`` itself, or its entry for that version (None
    when the version is not, or no longer, held)."""
    if isinstance(master, bytes):
        return master
    return master.get(key_version)


@dataclass(frozen=True, slots=True)
class Certified:
    """What a card certifies about one credit or debit: its own counter and balances after
    it, what changed, and who asked (terminal, its journal sequence, its nonce, its clock).
    ``key_version`` is not in the message: it is bound by the key the card certifies with."""

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
    key_version: int = DEFAULT_KEY_VERSION

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


def verify_certificate(cert_master: Master, fields: Certified, certificate_: bytes) -> bool:
    """What the server checks, with the ``cert`` master only it holds."""
    return verify_message(
        cert_master, fields.card_number, fields.message(), certificate_, fields.key_version
    )


def verify_message(
    cert_master: Master,
    card_number: str,
    message: bytes,
    certificate_: bytes,
    key_version: int = DEFAULT_KEY_VERSION,
) -> bool:
    """``verify_certificate`` for a message already packed (``Certified.message()``)."""
    master = master_of(cert_master, key_version)
    if master is None:
        return False
    key = diversify(master, "cert", card_number, key_version)
    return hmac.compare_digest(mac(key, message), certificate_)
