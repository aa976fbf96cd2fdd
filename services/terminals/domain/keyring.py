"""The terminals' HMAC secrets at rest (issue 11, finding 7): sealed with AES-256-GCM under a
key-encryption key (KEK) from the settings, so that a copy of the database (a backup, a
replica, a dump sent for support) does not let anyone sign as a terminal.

Each sealed secret is ``nonce (12 bytes) || ciphertext || tag`` with the terminal's id as
associated data: a sealed secret copied onto another terminal's row does not open. The row
keeps the id of the KEK that sealed it (the first 8 bytes of its SHA-256, in hex), so that
during a rotation the gateway opens rows of either key (``terminal_kek`` and
``terminal_kek_previous``) and ``rotate-kek`` reseals every row under the current one in one
transaction (adapters/terminals.py holds their SQL).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.settings import Settings

NONCE_BYTES = 12


class KeyringError(RuntimeError):
    """A sealed secret this keyring cannot open (unknown KEK, or altered/moved ciphertext)."""


def kek_id(kek: bytes) -> str:
    return hashlib.sha256(kek).digest()[:8].hex()


@dataclass(frozen=True)
class Keyring:
    current: bytes
    previous: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        previous = settings.terminal_kek_previous
        return cls(bytes.fromhex(settings.terminal_kek), bytes.fromhex(previous) or None)

    @property
    def current_id(self) -> str:
        return kek_id(self.current)

    def seal(self, terminal_id: UUID, secret: str) -> tuple[bytes, str]:
        """The sealed secret and the id of the KEK that sealed it (the current one)."""
        nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: far below GCM's 2^32 limit
        sealed = AESGCM(self.current).encrypt(nonce, secret.encode(), terminal_id.bytes)
        return nonce + sealed, self.current_id

    def open(self, terminal_id: UUID, sealed: bytes, sealed_by: str) -> str:
        keys = {kek_id(k): k for k in (self.current, self.previous) if k is not None}
        key = keys.get(sealed_by)
        if key is None:
            raise KeyringError(
                f"terminal {terminal_id}: its secret is sealed by KEK {sealed_by}, "
                f"which is neither COMPTOIR_TERMINAL_KEK nor COMPTOIR_TERMINAL_KEK_PREVIOUS"
            )
        try:
            plain = AESGCM(key).decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], terminal_id.bytes
            )
        except InvalidTag as exc:
            raise KeyringError(f"terminal {terminal_id}: its sealed secret does not open") from exc
        return plain.decode()

    def secret_of(self, row: Mapping[str, Any]) -> str:
        """A terminals row's secret: opened, or in clear for a row of before migration 0005
        that the gateway has not sealed yet (it seals them all when it starts)."""
        if row["secret_sealed"] is None:
            return str(row["secret"])
        return self.open(row["id"], bytes(row["secret_sealed"]), row["secret_kek_id"])
