"""The clearing service: the compte pivot between the shops of an association."""

from __future__ import annotations

from pathlib import Path

from services.clearing import api, handlers
from shared.contracts import (
    AccountAdjusted,
    CagnotteCredited,
    CagnotteRedeemed,
    CardTransactionsBooked,
    RewardReversed,
)
from shared.service import ServiceSpec, main

SPEC = ServiceSpec(
    name="clearing",
    migrations=Path(__file__).parent / "migrations",
    routes=api.routes,
    handlers=lambda rt: {
        CagnotteCredited: handlers.on_credited,
        CagnotteRedeemed: handlers.on_redeemed,
        RewardReversed: handlers.on_reversed,
        AccountAdjusted: handlers.on_adjusted,
        CardTransactionsBooked: handlers.on_card_booked,
    },
)

if __name__ == "__main__":
    main(SPEC)
