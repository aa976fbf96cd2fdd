"""Pure rules of the cards service: what a sale, a return or a card does to an account.

An account has four buckets, each a running sum of its ledger entries:

- ``available``: the cagnotte the holder can spend (euros, in cents);
- ``pending``: rewards waiting for the visit threshold (F8), part of what customers are owed;
- ``units``: points or stamps not yet converted into euros;
- ``stored_value``: money the customer loaded on a gift card, prepaid card or e-purse (F11),
  a liability kept apart from loyalty rewards.

Every change is a ``Movement`` (a ledger entry); a debit never ends below zero except an
audited ``adjustment``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from shared.rules.engine import Evaluation
from shared.rules.programs import Program, ProgramKind
from shared.rules.threshold import ThresholdPolicy, VisitCounters, apply_purchase

Bucket = Literal["available", "pending", "units", "stored_value"]
BUCKETS: tuple[Bucket, ...] = ("available", "pending", "units", "stored_value")


@dataclass(frozen=True, slots=True)
class Movement:
    kind: str
    bucket: Bucket
    amount: int


@dataclass(frozen=True, slots=True)
class AccountState:
    available: int = 0
    pending: int = 0
    units: int = 0
    stored_value: int = 0
    visits: int = 0
    window_started_at: datetime | None = None

    def balance(self, bucket: Bucket) -> int:
        value: int = getattr(self, bucket)
        return value


class Overdrawn(ValueError):
    """A debit would take a bucket below zero."""

    def __init__(self, bucket: Bucket, available: int, asked: int) -> None:
        super().__init__(f"{bucket}: {available} available, {asked} asked")
        self.bucket = bucket
        self.available = available
        self.asked = asked


def apply(
    state: AccountState, movements: list[Movement]
) -> tuple[AccountState, list[tuple[Movement, int]]]:
    """The state after the movements, and each movement with its bucket's balance after.

    Raises ``Overdrawn`` when a debit ends below zero, unless it is an ``adjustment``."""
    values = {b: state.balance(b) for b in BUCKETS}
    out = []
    for m in movements:
        after = values[m.bucket] + m.amount
        if m.amount < 0 and after < 0 and m.kind != "adjustment":
            raise Overdrawn(m.bucket, values[m.bucket], -m.amount)
        values[m.bucket] = after
        out.append((m, after))
    new = replace(
        state,
        available=values["available"],
        pending=values["pending"],
        units=values["units"],
        stored_value=values["stored_value"],
    )
    return new, out


@dataclass(frozen=True, slots=True)
class Credit:
    """What one sale does to an account."""

    state: AccountState
    movements: list[Movement]
    reward_cents: int  # euros added to what the holder is owed (pending or available)
    transferred_cents: int
    expired_cents: int
    units_earned: int


def credit_sale(
    state: AccountState,
    evaluation: Evaluation,
    program: Program,
    policy: ThresholdPolicy,
    at: datetime,
) -> Credit:
    """The entries of a sale: its reward (or units, converted into euros by whole rewards),
    then the visit threshold. Always at least one ``cagnottage`` entry, even of 0: the sale is
    in the ledger once, whatever it earned."""
    movements: list[Movement] = []
    # Straight to available when there is no threshold to wait for (the common case: one
    # entry per sale); otherwise through pending, moved by a transfer at the Nth visit.
    threshold = policy.visits_needed > 1 or state.pending != 0
    units = state.units
    units_earned = 0
    if program.kind is ProgramKind.CAGNOTTE:
        reward = evaluation.reward_cents
    else:
        units_earned = evaluation.points or evaluation.stamps
        movements.append(Movement("cagnottage", "units", units_earned))
        conversion = program.convert(units + units_earned)
        used = units + units_earned - conversion.units_left
        if used:
            movements.append(Movement("conversion", "units", -used))
        units = conversion.units_left
        reward = conversion.reward_cents

    counters = VisitCounters(state.pending, state.available, state.visits, state.window_started_at)
    outcome = apply_purchase(counters, reward, at, policy)
    if outcome.expired_cents:
        movements.append(Movement("pending_expired", "pending", -outcome.expired_cents))
    if program.kind is ProgramKind.CAGNOTTE:
        movements.append(Movement("cagnottage", "pending" if threshold else "available", reward))
    elif reward:
        movements.append(Movement("conversion", "pending" if threshold else "available", reward))
    transferred = outcome.transferred_cents if threshold else 0
    if transferred:
        movements.append(Movement("threshold_transfer", "pending", -transferred))
        movements.append(Movement("threshold_transfer", "available", transferred))
    c = outcome.counters
    new_state = replace(
        state,
        available=c.available_cents,
        pending=c.pending_cents,
        units=units,
        visits=c.visits,
        window_started_at=c.window_started_at,
    )
    return Credit(new_state, movements, reward, transferred, outcome.expired_cents, units_earned)


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
