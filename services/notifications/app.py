"""The notifications service: e-mail and SMS to customers, statements to merchants. It takes
over the monthly statements clearing publishes and keeps them as notices to send; the
messages it sends come with the CRM triggers and the statement e-mails.

The app factory: the HTTP routes of each entrypoints module, the handler of each event the
queue carries, the migrations. ``__main__`` only runs it.

    domain.py       pure: the notices and their status
    service.py      use cases: take over statements, find notices
    adapters.py     all the SQL
    entrypoints/    http/notices.py (the back office's read API), consumers.py (the events)
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.notifications.entrypoints import consumers, people
from services.notifications.entrypoints.http import notices
from shared.contracts import CustomerErased, MonthlyStatementReady
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec, Subscriptions, always

API = Api(
    "notifications", "Messages to customers and merchants: the monthly statements to send."
).include(notices.routes, people.routes)

# One handler per event the notifications' queue is bound to (shared.broker.QUEUES).
SUBSCRIPTIONS = Subscriptions(
    "notifications.events",
    {
        MonthlyStatementReady: always(consumers.on_statement_ready),
        CustomerErased: always(people.on_erased),
    },
)


def routes(app: web.Application, _: Runtime) -> None:
    API.install(app)


SPEC = ServiceSpec(
    name="notifications",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    subscriptions=SUBSCRIPTIONS,
)
