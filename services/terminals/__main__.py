"""The terminals gateway: where shop terminals and tills send sales, redemptions and enrolments."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from services.terminals import api, keyring, outcomes, sync, sync_http
from services.terminals.line import LineServer
from shared.contracts import (
    BlacklistChanged,
    TerminalParametersPublished,
)
from shared.events import Event
from shared.logging import get as get_logger
from shared.service import Runtime, ServiceSpec, Subscriptions, always, main, settings_or_exit
from shared.settings import Settings

# Imported for its routes (registered on api.api): the sync sessions over HTTP.
__all__ = ["SPEC", "sync_http"]


async def on_ready(rt: Runtime) -> None:
    gateway = api.Gateway(rt)
    rt.state["gateway"] = gateway
    # Secrets written in clear before migration 0005 are sealed before the first request.
    sealed = await keyring.seal_plaintext(rt.pool, gateway.keyring)
    if sealed:
        get_logger("startup").info("terminal_secrets_sealed", terminals=sealed)
    rt.state["prune"] = asyncio.create_task(
        api.prune_nonces(rt.pool, rt.settings.signature_window_s)
    )
    service = sync.SyncService(rt.pool)
    rt.state["sync"] = service
    if rt.settings.sync_line_port:
        line = LineServer(
            service,
            gateway,
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
    api.routes(app, rt)

    async def stop_line(_: web.Application) -> None:
        # Part of the graceful shutdown (aiohttp's on_shutdown runs in runner.cleanup(),
        # before the consumer stops and the outbox is flushed): sessions in hand finish.
        line: LineServer | None = rt.state.get("line")
        if line is not None:
            await line.stop(rt.settings.shutdown_grace_s)

    app.on_shutdown.append(stop_line)


def after_commit(rt: Runtime) -> Any:
    def wake(events: list[Event[Any]]) -> None:
        gateway: api.Gateway | None = rt.state.get("gateway")
        if gateway is not None:
            decisions = (
                outcomes.decide(e) for e in events if isinstance(e.data, outcomes.OUTCOMES)
            )
            gateway.resolve([(d[0], d[3], d[4]) for d in decisions if d is not None])

    return wake


SPEC = ServiceSpec(
    name="terminals",
    migrations=Path(__file__).parent / "migrations",
    routes=routes,
    subscriptions=Subscriptions(
        "terminals.outcomes",
        dict.fromkeys(outcomes.OUTCOMES, always(outcomes.handler()))
        | {
            BlacklistChanged: always(outcomes.on_blacklist),
            TerminalParametersPublished: always(sync.on_parameters),
        },
    ),
    after_commit=after_commit,
    on_ready=on_ready,
)


async def rotate_kek(settings: Settings) -> int:
    """Reseal every terminal's secret under COMPTOIR_TERMINAL_KEK, opening each with it or
    with COMPTOIR_TERMINAL_KEK_PREVIOUS, in one transaction (keyring.rotate)."""
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": SPEC.name})
    try:
        return await keyring.rotate(conn, keyring.Keyring.from_settings(settings))
    finally:
        await conn.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["rotate-kek"]:
        # python -m services.terminals rotate-kek: the procedure is in README.md (Configuration).
        settings = settings_or_exit(SPEC.name)
        count = asyncio.run(rotate_kek(settings))
        current = keyring.Keyring.from_settings(settings).current_id
        print(f"rotate-kek: {count} terminal secrets resealed under KEK {current}")
    elif sys.argv[1:]:
        sys.exit(f"usage: python -m services.terminals [rotate-kek]; got {' '.join(sys.argv[1:])}")
    else:
        main(SPEC)
