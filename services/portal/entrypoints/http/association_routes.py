"""Every page of the association back office (docs/association-back-office.md), one table
for app.py to mount: the books and the quarantine (association.py), a month's files and
adjustments, bank details, merchants and partners, programmes, card types, card and voucher
batches, webhooks."""

from __future__ import annotations

from aiohttp import web

from services.portal.entrypoints.http import (
    association,
    association_bank,
    association_card_types,
    association_issuance,
    association_month,
    association_network,
    association_programmes,
    association_webhooks,
)

ROUTES: list[web.AbstractRouteDef] = [
    *association.routes,
    *association_month.routes,
    *association_bank.routes,
    *association_network.routes,
    *association_programmes.routes,
    *association_card_types.routes,
    *association_issuance.routes,
    *association_webhooks.routes,
]
