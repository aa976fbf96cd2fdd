"""The crm service: customer files and visits (triggers and campaigns build on them)."""

from __future__ import annotations

from pathlib import Path

from services.crm import api, handlers
from shared.contracts import (
    AccountOpened,
    CagnotteCredited,
    CardIssued,
    CardTransactionsBooked,
    RewardReversed,
)
from shared.service import ServiceSpec, main

SPEC = ServiceSpec(
    name="crm",
    migrations=Path(__file__).parent / "migrations",
    routes=api.routes,
    handlers=lambda rt: {
        CagnotteCredited: handlers.on_credited,
        AccountOpened: handlers.on_opened,
        RewardReversed: handlers.on_reversed,
        CardIssued: handlers.on_card_issued,
        CardTransactionsBooked: handlers.on_card_booked,
    },
)

if __name__ == "__main__":
    main(SPEC)
