"""The cards service: accounts, rules and the cagnotte ledger."""

from __future__ import annotations

from pathlib import Path

from services.cards import api, handlers, offline, publication
from shared.contracts import (
    CardTransactionsSynced,
    EnrolmentRequested,
    RedemptionRequested,
    ReturnRecorded,
    SaleRecorded,
)
from shared.service import ServiceSpec, main

SPEC = ServiceSpec(
    name="cards",
    migrations=Path(__file__).parent / "migrations",
    routes=api.routes,
    handlers=lambda rt: {
        SaleRecorded: handlers.on_sales,
        RedemptionRequested: handlers.on_redemptions,
        EnrolmentRequested: handlers.on_enrolments,
        ReturnRecorded: handlers.on_returns,
        CardTransactionsSynced: offline.handler(rt.settings),
    },
    on_ready=publication.start,
)

if __name__ == "__main__":
    main(SPEC)
