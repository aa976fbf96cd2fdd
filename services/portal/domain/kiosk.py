"""The shop's kiosk (F27, docs/kiosk.md), its pure rules: how long a card's balance stays on
the screen, how long a cardholder's kiosk code lives and what it looks like, and what of an
account the screen may show (a first name, the buckets, the status, the live offers).

The kiosk stands in the shop, in view of anyone: it shows nothing personal beyond a first
name, and only for the seconds after the card was presented."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

# A card's balance stays on screen COMPTOIR_KIOSK_SHOWN_S seconds (shared/settings.py, 20 by
# default), then the waiting page again.
# A code shown in the cardholder's space: long enough to walk to the kiosk, no longer.
CODE_LIFETIME = timedelta(minutes=3)
CODE_DIGITS = 6
COOKIE_MAX_AGE_S = 400 * 86400  # browsers cap a cookie's life at 400 days
# Prefixes that say what a secret is when it turns up in a log or a repository.
KEY_PREFIX = "kio_"


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def normal_code(raw: str) -> str | None:
    """The code as typed (spaces and dashes allowed), or None if it cannot be one."""
    digits = "".join(c for c in raw if c not in " -")
    return digits if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit() else None


def code_digest(association_id: UUID, code: str) -> bytes:
    """A kiosk code's hash, bound to its association: the same digits in another network
    have another hash, so a kiosk of another network finds nothing."""
    return hashlib.sha256(f"kiosk:{association_id}:{code}".encode()).digest()


def shown_until(now: datetime, shown_s: int) -> datetime:
    """Until when a card presented ``now`` stays on screen."""
    return now + timedelta(seconds=shown_s)


def still_shown(shown_until: datetime, now: datetime) -> bool:
    return now < shown_until


@dataclass(frozen=True, slots=True)
class Screen:
    """What the kiosk shows of one account: nothing more (no last name, contact, history)."""

    first_name: str
    balance_cents: int
    pending_cents: int
    stored_value_cents: int
    visits: int
    levels: list[str]
    offers: list[str]
    shown_until: datetime


def offers_here(promotions: list[dict[str, Any]], merchant_id: UUID) -> list[str]:
    """The names of the offers a customer gets in this shop now: the network's and this
    merchant's live promotions (another shop's are not this shop's to show), each name once.
    An account's own offer (a birthday's) is left out: it would tell the screen a birth date."""
    names = [
        str(p["name"])
        for p in promotions
        if p.get("withdrawn_at") is None and p.get("merchant_id") in (None, str(merchant_id))
    ]
    return list(dict.fromkeys(names))


def screen_of(
    account: dict[str, Any],
    levels: list[dict[str, Any]],
    offers: list[str],
    shown_until: datetime,
) -> Screen:
    """The account as the kiosk shows it: cards' buckets, the first name only."""
    return Screen(
        first_name=str(account.get("first_name") or ""),
        balance_cents=int(account.get("balance_cents") or 0),
        pending_cents=int(account.get("pending_cents") or 0),
        stored_value_cents=int(account.get("stored_value_cents") or 0),
        visits=int(account.get("visits") or 0),
        levels=[str(level["name"]) for level in levels if level.get("name")],
        offers=offers,
        shown_until=shown_until,
    )
