"""The rule books, by their former path: the pure compilation is ``domain.rulebooks``, the
loading and the version bump ``adapters.rulebooks``. Kept so that the modules still importing
``services.cards.rulebooks`` keep working until they import the layers themselves."""

from services.cards.adapters.rulebooks import BOOKS, RuleBooks, bump
from services.cards.domain.rulebooks import (
    CardTypeRules,
    MerchantInfo,
    Snapshot,
    default_rates,
    from_snapshot,
    program_of,
    promotion_of,
    threshold_of,
)

__all__ = [
    "BOOKS",
    "CardTypeRules",
    "MerchantInfo",
    "RuleBooks",
    "Snapshot",
    "bump",
    "default_rates",
    "from_snapshot",
    "program_of",
    "promotion_of",
    "threshold_of",
]
