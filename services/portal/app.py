"""The portal's app factory: the pages every person signs in through, the identities behind
them, and the scope tokens it signs for them (issue 15, docs/access.md).

domain/       who may create whom, the rate limit's windows, sessions' and codes' expiry
service/      people and passwords, sessions, cardholders' codes, machines' API tokens
adapters/     all the SQL; the services' HTTP adapter (the person's scope token on each
              call); the messages asked of notifications through the outbox
entrypoints/  http/ pages, passwords, holders (HTML), api (JSON); web.py (headers, cookies,
              CSRF, templates); jobs.py; cli.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from services.portal.adapters.services import Services
from services.portal.entrypoints import jobs
from services.portal.entrypoints import web as w
from services.portal.entrypoints.http import (
    api,
    dashboard,
    desk,
    desk_bookings,
    holders,
    kiosk,
    pages,
    passwords,
    space,
    space_changes,
)
from services.portal.entrypoints.http.association_routes import ROUTES as ASSOCIATION_ROUTES
from services.portal.entrypoints.http.manage import ROUTES as MANAGE_ROUTES
from services.portal.service.state import Portal
from shared.access import Signer
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec

API = Api(
    "portal",
    "The portal's identities: people (created within the caller's reach), machines' API "
    "tokens, and their exchange for a scope token. The HTML pages (sign-in, password links, "
    "a cardholder's code, each role's home) are the portal's other routes.",
).include(api.routes, kiosk.api)


async def on_ready(rt: Runtime) -> None:
    signer = Signer(rt.settings.scope_signing_key)
    services = Services(rt.settings, signer)
    await services.start()
    portal = Portal(rt.pool, rt.settings, signer, services)
    rt.state["portal"] = portal
    rt.state["stopping"] = asyncio.Event()
    rt.state["prune"] = asyncio.create_task(jobs.prune(portal, rt.state["stopping"]))


async def on_stop(rt: Runtime) -> None:
    rt.state["stopping"].set()
    rt.state["prune"].cancel()
    await rt.state["portal"].services.close()


def routes(app: web.Application, rt: Runtime) -> None:
    API.install(app)
    for table in (
        pages.routes,
        passwords.routes,
        holders.routes,
        desk.routes,
        desk_bookings.routes,
        dashboard.routes,
        space.routes,
        MANAGE_ROUTES,  # the merchant's back office
        kiosk.routes,
        space_changes.routes,
        ASSOCIATION_ROUTES,  # the association's back office
    ):
        app.router.add_routes(table)
    app.on_response_prepare.append(w.secure_headers)
    app.middlewares.append(w.page_errors)  # inside shared/http's: a page's error as a page


SPEC = ServiceSpec(
    name="portal",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    on_ready=on_ready,
    on_stop=on_stop,
)
