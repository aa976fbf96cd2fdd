"""The cards service: accounts, rules and the cagnotte ledger."""

from __future__ import annotations

from pathlib import Path

from services.cards import api, handlers, offline, partners, publication, registrations
from shared.contracts import (
    CardTransactionsSynced,
    EnrolmentRequested,
    PartnerRegistered,
    RedemptionRequested,
    ReturnRecorded,
    SaleRecorded,
)
from shared.service import Runtime, ServiceSpec, main


async def _on_ready(rt: Runtime) -> None:
    await registrations.start(rt)
    await publication.start(rt)


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
        PartnerRegistered: partners.on_partners,
    },
    on_ready=_on_ready,
)

if __name__ == "__main__":
    main(SPEC)
