"""Legal limits in France (F10), refused with a reason, never silently.

- tobacco and gambling earn no loyalty reward at all: ``legal_tobacco``, ``legal_gambling``;
- books (loi sur le prix du livre): the reward is at most 5 % of the price, so the effective
  taux client is capped at 500 bp (``legal_book_cap``). For points and stamps, the value of the
  units earned (at the program's conversion) is capped at 5 % of the price, rounded down to
  whole units so the cap is never exceeded.
"""

from __future__ import annotations

from shared.rules.catalogue import ProductFamily
from shared.rules.money import BP_PER_UNIT

BOOK_CAP_BPS = 500


def forbidden(family: ProductFamily | None) -> tuple[str, str] | None:
    """``(code, reason)`` when the law forbids any reward on this family, else ``None``."""
    if family is None:
        return None
    if family.tobacco:
        return "legal_tobacco", f"family {family.code} is tobacco: no loyalty reward by law"
    if family.gambling:
        return "legal_gambling", f"family {family.code} is gambling: no loyalty reward by law"
    return None


def book_units_cap(amount_cents: int, units_per_reward: int, reward_cents: int) -> int:
    """The most points or stamps whose value stays within 5 % of ``amount_cents``.

    ``units × reward_cents / units_per_reward ≤ amount × 500 / 10 000``, rounded down.
    """
    return (amount_cents * BOOK_CAP_BPS * units_per_reward) // (BP_PER_UNIT * reward_cents)
