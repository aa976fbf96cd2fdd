"""Pure rules of the cards service: no database, no HTTP, no clock read.

- ``cards``: the card life cycle as transitions returning the facts they cause (blocking,
  reactivation and its forfeited pending rewards, replacement, renewal) and the checks at use;
- ``returns``: what a return takes back from its sale;
- ``identifiers``: e-mail addresses and bank-card tokens;
- ``card_checks``: the checks of what chip cards certified offline.

What a sale or a movement does to the buckets (available, pending, units, stored value) is in
``shared.rules.accounts``, re-exported here: the offline terminal credits a card with the same
code (one copy).
"""

from __future__ import annotations

from services.cards.domain.cards import (
    BLOCKED,
    EARNING_KINDS,
    MAX_BATCH,
    MONEY_KINDS,
    BlacklistEntry,
    CardState,
    Refused,
    add_months,
    card_refusal,
    is_dormant,
)
from services.cards.domain.returns import (
    ReturnRefusal,
    Reversal,
    SaleBooked,
    reverse,
    sale_booked,
)

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
    "EARNING_KINDS",
    "MAX_BATCH",
    "MONEY_KINDS",
    "AccountState",
    "BlacklistEntry",
    "Bucket",
    "CardState",
    "Credit",
    "Movement",
    "Overdrawn",
    "Refused",
    "ReturnRefusal",
    "Reversal",
    "SaleBooked",
    "add_months",
    "apply",
    "card_refusal",
    "credit_sale",
    "is_dormant",
    "reverse",
    "sale_booked",
]
