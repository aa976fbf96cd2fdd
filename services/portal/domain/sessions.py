"""Sessions, links and codes: their expiry and the way their secrets are kept (pure).

A session cookie holds an opaque id; the database keeps its SHA-256 only, so a copy of the
database signs nobody in. A session ends at the first of: its idle limit since it was last
seen, its absolute limit since sign-in, its revocation (sign-out, a password change)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

# A cardholder's code: six digits, a few tries, then it is spent.
CODE_DIGITS = 6
CODE_MAX_ATTEMPTS = 5
# A session seen again within this is not written again (one write a minute at most).
TOUCH_EVERY = timedelta(seconds=60)


def digest(secret: str) -> bytes:
    """What the database keeps of a session id, a link's token, an API token's secret."""
    return hashlib.sha256(secret.encode()).digest()


def code_digest(challenge_id: str, code: str) -> bytes:
    """A one-time code's hash, bound to its challenge (the same code of another challenge
    has another hash)."""
    return hashlib.sha256(f"{challenge_id}:{code}".encode()).digest()


def same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


@dataclass(frozen=True, slots=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True, slots=True)
class SessionTimes:
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute limit
    revoked: bool


def alive(s: SessionTimes, lifetimes: Lifetimes, now: datetime) -> bool:
    return not s.revoked and now < s.expires_at and now < s.last_seen_at + lifetimes.idle


def needs_touch(s: SessionTimes, now: datetime) -> bool:
    return now - s.last_seen_at >= TOUCH_EVERY


def usable_until(expires_at: datetime, used: bool, now: datetime) -> bool:
    """A single-use link or code: not used yet, not expired."""
    return not used and now < expires_at
