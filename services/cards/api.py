"""Back-office HTTP API of the cards service: the route modules register on ``web.api``."""

from __future__ import annotations

from aiohttp import web

from services.cards import (
    anomalies_api,
    cards_api,
    liability_api,
    money_api,
    partners_api,
    quarantine_api,
    quarantine_check,
)
from services.cards.entrypoints.http import card_types, catalogue, programs
from services.cards.web import api
from shared.service import Runtime

# Imported for their routes.
ROUTE_MODULES = (
    cards_api,
    money_api,
    anomalies_api,
    partners_api,
    liability_api,
    quarantine_api,
    quarantine_check,
)

# The route tables of the layered modules (the app factory will gather them all).
api.include(catalogue.routes, programs.routes, card_types.routes)


def routes(app: web.Application, _: Runtime) -> None:
    api.install(app)
