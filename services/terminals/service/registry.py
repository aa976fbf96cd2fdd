"""The terminal registry and authentication: which terminals exist (cached, secrets opened
with the keyring) and whether a signed request comes from one of them."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import asyncpg

from services.terminals.adapters import terminals as store
from services.terminals.domain.keyring import Keyring
from services.terminals.domain.terminals import Terminal
from shared import clock, signing
from shared.http import Problem

PROBLEMS = "https://comptoir.dev/problems/"
SIGNATURE_HEADERS = (signing.TERMINAL, signing.TIMESTAMP, signing.NONCE, signing.SIGNATURE)


def _refused(title: str, detail: str, code: str, type_: str | None = None) -> Problem:
    return Problem(401, title, detail, type_=PROBLEMS + (type_ or code), code=code)


class TerminalRegistry:
    def __init__(self, pool: asyncpg.Pool, keyring: Keyring, signature_window_s: float) -> None:
        self.pool = pool
        self.keyring = keyring
        self.signature_window_s = signature_window_s
        self._cache: dict[UUID, Terminal] = {}

    async def get(self, terminal_id: UUID) -> Terminal | None:
        t = self._cache.get(terminal_id)
        if t is None:
            r = await store.terminal(self.pool, terminal_id)
            if r is None:
                return None
            t = Terminal(
                r["id"],
                r["association_id"],
                r["merchant_id"],
                r["shop_id"],
                self.keyring.secret_of(r),  # sealed at rest (domain/keyring.py)
                r["active"],
            )
            self._cache[terminal_id] = t
        return t

    def forget(self, terminal_id: UUID) -> None:
        """After a change of the terminal: the next request reads it again."""
        self._cache.pop(terminal_id, None)

    async def authenticate(
        self, headers: Mapping[str, str], method: str, path_qs: str, body: bytes
    ) -> tuple[Terminal, str]:
        """The terminal that signed the request, and the request's nonce (not spent here)."""
        missing = [k for k in SIGNATURE_HEADERS if k not in headers]
        if missing:
            raise _refused("Unsigned request", f"missing headers: {', '.join(missing)}", "unsigned")
        try:
            terminal_id = UUID(headers[signing.TERMINAL])
            ts = int(headers[signing.TIMESTAMP])
        except ValueError as exc:
            raise _refused(
                "Bad signature headers",
                "terminal must be a UUID and timestamp an integer",
                "unsigned",
            ) from exc
        nonce = headers[signing.NONCE]
        if not 16 <= len(nonce) <= 64:
            raise _refused("Bad nonce", "the nonce must have 16 to 64 characters", "unsigned")
        t = await self.get(terminal_id)
        if t is None or not t.active:
            raise _refused(
                "Unknown terminal",
                "this terminal is not registered or is disabled",
                "unknown_terminal",
                "unknown-terminal",
            )
        if abs(clock.now().timestamp() - ts) > self.signature_window_s:
            raise _refused(
                "Stale request",
                "the timestamp is outside the accepted window; check the terminal's clock",
                "stale",
            )
        signature = headers[signing.SIGNATURE]
        timestamp = headers[signing.TIMESTAMP]
        if not signing.verify(t.secret, method, path_qs, timestamp, nonce, body, signature):
            raise _refused(
                "Bad signature",
                "the signature does not match the request",
                "bad_signature",
                "bad-signature",
            )
        return t, nonce
