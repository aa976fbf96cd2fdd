"""The crm service: customer files and visits (triggers and campaigns build on them).

The app factory: the HTTP routes of each entrypoints module, the handler of each event the
crm's queue carries, the migrations. ``__main__`` only runs it.

    domain.py       pure: visits, cancellations, the counters' tallies
    service.py      use cases: record visits, cancel sales, enrol, record cards, read a file
    adapters/       all the SQL (customers.py)
    entrypoints/    http/customers.py (the read API), consumers.py (the events)
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.crm.entrypoints import consumers
from services.crm.entrypoints.http import customers
from shared.contracts import (
    AccountOpened,
    CardIssued,
    RewardReversed,
    TransactionsBooked,
)
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec, Subscriptions, always

API = Api("crm", "The customer files: per network, and per merchant of the network.").include(
    customers.routes
)

# The events crm receives, each with its handler (shared/topology.json is generated from them).
SUBSCRIPTIONS = Subscriptions(
    "crm.events",
    {
        TransactionsBooked: always(consumers.on_booked),
        AccountOpened: always(consumers.on_opened),
        RewardReversed: always(consumers.on_reversed),
        CardIssued: always(consumers.on_card_issued),
    },
)


def routes(app: web.Application, _: Runtime) -> None:
    API.install(app)


SPEC = ServiceSpec(
    name="crm",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    subscriptions=SUBSCRIPTIONS,
)
