"""Promotions (F7): a merchant's own or network-wide, for a period, per family, as a rate
override or a multiplier.

A promotion is live from ``starts_at`` (inclusive) to ``ends_at`` (exclusive). It applies to a
sale when it is live at the sale's time, is the network's (``merchant_id=None``) or the sale's
merchant's, and covers the sale's family (``families=None`` = every family).

Combining several live promotions, always the same way whatever their order of creation:

1. **Overrides**: the highest override rate is taken, and only if it is above the base rate (a
   promotion never lowers what a customer earns); ties go to the smaller ``promotion_id``.
   Every other override is reported as skipped. An override sets a taux client, so it applies
   to cagnotte programs only.
2. **Multipliers**: all of them, multiplied together (``x2`` and ``x3/2`` make ``x3``), applied
   once to the rate in bp from step 1, rounded half up to the whole bp before the reward is
   rounded to the cent (``shared.rules.money.apply_rate``). Integers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.rules.catalogue import check_rate


@dataclass(frozen=True, slots=True)
class RateOverride:
    taux_client_bps: int

    def __post_init__(self) -> None:
        check_rate(self.taux_client_bps, "override")


@dataclass(frozen=True, slots=True)
class Multiplier:
    """``numerator / denominator``: double points is ``Multiplier(2)``, +50 % is ``Multiplier(3, 2)``."""

    numerator: int
    denominator: int = 1

    def __post_init__(self) -> None:
        if self.numerator < 0 or self.denominator <= 0:
            raise ValueError("a multiplier is a non-negative numerator over a positive denominator")

    def __str__(self) -> str:
        return (
            f"x{self.numerator}"
            if self.denominator == 1
            else f"x{self.numerator}/{self.denominator}"
        )


Effect = RateOverride | Multiplier


@dataclass(frozen=True, slots=True)
class Promotion:
    promotion_id: str
    starts_at: datetime
    ends_at: datetime
    effect: Effect
    merchant_id: str | None = None
    families: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.starts_at.utcoffset() is None or self.ends_at.utcoffset() is None:
            raise ValueError(f"promotion {self.promotion_id}: dates must be time-zone aware")
        if self.ends_at <= self.starts_at:
            raise ValueError(f"promotion {self.promotion_id}: ends_at must be after starts_at")

    @property
    def owner(self) -> str:
        return "network" if self.merchant_id is None else f"merchant {self.merchant_id}"

    def is_live(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def applies_to(self, merchant_id: str, product_family: str | None) -> bool:
        if self.merchant_id is not None and self.merchant_id != merchant_id:
            return False
        return self.families is None or (
            product_family is not None and product_family in self.families
        )


def multiply_rate(rate_bps: int, numerator: int, denominator: int) -> int:
    """``rate × numerator / denominator`` rounded half up to the whole bp."""
    return (rate_bps * numerator * 2 + denominator) // (2 * denominator)
