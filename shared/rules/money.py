"""Money is integer cents and rates are basis points (1 bp = 0.01 %); never floats.

Rounding rule (docs/rewards.md): a rate applied to an amount is rounded half up to the cent,
per sale: 1234 cents at 250 bp is 30.85 cents → 31; 1230 cents at 250 bp is 30.75 → 31;
1220 cents at 250 bp is 30.5 → 31; 1219 cents at 250 bp is 30.475 → 30.
"""

from __future__ import annotations

BP_PER_UNIT = 10_000
MAX_RATE_BPS = 10_000  # 100 %


def apply_rate(amount_cents: int, rate_bps: int) -> int:
    """``amount × rate`` in cents, rounded half up (amounts and rates are never negative)."""
    if amount_cents < 0 or rate_bps < 0:
        raise ValueError("amounts and rates are never negative")
    return (amount_cents * rate_bps * 2 + BP_PER_UNIT) // (2 * BP_PER_UNIT)


def format_eur(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d} €"
