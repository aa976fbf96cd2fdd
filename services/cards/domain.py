"""Pure rules of the cards service: what a batch of sales or redemptions does to balances.

Balances are chained in the order the events arrive, so each entry knows the balance it left.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from shared.rules.rates import AssociationRates, MerchantRates, Reward, reward_for


@dataclass(frozen=True, slots=True)
class MerchantTerms:
    merchant_id: UUID
    association_id: UUID
    association: AssociationRates
    merchant: MerchantRates

    def reward(self, amount_cents: int) -> Reward:
        return reward_for(amount_cents, self.association, self.merchant)


@dataclass(frozen=True, slots=True)
class Debit:
    ok: bool
    balance_after: int
    available: int


class Balances:
    """Running balances of the accounts locked by one transaction."""

    def __init__(self, opening: dict[UUID, int]) -> None:
        self._b = dict(opening)

    def credit(self, account: UUID, cents: int) -> int:
        self._b[account] += cents
        return self._b[account]

    def debit(self, account: UUID, cents: int) -> Debit:
        available = self._b[account]
        if cents > available:
            return Debit(False, available, available)
        self._b[account] = available - cents
        return Debit(True, self._b[account], available)

    def items(self) -> list[tuple[UUID, int]]:
        return list(self._b.items())
