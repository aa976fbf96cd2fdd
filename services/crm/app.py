"""The crm service: customer files and visits (triggers and campaigns build on them).

The app factory: the HTTP routes of each entrypoints module, the handler of each event the
crm's queue carries, the migrations. ``__main__`` only runs it.

    domain.py       pure: visits, cancellations, the counters' tallies
    service.py      use cases: record visits, cancel sales, enrol, record cards, read a file
    adapters.py     all the SQL
    entrypoints/    http/customers.py (the read API), consumers.py (the events)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from services.crm.entrypoints import consumers
from services.crm.entrypoints.http import customers
from shared.consumer import Handler
from shared.contracts import (
    AccountOpened,
    CagnotteCredited,
    CardIssued,
    CardTransactionsBooked,
    RewardReversed,
)
from shared.events import EventData
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec

API = Api("crm", "The customer files: per network, and per merchant of the network.").include(
    customers.routes
)

# One handler per event the crm's queue is bound to (shared.broker.QUEUES["crm"]).
HANDLERS: dict[type[EventData], Handler] = {
    CagnotteCredited: consumers.on_credited,
    AccountOpened: consumers.on_opened,
    RewardReversed: consumers.on_reversed,
    CardIssued: consumers.on_card_issued,
    CardTransactionsBooked: consumers.on_card_booked,
}


def routes(app: web.Application, _: Runtime) -> None:
    API.install(app)


def handlers(_: Any) -> dict[type[EventData], Handler]:
    return HANDLERS


SPEC = ServiceSpec(
    name="crm",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    handlers=handlers,
)
