"""The clearing service, composed: the compte pivot between the shops of an association.

Its routes (one table per resource, ``entrypoints/http``), the events it books
(``entrypoints/consumers.py``) and its jobs (``entrypoints/jobs.py``) are named here once.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.clearing.entrypoints import consumers, jobs
from services.clearing.entrypoints.http import (
    balances,
    bank_details,
    partner_statements,
    partners,
    people,
    periods,
    reconciliation,
    settlements,
    statements,
)
from shared.contracts import (
    AccountAdjusted,
    AccountHolderRenamed,
    AccountOpened,
    CardIssued,
    CustomerDetailsChanged,
    CustomerErased,
    MerchantRegistered,
    RewardReversed,
    TransactionsBooked,
)
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec, Subscriptions, always

API = Api(
    "clearing", "The compte pivot: its accounts' balances per association, its journal's entries."
).include(
    balances.routes,
    statements.routes,
    periods.routes,
    settlements.routes,
    bank_details.routes,
    partners.routes,
    partner_statements.routes,
    reconciliation.routes,
    people.routes,
)

# The events clearing books, each with its handler (shared/topology.json is generated from them).
SUBSCRIPTIONS = Subscriptions(
    "clearing.events",
    {
        TransactionsBooked: always(consumers.on_booked),
        RewardReversed: always(consumers.on_reversed),
        AccountAdjusted: always(consumers.on_adjusted),
        MerchantRegistered: always(consumers.on_merchant),
        AccountOpened: always(consumers.on_holder),
        CardIssued: always(consumers.on_holder),
        AccountHolderRenamed: always(consumers.on_renamed),
        CustomerDetailsChanged: always(consumers.on_details_changed),
        CustomerErased: always(consumers.on_erased),
    },
)


def routes(app: web.Application, _: Runtime) -> None:
    API.install(app)


SPEC = ServiceSpec(
    name="clearing",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    subscriptions=SUBSCRIPTIONS,
    on_ready=jobs.start,
)
