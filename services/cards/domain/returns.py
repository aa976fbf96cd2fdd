"""Returns (F16): what a return takes back from the sale it names, pro rata, and from which
bucket; never below zero (only an audited adjustment may go there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from shared.rules.accounts import AccountState, Movement


@dataclass(frozen=True, slots=True)
class SaleBooked:
    """What a sale left in the cagnotte, and what returns already took back from it."""

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


def sale_booked(rows: Sequence[Mapping[str, Any]]) -> tuple[UUID, UUID, SaleBooked]:
    """The account and merchant of a sale, what it left in the cagnotte and what its returns
    already took back (``rows``: its cagnottage and conversion entries and its reversals)."""
    cents = ("available", "pending")
    # One cagnottage entry per sale carries the purchase and the fee (see service/sales.py).
    sale = next(r for r in rows if r["kind"] == "cagnottage" and r["purchase_cents"] is not None)
    reward = sum(
        r["amount_cents"]
        for r in rows
        if r["kind"] != "reversal" and r["bucket"] in cents and r["amount_cents"] > 0
    )
    units = sum(
        r["amount_cents"] for r in rows if r["kind"] == "cagnottage" and r["bucket"] == "units"
    )
    reversals = [r for r in rows if r["kind"] == "reversal"]
    return (
        sale["account_id"],
        sale["merchant_id"],
        SaleBooked(
            amount_cents=sale["purchase_cents"],
            reward_cents=reward,
            fee_cents=sale["fee_cents"] or 0,
            units_earned=units,
            returned_cents=sum(r["purchase_cents"] or 0 for r in reversals),
            reversed_reward_cents=-sum(
                r["amount_cents"] for r in reversals if r["bucket"] in cents
            ),
            reversed_fee_cents=sum(r["fee_cents"] or 0 for r in reversals),
            reversed_units=-sum(r["amount_cents"] for r in reversals if r["bucket"] == "units"),
        ),
    )
