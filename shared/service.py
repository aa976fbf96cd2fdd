"""The life of a service process: HTTP first (so /health answers at once), then database,
migrations and broker, retried until they are there; /ready turns green only when all are.
SIGTERM stops taking work, finishes what is in hand, flushes the outbox, then exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from aio_pika.exceptions import AMQPException
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import access_http, broker, db, edge, metrics, production
from shared import logging as log
from shared.access import Verifier
from shared.consumer import AfterCommit, Consumer, Handler, Prefilter
from shared.events import EventData
from shared.http import PRINCIPAL, Problem, json_response, middleware
from shared.outbox import Relay
from shared.settings import Settings, load


@dataclass
class Runtime:
    """What a running service holds; handed to its routes and handlers."""

    settings: Settings
    pool: asyncpg.Pool = field(init=False)
    connection: AbstractRobustConnection = field(init=False)
    channel: AbstractChannel = field(init=False)
    exchange: AbstractExchange = field(init=False)
    relay: Relay = field(init=False)
    consumer: Consumer | None = None
    # The consumers of the service's other queues (ServiceSpec.more_subscriptions).
    more_consumers: list[Consumer] = field(default_factory=list)
    ready: bool = False
    stopping: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    # The portal's public keys, that every back-office route's scope token is checked with.
    verifier: Verifier = field(init=False)

    def __post_init__(self) -> None:
        self.verifier = Verifier(self.settings.scope_public_keys)


# A handler made for one running service (e.g. given its settings); ``always`` for one that
# needs nothing.
HandlerFactory = Callable[[Runtime], Handler]


def always(handler: Handler) -> HandlerFactory:
    return lambda _rt: handler


@dataclass(frozen=True)
class Subscriptions:
    """The events a service's queue receives, each declared once, with its handler. The
    bindings every service declares at start (shared/topology.json, so that an event published
    before its consumer first ran waits in its queue) are generated from these tables by
    ``python -m deploy.topology``; a service whose table differs from them refuses to start."""

    queue: str
    handlers: Mapping[type[EventData], HandlerFactory]
    # The table that drops the events this queue's consumer saw already. A service's second
    # queue takes events its first may take too (the same event id): it needs its own.
    inbox: str = "inbox"
    # A cheap look before validation for events the handlers would do nothing with
    # (shared.consumer.Prefilter), made for the running service; None: every event is parsed.
    prefilter: Callable[[Runtime], Prefilter] | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z_]{1,40}", self.inbox):
            raise ValueError(f"an inbox table is a plain name, not {self.inbox!r}")

    def routing_keys(self) -> tuple[str, ...]:
        return tuple(sorted(model.routing_key() for model in self.handlers))

    def bind(self, rt: Runtime) -> dict[type[EventData], Handler]:
        return {model: make(rt) for model, make in self.handlers.items()}


@dataclass
class ServiceSpec:
    name: str
    migrations: Path
    routes: Callable[[web.Application, Runtime], None] = lambda app, rt: None
    subscriptions: Subscriptions | None = None
    # Other queues of the service, each with its own consumer and inbox: work that must not
    # wait behind the first queue's (notifications' webhooks behind its messages).
    more_subscriptions: tuple[Subscriptions, ...] = ()
    after_commit: Callable[[Runtime], AfterCommit] | None = None
    on_ready: Callable[[Runtime], Awaitable[None]] | None = None
    # Stops what on_ready started (a job), before the consumer and the pool close.
    on_stop: Callable[[Runtime], Awaitable[None]] | None = None


RUNTIME = web.AppKey("runtime", Runtime)


def back_office(request: web.Request) -> Runtime:
    """The runtime, for a back-office request that carries a scope token (or the operator's
    bootstrap admin token) and a ready service. The route must then ``authorise`` the data it
    reaches before it answers (shared/http.py refuses an answer that did not)."""
    rt = request.app[RUNTIME]
    request[PRINCIPAL] = access_http.authenticate(request, rt.settings.admin_token, rt.verifier)
    if not rt.ready:
        raise Problem(503, "Not ready", "the service is starting")
    return rt


async def wind_down(
    stopping: asyncio.Event, task: asyncio.Task[None] | None, grace_s: float
) -> None:
    """A job's graceful stop: ``stopping`` set, the pass in hand may finish within
    ``grace_s``; past it, the task is cancelled (its leases bring its work back)."""
    if task is None:
        return
    stopping.set()
    try:
        await asyncio.wait_for(asyncio.shield(task), grace_s)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _health(_: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def _ready(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    checks: dict[str, str] = {}
    if rt.ready and not rt.stopping:
        try:
            await rt.pool.fetchval("SELECT 1", timeout=2)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"down: {exc!r}"
        checks["broker"] = "ok" if not rt.connection.is_closed else "down"
        checks["migrations"] = "ok"
    else:
        checks["service"] = "stopping" if rt.stopping else "starting"
    ok = all(v == "ok" for v in checks.values())
    return json_response(
        {"status": "ready" if ok else "not ready", "checks": checks}, 200 if ok else 503
    )


async def _metrics(_: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _until_up(what: str, attempt: Callable[[], Awaitable[Any]]) -> Any:
    logger = log.get("startup")
    delay = 0.2
    while True:
        try:
            return await attempt()
        except (
            TimeoutError,
            OSError,
            asyncpg.PostgresError,
            ConnectionError,
            AMQPException,
        ) as exc:
            logger.warning(
                "dependency_unavailable", dependency=what, error=repr(exc), retry_in_s=delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _open_broker(rt: Runtime, owned: set[str]) -> broker.Topology:
    """Connect and declare the topology; a broker still booting fails either step."""
    connection = await broker.connect(rt.settings)
    try:
        rt.channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await rt.channel.set_qos(prefetch_count=rt.settings.prefetch)
        topology = await broker.declare(rt.channel, rt.settings, owned)
        for name, left in await broker.retire(connection, rt.settings, owned):
            log.get("startup").warning("retired_queue_not_empty", queue=name, events=left)
    except BaseException:
        await connection.close()
        raise
    rt.connection = connection
    return topology


def _owned_queues(spec: ServiceSpec) -> set[str]:
    """The queues the service consumes from (their stale bindings are its to remove)."""
    subscriptions = [spec.subscriptions] if spec.subscriptions is not None else []
    return {s.queue for s in [*subscriptions, *spec.more_subscriptions]}


def _tune_gc() -> None:
    """Per sale the gateway allocates thousands of short-lived objects; with the default
    thresholds the cyclic collector took 41 % of its CPU under load (docs/benchmarks.md).
    Objects alive once started are frozen out of collections, and collections are rarer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1_000)


async def _start_backbone(spec: ServiceSpec, rt: Runtime) -> None:
    s = rt.settings
    logger = log.get("startup")
    applied = await _until_up(
        "database", lambda: db.migrate(s.database_url, spec.name, spec.migrations)
    )
    if applied:
        logger.info("migrations_applied", versions=applied)
    rt.pool = await _until_up(
        "database", lambda: db.create_pool(s.database_url, spec.name, s.db_pool_min, s.db_pool_max)
    )
    topology = await _until_up("broker", lambda: _open_broker(rt, _owned_queues(spec)))
    rt.exchange = topology.exchange
    rt.relay = Relay(spec.name, rt.pool, rt.exchange, s.relay_batch, s.relay_poll_s)
    rt.state["relay_task"] = asyncio.create_task(rt.relay.run(), name="outbox-relay")
    if spec.subscriptions is not None:
        rt.consumer = Consumer(
            spec.name,
            rt.pool,
            topology.queues[spec.subscriptions.queue],
            topology.dead_letter_exchange,
            spec.subscriptions.bind(rt),
            retries=s.handler_retries,
            after_commit=spec.after_commit(rt) if spec.after_commit else None,
            prefilter=spec.subscriptions.prefilter(rt) if spec.subscriptions.prefilter else None,
        )
        await rt.consumer.start()
    for more in spec.more_subscriptions:
        consumer = Consumer(
            spec.name,
            rt.pool,
            topology.queues[more.queue],
            topology.dead_letter_exchange,
            more.bind(rt),
            retries=s.handler_retries,
            inbox=more.inbox,
            prefilter=more.prefilter(rt) if more.prefilter else None,
        )
        await consumer.start()
        rt.more_consumers.append(consumer)
    if spec.on_ready is not None:
        await spec.on_ready(rt)
    _tune_gc()
    rt.ready = True
    logger.info("service_ready", port=s.listen_port())


async def _shutdown(spec: ServiceSpec, rt: Runtime, runner: web.AppRunner) -> None:
    """Stop in the order that loses nothing: no new requests, then the work in hand (whose
    answers may still need the consumer), then the consumer, then flush the outbox."""
    logger = log.get("shutdown")
    rt.stopping = True
    logger.info("service_stopping")
    await runner.cleanup()  # closes the listener and waits for requests in flight
    if rt.ready:
        if spec.on_stop is not None:
            await spec.on_stop(rt)
        for consumer in [rt.consumer, *rt.more_consumers]:
            if consumer is not None:
                await consumer.stop()
        await rt.relay.stop()
        rt.state["relay_task"].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rt.state["relay_task"]
        await rt.connection.close()
        await rt.pool.close()
    logger.info("service_stopped")


async def serve(spec: ServiceSpec, settings: Settings | None = None) -> None:
    settings = settings or load(spec.name)
    log.configure(spec.name, settings.log_level)
    for dev in production.development_secrets(spec.name, settings):  # COMPTOIR_ENV=development
        log.get("startup").warning(
            "development_secret", setting=dev.variable, what=dev.what, env=settings.env
        )
    rt = Runtime(settings)
    gate = edge.Gate(
        settings.http_max_connections,
        settings.http_header_timeout_s,
        settings.http_body_timeout_s,
    )
    app = web.Application(
        middlewares=[middleware(spec.name), edge.deadlines(gate)], client_max_size=1 << 20
    )
    app[RUNTIME] = rt
    app.router.add_get("/health", _health)
    app.router.add_get("/ready", _ready)
    app.router.add_get("/metrics", _metrics)
    spec.routes(app, rt)
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=settings.shutdown_grace_s,
        keepalive_timeout=settings.http_keepalive_timeout_s,
    )
    await runner.setup()
    # A nightly burst of tills reconnecting overflows the default accept queue of 128, and
    # the kernel then drops connections silently (retransmitted seconds later).
    site = edge.GuardedSite(
        runner, settings.host, settings.listen_port(), gate, reuse_address=True, backlog=4096
    )
    await site.start()
    log.get("startup").info("http_listening", host=settings.host, port=settings.listen_port())

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(_start_backbone(spec, rt), name="startup")
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if starting.done() and starting.exception() is not None:
        await runner.cleanup()
        raise starting.exception()  # type: ignore[misc]
    await stopped
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await starting
    await _shutdown(spec, rt, runner)


def settings_or_exit(service: str) -> Settings:
    """The settings, or exit 2 with one line on stderr: unreadable settings, or a public
    development secret outside development (shared/production.py, issue 11 finding 7)."""
    try:
        settings = load(service)
    except ValueError as exc:  # pydantic's ValidationError is one
        print(f"comptoir {service}: refusing to start: {exc}".replace("\n", " "), file=sys.stderr)
        sys.exit(2)
    refused = production.refusal(service, settings)
    if refused is not None:
        print(refused, file=sys.stderr, flush=True)
        sys.exit(2)
    return settings


def topology_or_exit(spec: ServiceSpec) -> None:
    """Exit 2 when the service's subscriptions are not the bindings of shared/topology.json:
    its queue would miss the events it was given a handler for, or receive events it has none
    for (dead-lettered)."""
    for key, subs in ((spec.name, spec.subscriptions), *_more(spec)):
        bound = broker.QUEUES.get(key)
        theirs = None if subs is None else (subs.queue, subs.routing_keys())
        ours = None if bound is None else (bound.name, tuple(sorted(bound.routing_keys)))
        if theirs != ours:
            print(
                f"comptoir {spec.name}: refusing to start: its subscriptions {theirs} are not "
                f"shared/topology.json's {ours}; run python -m deploy.topology",
                file=sys.stderr,
                flush=True,
            )
            sys.exit(2)


def _more(spec: ServiceSpec) -> list[tuple[str, Subscriptions | None]]:
    """A service's other queues, each under its queue's name in shared/topology.json."""
    return [(more.queue, more) for more in spec.more_subscriptions]


def main(spec: ServiceSpec) -> None:
    settings = settings_or_exit(spec.name)
    topology_or_exit(spec)
    metrics.outbox_backlog.labels(spec.name).set(0)
    uvloop.run(serve(spec, settings))
