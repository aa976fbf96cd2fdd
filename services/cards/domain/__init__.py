"""Pure rules of the cards service: what a return or a card's status does to an account.

What a sale or a movement does to the buckets (available, pending, units, stored value) is in
``shared.rules.accounts``, re-exported here: the offline terminal credits a card with the same
code (one copy).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

# One copy of what a sale does to the buckets, shared with the offline terminal.
from shared.rules.accounts import (
    BUCKETS,
    AccountState,
    Bucket,
    Credit,
    Movement,
    Overdrawn,
    apply,
    credit_sale,
)

__all__ = [
    "BLOCKED",
    "BUCKETS",
    "AccountState",
    "Bucket",
    "CardState",
    "Credit",
    "Movement",
    "Overdrawn",
    "ReturnRefusal",
    "Reversal",
    "SaleBooked",
    "apply",
    "card_refusal",
    "credit_sale",
    "is_dormant",
    "reverse",
]


@dataclass(frozen=True, slots=True)
class SaleBooked:
    """What a sale left in the ledger, and what returns already took back from it."""

    amount_cents: int
    reward_cents: int
    fee_cents: int
    units_earned: int
    returned_cents: int = 0
    reversed_reward_cents: int = 0
    reversed_fee_cents: int = 0
    reversed_units: int = 0


@dataclass(frozen=True, slots=True)
class Reversal:
    reward_cents: int
    fee_cents: int
    units: int
    from_pending: int
    from_available: int
    movements: list[Movement]


class ReturnRefusal(ValueError):
    def __init__(self, reason: str, detail: str, reward_cents: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.reward_cents = reward_cents


def _share(total: int, part: int, whole: int) -> int:
    """``total × part / whole`` rounded half up: the pro rata of a partial return."""
    return (total * part * 2 + whole) // (2 * whole)


def reverse(sale: SaleBooked, returned_cents: int, state: AccountState) -> Reversal:
    """Take back the reward (and fee, and units) of ``returned_cents`` of a sale.

    Pro rata of the amount returned, half up; the return that completes the sale takes back
    exactly what is left, so the returns of a sale add up to its reward to the cent. The
    reward comes out of pending first, then available; if the account no longer holds it
    (already spent) the return is refused: only an audited adjustment may go below zero."""
    left = sale.amount_cents - sale.returned_cents
    if returned_cents > left:
        raise ReturnRefusal(
            "return_exceeds_sale",
            f"{returned_cents} cents returned but only {left} of the sale's "
            f"{sale.amount_cents} are left to return",
        )
    if returned_cents == left:
        reward = sale.reward_cents - sale.reversed_reward_cents
        fee = sale.fee_cents - sale.reversed_fee_cents
        units = sale.units_earned - sale.reversed_units
    else:
        reward = _share(sale.reward_cents, returned_cents, sale.amount_cents)
        fee = _share(sale.fee_cents, returned_cents, sale.amount_cents)
        units = _share(sale.units_earned, returned_cents, sale.amount_cents)
        reward = min(reward, sale.reward_cents - sale.reversed_reward_cents)
        fee = min(fee, sale.fee_cents - sale.reversed_fee_cents)
        units = min(units, sale.units_earned - sale.reversed_units)
    from_pending = min(max(state.pending, 0), reward)
    from_available = reward - from_pending
    if from_available > state.available or units > state.units:
        raise ReturnRefusal(
            "would_go_negative",
            f"the return takes back {reward} cents and {units} units but the account holds "
            f"{state.available} available, {state.pending} pending and {state.units} units: "
            "an adjustment by the back office is needed",
            reward,
        )
    movements = [Movement("reversal", "pending", -from_pending)] if from_pending else []
    if from_available or not movements:
        movements.append(Movement("reversal", "available", -from_available))
    if units:
        movements.append(Movement("reversal", "units", -units))
    return Reversal(reward, fee, units, from_pending, from_available, movements)


@dataclass(frozen=True, slots=True)
class CardState:
    number: str
    status: str
    expires_on: date | None
    last_used_at: datetime | None
    issued_at: datetime


BLOCKED = {
    "lost": "card_lost",
    "stolen": "card_stolen",
    "replaced": "card_replaced",
    "cancelled": "card_cancelled",
    # The same transaction counter with other content, seen at a sync: a copy of the card.
    "cloned": "card_cloned",
}


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
