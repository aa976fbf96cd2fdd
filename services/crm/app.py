"""The crm service: customer files and visits (triggers and campaigns build on them).

The app factory: the HTTP routes of each entrypoints module, the handler of each event the
crm's queue carries, the migrations. ``__main__`` only runs it.

    domain/         pure: visits and counters, the customer file, consent, signed links,
                    the statistics' counting and figures
    service/        use cases: visits, customers, consents, messages, rights (GDPR)
    adapters/       all the SQL; the HTTP clients of the other services
    entrypoints/    http/ (back office and public routes), consumers.py (the events), jobs.py
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from aiohttp import web

from services.crm.entrypoints import consumers, jobs
from services.crm.entrypoints.http import (
    campaigns,
    consents,
    customers,
    levels,
    merchants,
    messages,
    public,
    rights,
    segments,
    shop_messages,
    sponsorship,
    statistics,
    triggers,
)
from services.crm.service.common import Links
from shared.contracts import (
    AccountDetailsCorrected,
    AccountOpened,
    AnonymousSaleRecorded,
    CardIssued,
    LevelChanged,
    MessageStatusChanged,
    OptOutReceived,
    RewardReversed,
    SponsorshipReversalDone,
    SponsorshipReversalRefused,
    TransactionsBooked,
)
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec, Subscriptions, always

API = Api("crm", "The customer files: per network, and per merchant of the network.").include(
    customers.routes,
    merchants.routes,
    consents.routes,
    messages.routes,
    public.routes,
    rights.routes,
    triggers.routes,
    segments.routes,
    campaigns.routes,
    levels.routes,
    sponsorship.routes,
    shop_messages.routes,
    statistics.routes,
)

# The events crm receives, each with its handler (shared/topology.json is generated from them).
# The statistics record their facts in the same transaction (entrypoints/statistics.py,
# docs/statistics.md): a queue of their own (crm.statistics, retired) took a second copy of
# each booked fact, with its own parse, inbox row and commit.
SUBSCRIPTIONS = Subscriptions(
    "crm.events",
    {
        TransactionsBooked: lambda rt: partial(consumers.on_booked, links=Links.of(rt.settings)),
        AccountOpened: lambda rt: partial(consumers.on_opened, links=Links.of(rt.settings)),
        AnonymousSaleRecorded: always(consumers.on_anonymous),
        AccountDetailsCorrected: always(consumers.on_corrected),
        RewardReversed: always(consumers.on_reversed),
        SponsorshipReversalRefused: always(consumers.on_reversal_refused),
        SponsorshipReversalDone: always(consumers.on_reversal_done),
        CardIssued: always(consumers.on_card_issued),
        LevelChanged: lambda rt: partial(consumers.on_level_changed, links=Links.of(rt.settings)),
        MessageStatusChanged: always(consumers.on_status_changed),
        OptOutReceived: always(consumers.on_opt_out),
    },
)


def routes(app: web.Application, _: Runtime) -> None:
    API.install(app)


SPEC = ServiceSpec(
    name="crm",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    subscriptions=SUBSCRIPTIONS,
    on_ready=jobs.start,
    on_stop=jobs.stop,
)
