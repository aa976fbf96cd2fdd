"""The cards service, composed: its route tables (entrypoints/http/, one per resource), its
subscriptions (entrypoints/consumers.py) and its jobs (entrypoints/jobs.py). Nothing registers
by import: every route table is listed here."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.cards.entrypoints import consumers, jobs
from services.cards.entrypoints.http import (
    account_promotions,
    accounts,
    anomalies,
    blacklist,
    card_types,
    cards,
    catalogue,
    customer_files,
    donations,
    enrolments,
    levels,
    liability,
    lifecycle,
    programs,
    quarantine,
    reconciliation,
    stored_value,
    vouchers,
)
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec

API = Api(
    "cards",
    "Loyalty rules and the card life cycle: associations, merchants, product families, "
    "programs, promotions, card types, cards, the blacklist, accounts and their status levels, "
    "vouchers, stored value, adjustments, customer file imports and the dry run of a sale.",
).include(
    catalogue.routes,
    programs.routes,
    card_types.routes,
    accounts.routes,
    enrolments.routes,
    account_promotions.routes,
    levels.routes,
    cards.routes,
    lifecycle.routes,
    blacklist.routes,
    vouchers.routes,
    stored_value.routes,
    customer_files.routes,
    donations.routes,
    quarantine.routes,
    reconciliation.routes,
    anomalies.routes,
    liability.routes,
)


def routes(app: web.Application, _: Runtime) -> None:
    API.install(app)


SPEC = ServiceSpec(
    name="cards",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    subscriptions=consumers.SUBSCRIPTIONS,
    on_ready=jobs.on_ready,
)
