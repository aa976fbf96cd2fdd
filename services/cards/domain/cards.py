"""The card life cycle (F3, F4) as pure transitions: each takes a card's state (and its
account's, when it matters) and returns the facts the command causes, or raises ``Refused``.

A card is on the blacklist exactly while its status blocks it: every transition to or from a
blocking status returns the matching ``BlacklistEntry``, which the use case writes in the same
transaction as the status.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from shared.rules.accounts import AccountState, Movement
from shared.rules.codes import ISSUER_DIGITS

Status = Literal["active", "lost", "stolen", "replaced", "cancelled", "cloned"]
BlacklistAction = Literal["add", "remove"]
BlacklistReason = Literal["lost", "stolen", "replaced", "cloned", "found"]

# Card types that hold money loaded by customers and earn nothing (F11); the others earn.
MONEY_KINDS = frozenset({"gift", "prepaid", "epurse"})
EARNING_KINDS = frozenset({"association", "generic", "merchant"})
MAX_BATCH = 10_000  # cards or vouchers made by one request

BLOCKED = {
    "lost": "card_lost",
    "stolen": "card_stolen",
    "replaced": "card_replaced",
    "cancelled": "card_cancelled",
    # The same transaction counter with other content, seen at a sync: a copy of the card.
    "cloned": "card_cloned",
}


@dataclass(frozen=True, slots=True)
class CardState:
    number: str
    status: str
    expires_on: date | None
    last_used_at: datetime | None
    issued_at: datetime
    replaced_by: str | None = None


class Refused(Exception):
    """A command the card's state does not allow. ``conflict``: with the card's current state
    (retrying will not help); otherwise the request itself is wrong. ``slug`` names the problem
    type (``card-stolen``...), ``errors`` the fields at fault."""

    def __init__(
        self,
        title: str,
        detail: str,
        slug: str | None = None,
        *,
        conflict: bool = True,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.title = title
        self.detail = detail
        self.slug = slug
        self.conflict = conflict
        self.errors = errors


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    """A change of the network's blacklist a transition causes."""

    action: BlacklistAction
    reason: BlacklistReason


# --- checks at use ---------------------------------------------------------------------------


def card_refusal(card: CardState, at: datetime, dormant_after_days: int) -> tuple[str, str] | None:
    """Why a card may not be used at ``at`` (F4), or ``None``."""
    if card.status in BLOCKED:
        return BLOCKED[card.status], f"card {card.number} is {card.status} (blacklisted)"
    if card.expires_on is not None and at.date() > card.expires_on:
        return "card_expired", f"card {card.number} expired on {card.expires_on.isoformat()}"
    if is_dormant(card, at, dormant_after_days):
        return (
            "card_dormant",
            f"card {card.number} was not used for {dormant_after_days} days and is treated as "
            "lost: the back office can reactivate it (its pending rewards are then lost)",
        )
    return None


def is_dormant(card: CardState, at: datetime, dormant_after_days: int) -> bool:
    last = card.last_used_at or card.issued_at
    return at - last >= timedelta(days=dormant_after_days)


# --- issuance ---------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, on the last day of a shorter month (31 Jan + 1 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry(issued_at: datetime, validity_months: int | None) -> date | None:
    return None if validity_months is None else add_months(issued_at.date(), validity_months)


def issuer_prefix(association_id: UUID, prefix: str | None) -> str:
    """The association's issuer prefix, without which it issues no card."""
    if prefix is None:
        raise Refused(
            "No issuer prefix",
            f"association {association_id} has no issuer prefix, the first {ISSUER_DIGITS} "
            "digits of its card numbers: set it with PUT /v1/associations/"
            f'{association_id} {{..., "issuer_prefix": "NNNNNN"}}, then issue cards',
            "no-issuer-prefix",
        )
    return prefix


# --- blocking ---------------------------------------------------------------------------------

_NOT_BLOCKABLE = (
    "card {n} is {s}: only an active card can be blocked (a lost one can be declared stolen)"
)


def block(card: CardState, reason: Literal["lost", "stolen"]) -> BlacklistEntry | None:
    """A lost or stolen card goes on the blacklist. None: already blocked for this reason (a
    retry changes nothing). A lost card can then be declared stolen; a stolen card stays so."""
    if card.status == reason:
        return None
    if not (card.status == "active" or (card.status == "lost" and reason == "stolen")):
        raise Refused(
            "Cannot block",
            _NOT_BLOCKABLE.format(n=card.number, s=card.status),
            f"card-{card.status}",
        )
    return BlacklistEntry("add", reason)


# --- reactivation ----------------------------------------------------------------------------


def pending_lost_reference(number: str, idle_since: datetime) -> UUID:
    """One dormant spell of a card (it began at its last use) loses its pending rewards once."""
    return uuid.uuid5(
        uuid.NAMESPACE_URL, f"comptoir:cards/{number}/pending_lost/{idle_since.isoformat()}"
    )


@dataclass(frozen=True, slots=True)
class PendingForfeit:
    """A dormant card's account loses its pending rewards, and the visits counted towards them
    go with them: ``account_after`` is the account once forfeited."""

    reference: UUID
    movement: Movement
    account_after: AccountState

    @property
    def cents(self) -> int:
        return -self.movement.amount


@dataclass(frozen=True, slots=True)
class Reactivation:
    was_dormant: bool  # the card counts as used now
    was_lost: bool  # the card is active again, and off the blacklist
    forfeit: PendingForfeit | None  # None: no pending rewards to lose
    blacklist: BlacklistEntry | None


def reactivate(
    card: CardState, account: AccountState, at: datetime, dormant_after_days: int
) -> Reactivation:
    """A dormant card (unused for ``dormant_after_days``) forfeits its account's pending rewards
    and their visits; a lost card found again is active and off the blacklist. A stolen or
    cloned card is never reactivated (replace it); a replaced or cancelled one is out of use.
    A card neither dormant nor lost is left as it is."""
    if card.status in ("stolen", "cloned"):
        raise Refused(
            "Stolen card" if card.status == "stolen" else "Cloned card",
            f"card {card.number} was {card.status} and stays blacklisted: replace it "
            f"(POST /v1/cards/{card.number}/replacement)",
            f"card-{card.status}",
        )
    if card.status in ("replaced", "cancelled"):
        raise Refused(
            "Card out of use",
            f"card {card.number} is {card.status}"
            + (f" by {card.replaced_by}" if card.replaced_by else ""),
            f"card-{card.status}",
        )
    dormant = is_dormant(card, at, dormant_after_days)
    lost = card.status == "lost"
    forfeit = None
    if dormant and account.pending > 0:
        forfeit = PendingForfeit(
            pending_lost_reference(card.number, card.last_used_at or card.issued_at),
            Movement("pending_lost", "pending", -account.pending),
            replace(account, pending=0, visits=0, window_started_at=None),
        )
    # blocking it put it on the blacklist: finding it takes it off
    found = BlacklistEntry("remove", "found") if lost else None
    return Reactivation(dormant, lost, forfeit, found)


# --- replacement -----------------------------------------------------------------------------


def replacement_batch_id(number: str) -> UUID:
    """The print batch of a card's replacement: one per card, so a retry finds it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"comptoir:cards/{number}/replacement")


@dataclass(frozen=True, slots=True)
class Replacement:
    """A new card of the same type on the same account, with the old one's expiry date; the old
    card becomes ``replaced`` and goes on the blacklist (unless a blocking status put it there
    already). ``already``: the card was replaced before, by this number (a retry)."""

    already: str | None
    expires_on: date | None
    blacklist: BlacklistEntry | None


def replace_card(card: CardState) -> Replacement:
    if card.status == "replaced" and card.replaced_by is not None:
        return Replacement(card.replaced_by, card.expires_on, None)
    if card.status == "replaced":
        raise Refused("Card replaced", f"card {card.number} is already replaced")
    if card.status == "cancelled":
        raise Refused("Card cancelled", f"card {card.number} is cancelled", "card-cancelled")
    # a lost or stolen card is on the blacklist already
    blacklist = None if card.status in BLOCKED else BlacklistEntry("add", "replaced")
    return Replacement(None, card.expires_on, blacklist)


# --- renewal ---------------------------------------------------------------------------------


def renew(
    card: CardState, today: date, requested: date | None, validity_months: int | None
) -> date:
    """The new expiry date of an active card: ``requested`` (not in the past), or today plus
    its type's validity."""
    if card.status != "active":
        raise Refused(
            "Card not active",
            f"card {card.number} is {card.status}: only an active card is renewed",
            f"card-{card.status}",
        )
    if requested is not None:
        if requested < today:
            raise Refused(
                "Date in the past",
                f"expires_on {requested.isoformat()} is before today ({today.isoformat()})",
                conflict=False,
                errors=[{"field": "expires_on", "message": "in the past"}],
            )
        return requested
    if validity_months is None:
        raise Refused(
            "No validity period",
            "this card's type has no validity_months: give expires_on",
            conflict=False,
            errors=[{"field": "expires_on", "message": "required for this card type"}],
        )
    return add_months(today, validity_months)
