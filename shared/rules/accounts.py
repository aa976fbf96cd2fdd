"""What a sale or a movement does to an account's buckets: pure, shared by the cards service
and the offline terminal, which must credit a card exactly as the server credits an account.

An account (or a card) has four buckets, each a running sum of its cagnotte entries:

- ``available``: the cagnotte the holder can spend (euros, in cents);
- ``pending``: rewards waiting for the visit threshold (F8), part of what customers are owed;
- ``units``: points or stamps not yet converted into euros;
- ``stored_value``: money the customer loaded on a gift card, prepaid card or e-purse (F11),
  a liability kept apart from loyalty rewards.

Every change is a ``Movement`` (a cagnotte entry); a debit never ends below zero except an
audited ``adjustment``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from shared.rules.engine import Evaluation
from shared.rules.programs import Program, ProgramKind
from shared.rules.visit_threshold import VisitCounters, VisitThreshold, apply_purchase

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
    visit_threshold: VisitThreshold,
    at: datetime,
) -> Credit:
    """The entries of a sale: its reward (or units, converted into euros by whole rewards),
    then the visit threshold. Always at least one ``cagnottage`` entry, even of 0: the sale is
    in the cagnotte once, whatever it earned."""
    movements: list[Movement] = []
    # Straight to available when there is no threshold to wait for (the common case: one
    # entry per sale); otherwise through pending, moved by a transfer at the Nth visit.
    threshold = visit_threshold.visits_needed > 1 or state.pending != 0
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
    outcome = apply_purchase(counters, reward, at, visit_threshold)
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
