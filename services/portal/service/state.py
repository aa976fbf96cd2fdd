"""What the portal's use cases share: the pool, the settings, the signer of scope tokens, the
services' adapter, the password hasher; built once at start (app.py's on_ready)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.portal.adapters.services import Services
from services.portal.domain.limits import Limit, Network
from services.portal.domain.sessions import Lifetimes
from shared.access import Signer
from shared.settings import Settings


def new_secret() -> str:
    """A session id, a link's token, an API token's secret: 256 random bits."""
    return secrets.token_urlsafe(32)


@dataclass
class Portal:
    pool: asyncpg.Pool
    settings: Settings
    signer: Signer
    services: Services
    # argon2id with the library's defaults (RFC 9106's second recommended option).
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    trusted_proxies: tuple[Network, ...] = field(init=False)

    def __post_init__(self) -> None:
        # Checked against when the e-mail is unknown, so that the answer takes as long.
        self._dummy = self.hasher.hash(new_secret())
        self.trusted_proxies = self.settings.trusted_proxies()

    @property
    def lifetimes(self) -> Lifetimes:
        s = self.settings
        return Lifetimes(
            timedelta(seconds=s.session_idle_s), timedelta(seconds=s.session_absolute_s)
        )

    @property
    def account_limit(self) -> Limit:
        s = self.settings
        return Limit(s.login_max_per_account, timedelta(seconds=s.login_window_s))

    @property
    def address_limit(self) -> Limit:
        s = self.settings
        return Limit(s.login_max_per_address, timedelta(seconds=s.login_window_s))

    async def hash_password(self, password: str) -> str:
        # argon2 takes tens of milliseconds of CPU: off the event loop.
        return await asyncio.to_thread(self.hasher.hash, password)

    async def check_password(self, stored: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(stored or self._dummy, password) and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)
