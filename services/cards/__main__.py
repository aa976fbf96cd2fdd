"""The cards service: accounts, rules and the cagnotte ledger."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from services.cards import api, handlers, offline, publication, registrations
from services.cards.service import partners
from shared.contracts import (
    CardTransactionsSynced,
    EnrolmentRequested,
    PartnerRegistered,
    RedemptionRequested,
    ReturnRecorded,
    SaleRecorded,
)
from shared.service import Runtime, ServiceSpec, Subscriptions, always, main


async def _on_ready(rt: Runtime) -> None:
    await registrations.start(rt)
    await publication.start(rt)


SPEC = ServiceSpec(
    name="cards",
    migrations=Path(__file__).parent / "migrations",
    routes=api.routes,
    subscriptions=Subscriptions(
        "cards.events",
        {
            # the window of dates within reason is a setting (shared/rules/dates.py)
            SaleRecorded: lambda rt: partial(handlers.on_sales, window=rt.settings.date_window()),
            RedemptionRequested: lambda rt: partial(
                handlers.on_redemptions, window=rt.settings.date_window()
            ),
            EnrolmentRequested: always(handlers.on_enrolments),
            ReturnRecorded: lambda rt: partial(
                handlers.on_returns, window=rt.settings.date_window()
            ),
            CardTransactionsSynced: lambda rt: offline.handler(rt.settings),
            PartnerRegistered: always(partners.on_partners),
        },
    ),
    on_ready=_on_ready,
)

if __name__ == "__main__":
    main(SPEC)
