"""The notifications service: e-mail and SMS to customers, statements to merchants. It takes
over the monthly statements clearing publishes and keeps them as notices to send; the
messages it sends come with the CRM triggers and the statement e-mails.

The app factory: the HTTP routes of each entrypoints module, the handler of each event the
queue carries, the migrations. ``__main__`` only runs it.

    domain/         pure: notices, a message's life, SMS segments, marketing SMS hours
    service/        use cases: notices, messages, rendering (templates/), the sending job
    adapters/       all the SQL (notices, messages), SMTP, Kannel, attachments
    entrypoints/    http/ (notices, messages, Kannel's callbacks), consumers.py, jobs.py
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.notifications.entrypoints import consumers, jobs, people
from services.notifications.entrypoints.http import messages, notices, sms
from shared.contracts import (
    CustomerErased,
    MerchantRegistered,
    MessageRequested,
    MonthlyStatementReady,
)
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec, Subscriptions, always

API = Api(
    "notifications",
    "Messages to customers and merchants by e-mail and SMS (docs/messages.md), and the monthly "
    "statements to send.",
).include(notices.routes, messages.routes, sms.routes, people.routes)

# One handler per event the notifications' queue is bound to (shared.broker.QUEUES).
SUBSCRIPTIONS = Subscriptions(
    "notifications.events",
    {
        MonthlyStatementReady: always(consumers.on_statement_ready),
        MessageRequested: always(consumers.on_message_requested),
        MerchantRegistered: always(consumers.on_merchant),
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
    on_ready=jobs.start,
    on_stop=jobs.stop,
)
