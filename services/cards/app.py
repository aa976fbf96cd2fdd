"""The cards service, composed: its route tables, its handler table (entrypoints/consumers.py)
and its jobs (entrypoints/jobs.py).

Nothing registers by import: every route table is listed here. The catalogue, money,
partners, liability and anomalies routes still register on ``services.cards.web.api`` when
imported (until they have tables of their own), so they are imported here and that table is
included like the others.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.cards import (  # noqa: F401 - imported for the routes they put on web.api
    anomalies_api,
    catalogue_api,
    liability_api,
    money_api,
    partners_api,
)
from services.cards import web as legacy
from services.cards.entrypoints import consumers, jobs
from services.cards.entrypoints.http import (
    accounts,
    blacklist,
    cards,
    lifecycle,
    quarantine,
    reconciliation,
)
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec

API = Api(
    "cards",
    "Loyalty rules and the card life cycle: associations, merchants, product families, "
    "programs, promotions, card types, cards, the blacklist, accounts, vouchers, stored value, "
    "adjustments, customer file imports and the dry run of a sale.",
).include(
    legacy.api,
    accounts.routes,
    cards.routes,
    lifecycle.routes,
    blacklist.routes,
    quarantine.routes,
    reconciliation.routes,
)


def routes(app: web.Application, _: Runtime) -> None:
    API.install(app)


SPEC = ServiceSpec(
    name="cards",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    handlers=consumers.handlers,
    on_ready=jobs.on_ready,
)
