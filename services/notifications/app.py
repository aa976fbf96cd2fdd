"""The notifications service: e-mail and SMS to customers, statements to merchants. It takes
over the monthly statements clearing publishes and keeps them as notices to send; the
messages it sends come with the CRM triggers and the statement e-mails. It also delivers the
signed webhooks the associations and merchants subscribe to (docs/webhooks.md).

The app factory: the HTTP routes of each entrypoints module, the handler of each event the
queue carries, the migrations. ``__main__`` only runs it.

    domain/         pure: notices, a message's life, SMS segments, marketing SMS hours,
                    webhooks (event types, payloads, signing, backoff)
    service/        use cases: notices, messages, rendering (templates/), the sending job,
                    webhooks and their delivery job
    adapters/       all the SQL (notices, messages, webhooks), SMTP, Kannel, attachments,
                    the webhooks' HTTP client
    entrypoints/    http/ (notices, messages, Kannel's callbacks, webhooks), consumers.py,
                    webhook_events.py (the webhooks' queue), jobs.py
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.notifications.entrypoints import consumers, jobs, people, webhook_events
from services.notifications.entrypoints.http import messages, notices, sms, webhooks
from shared.contracts import (
    AccountOpened,
    ConsentChanged,
    CustomerErased,
    LevelChanged,
    MerchantRegistered,
    MessageRequested,
    MonthlyStatementReady,
    SponsorshipRewardGranted,
    SponsorshipRewardReversed,
    TransactionsBooked,
)
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec, Subscriptions, always

API = Api(
    "notifications",
    "Messages to customers and merchants by e-mail and SMS (docs/messages.md), and the monthly "
    "statements to send.",
).include(notices.routes, messages.routes, sms.routes, people.routes, webhooks.routes)

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

# The webhooks' own queue (docs/webhooks.md): every sale booked passes through it, and its
# deliveries must not wait behind a campaign's messages, nor these behind them. Its events
# are the sources of domain/webhooks.py's EVENT_TYPES.
WEBHOOKS = Subscriptions(
    "notifications.webhooks",
    {
        TransactionsBooked: always(webhook_events.on_booked),
        AccountOpened: always(webhook_events.on_opened),
        ConsentChanged: always(webhook_events.on_consent),
        LevelChanged: always(webhook_events.on_level),
        MonthlyStatementReady: always(webhook_events.on_statement),
        SponsorshipRewardGranted: always(webhook_events.on_sponsorship),
        SponsorshipRewardReversed: always(webhook_events.on_sponsorship_reversal),
    },
    inbox="webhook_inbox",
    prefilter=webhook_events.prefilter,
)


def routes(app: web.Application, _: Runtime) -> None:
    API.install(app)


SPEC = ServiceSpec(
    name="notifications",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    subscriptions=SUBSCRIPTIONS,
    more_subscriptions=(WEBHOOKS,),
    on_ready=jobs.start,
    on_stop=jobs.stop,
)
