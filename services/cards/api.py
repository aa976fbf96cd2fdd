"""Back-office HTTP API of the cards service: the route modules register on ``web.api``."""

from __future__ import annotations

from aiohttp import web

from services.cards import (
    cards_api,
    quarantine_api,
    quarantine_check,
)
from services.cards.entrypoints.http import (
    anomalies,
    card_types,
    catalogue,
    customer_files,
    donations,
    liability,
    programs,
    stored_value,
    vouchers,
)
from services.cards.web import api
from shared.service import Runtime

# Imported for their routes.
ROUTE_MODULES = (
    cards_api,
    quarantine_api,
    quarantine_check,
)

# The route tables of the layered modules (the app factory will gather them all).
api.include(
    catalogue.routes,
    programs.routes,
    card_types.routes,
    vouchers.routes,
    stored_value.routes,
    customer_files.routes,
    anomalies.routes,
    donations.routes,
    liability.routes,
)


def routes(app: web.Application, _: Runtime) -> None:
    api.install(app)
