"""Pure bookkeeping rules of the compte pivot.

- Accrual (cagnottage of reward R with operator fee F at merchant M): the merchant owes the
  pivot R + F; the pivot owes R to the cardholders and F to the operator.
      merchant M           debit  R + F
      customer_liability   credit R
      operator_fees        credit F
- Redemption (décagnottage of X at merchant N): the cardholders' claim shrinks by X and the
  pivot owes X to the merchant who accepted it.
      customer_liability   debit  X
      merchant N           credit X
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

MERCHANT = "merchant"
LIABILITY = "customer_liability"
FEES = "operator_fees"

AccountKey = tuple[UUID, str, UUID | None]  # association, kind, merchant


@dataclass(frozen=True, slots=True)
class Posting:
    account: AccountKey
    amount_cents: int  # debit > 0, credit < 0


def accrual(association: UUID, merchant: UUID, reward_cents: int, fee_cents: int) -> list[Posting]:
    lines = [
        Posting((association, MERCHANT, merchant), reward_cents + fee_cents),
        Posting((association, LIABILITY, None), -reward_cents),
        Posting((association, FEES, None), -fee_cents),
    ]
    return [p for p in lines if p.amount_cents != 0]


def redemption(association: UUID, merchant: UUID, amount_cents: int) -> list[Posting]:
    return [
        Posting((association, LIABILITY, None), amount_cents),
        Posting((association, MERCHANT, merchant), -amount_cents),
    ]


def is_balanced(postings: list[Posting]) -> bool:
    return sum(p.amount_cents for p in postings) == 0
