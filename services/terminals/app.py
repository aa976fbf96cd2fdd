"""The gateway's app factory: its routes, its handler table, its jobs and its line.

domain/       terminals, requests and answers, verdicts, sync rules, the keyring (pure)
service/      submit a request and wait for its verdict; the sync session; the terminal
              registry and authentication; the waiters; the group commit (intake)
adapters/     all the SQL: requests and nonces, terminals and copies, sync sessions
entrypoints/  http/ (requests, terminals, sync), line.py, consumers.py, jobs.py, cli.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web

from services.terminals.adapters import terminals as terminal_store
from services.terminals.domain.outcomes import OUTCOMES
from services.terminals.entrypoints import consumers, jobs
from services.terminals.entrypoints.http import (
    anonymous_sales,
    desk,
    people,
    requests,
    sync,
    terminals,
)
from services.terminals.entrypoints.line import LineServer
from services.terminals.service.requests import Gateway
from services.terminals.service.sync import SyncService
from shared.contracts import BlacklistChanged, CustomerErased, TerminalParametersPublished
from shared.logging import get as get_logger
from shared.openapi import Api
from shared.service import Runtime, ServiceSpec, Subscriptions, always

API = Api(
    "terminals",
    "The gateway: sales, redemptions and enrolments signed by the shops' terminals (HMAC-SHA256, "
    "see README, Terminal API), and the back-office registry of terminals.",
).include(
    terminals.routes,
    requests.routes,
    anonymous_sales.routes,
    sync.routes,
    people.routes,
    desk.routes,
)


async def on_ready(rt: Runtime) -> None:
    gateway = Gateway(rt.pool, rt.settings)
    rt.state["gateway"] = gateway
    # Secrets written in clear before migration 0005 are sealed before the first request.
    sealed = await terminal_store.seal_plaintext(rt.pool, gateway.keyring)
    if sealed:
        get_logger("startup").info("terminal_secrets_sealed", terminals=sealed)
    rt.state["prune"] = asyncio.create_task(
        jobs.prune_nonces(rt.pool, rt.settings.signature_window_s)
    )
    service = SyncService(rt.pool)
    rt.state["sync"] = service
    if rt.settings.sync_line_port:
        line = LineServer(
            service,
            gateway.terminals,
            hello_timeout_s=rt.settings.line_hello_timeout_s,
            max_malformed=rt.settings.line_max_malformed,
        )
        try:
            await line.start(rt.settings.host, rt.settings.sync_line_port)
        except OSError as exc:  # the HTTP sessions still work; the line is retried at restart
            get_logger("line").error("line_unavailable", error=repr(exc))
        else:
            rt.state["line"] = line


def routes(app: web.Application, rt: Runtime) -> None:
    API.install(app)

    async def stop_line(_: web.Application) -> None:
        # Part of the graceful shutdown (aiohttp's on_shutdown runs in runner.cleanup(),
        # before the consumer stops and the outbox is flushed): sessions in hand finish.
        line: LineServer | None = rt.state.get("line")
        if line is not None:
            await line.stop(rt.settings.shutdown_grace_s)

    app.on_shutdown.append(stop_line)


SUBSCRIPTIONS = Subscriptions(
    "terminals.outcomes",
    dict.fromkeys(OUTCOMES, always(consumers.on_outcomes))
    | {
        BlacklistChanged: always(consumers.on_blacklist),
        TerminalParametersPublished: always(consumers.on_parameters),
        CustomerErased: always(consumers.on_erased),
    },
)


def after_commit(rt: Runtime) -> Any:
    return consumers.wake(lambda: rt.state.get("gateway"))


SPEC = ServiceSpec(
    name="terminals",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    subscriptions=SUBSCRIPTIONS,
    after_commit=after_commit,
    on_ready=on_ready,
)
