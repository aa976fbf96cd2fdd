"""The cards service's back-office API: one ``Api`` that every route module registers on."""

from __future__ import annotations

from shared.openapi import Api

api = Api(
    "cards",
    "Loyalty rules and the card life cycle: associations, merchants, product families, "
    "programs, promotions, card types, cards, the blacklist, accounts, vouchers, stored value, "
    "adjustments, customer file imports and the dry run of a sale.",
)
