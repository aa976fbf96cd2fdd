"""The notifications service: e-mail and SMS to customers, statements to merchants. It takes
over the monthly statements clearing publishes and keeps them as notices to send; the
messages it sends come with the CRM triggers and the statement e-mails."""

from __future__ import annotations

from pathlib import Path

from services.notifications import api, handlers
from shared.contracts import MonthlyStatementReady
from shared.service import ServiceSpec, Subscriptions, always, main

SPEC = ServiceSpec(
    name="notifications",
    migrations=Path(__file__).parent / "migrations",
    routes=api.routes,
    subscriptions=Subscriptions(
        "notifications.events", {MonthlyStatementReady: always(handlers.on_statement_ready)}
    ),
)

if __name__ == "__main__":
    main(SPEC)
