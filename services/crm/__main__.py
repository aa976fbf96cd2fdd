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
from shared.service import ServiceSpec, Subscriptions, always, main

SPEC = ServiceSpec(
    name="crm",
    migrations=Path(__file__).parent / "migrations",
    routes=api.routes,
    subscriptions=Subscriptions(
        "crm.events",
        {
            CagnotteCredited: always(handlers.on_credited),
            AccountOpened: always(handlers.on_opened),
            RewardReversed: always(handlers.on_reversed),
            CardIssued: always(handlers.on_card_issued),
            CardTransactionsBooked: always(handlers.on_card_booked),
        },
    ),
)

if __name__ == "__main__":
    main(SPEC)
