"""The raw limit of the machine for the path of a sale, done the naive way.

Two processes, on the same stack as the services (uvloop, aiohttp, asyncpg, aio-pika):

- ``python -m bench.raw server``: an aiohttp handler that, per request, does one committed
  INSERT (autocommit, no batching), then publishes one persistent message to a durable quorum
  queue with a publisher confirm, then answers 201;
- ``python -m bench.raw consumer``: consumes that queue and, per message, does one committed
  INSERT, then acks.

No signature, no validation, no outbox, no inbox: only the I/O every sale must pay for
(a durable commit on the way in, a confirmed persistent publish, a durable commit on the way
out). Configured by env: BENCH_RAW_DSN, BENCH_RAW_AMQP, BENCH_RAW_PORT, BENCH_RAW_POOL,
BENCH_RAW_PREFETCH. Each prints READY when set up and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from uuid import UUID

import aio_pika
import asyncpg
import orjson
import uvloop
from aiohttp import web

SCHEMA = "bench_raw"
QUEUE = "bench_raw.sales"

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.received (
    sale_id     uuid PRIMARY KEY,
    body        json NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.consumed (
    sale_id      uuid PRIMARY KEY,
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""


async def _declare(channel: aio_pika.abc.AbstractChannel) -> aio_pika.abc.AbstractQueue:
    return await channel.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})


async def server() -> None:
    pool = await asyncpg.create_pool(
        os.environ["BENCH_RAW_DSN"],
        min_size=2,
        max_size=int(os.environ.get("BENCH_RAW_POOL", "10")),
    )
    connection = await aio_pika.connect_robust(os.environ["BENCH_RAW_AMQP"])
    channel = await connection.channel(publisher_confirms=True)
    await _declare(channel)
    exchange = channel.default_exchange

    async def post_sale(request: web.Request) -> web.Response:
        body = await request.read()
        sale_id = UUID(orjson.loads(body)["sale_id"])
        await pool.execute(
            f"INSERT INTO {SCHEMA}.received (sale_id, body) VALUES ($1, $2)", sale_id, body.decode()
        )
        await exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=QUEUE,
        )
        return web.Response(
            body=b'{"status":"accepted"}', status=201, content_type="application/json"
        )

    async def health(_: web.Request) -> web.Response:
        return web.Response(body=b'{"status":"ok"}', content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/sales", post_sale)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(
        runner, "127.0.0.1", int(os.environ["BENCH_RAW_PORT"]), reuse_address=True
    ).start()
    print("READY", flush=True)
    await _until_signal()
    await runner.cleanup()
    await connection.close()
    await pool.close()


async def consumer() -> None:
    pool = await asyncpg.create_pool(
        os.environ["BENCH_RAW_DSN"],
        min_size=2,
        max_size=int(os.environ.get("BENCH_RAW_POOL", "10")),
    )
    connection = await aio_pika.connect_robust(os.environ["BENCH_RAW_AMQP"])
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=int(os.environ.get("BENCH_RAW_PREFETCH", "64")))
    queue = await _declare(channel)

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        sale_id = UUID(orjson.loads(message.body)["sale_id"])
        await pool.execute(
            f"INSERT INTO {SCHEMA}.consumed (sale_id) VALUES ($1) ON CONFLICT DO NOTHING", sale_id
        )
        await message.ack()

    tag = await queue.consume(on_message)
    print("READY", flush=True)
    await _until_signal()
    await queue.cancel(tag)
    await connection.close()
    await pool.close()


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


if __name__ == "__main__":
    uvloop.run({"server": server, "consumer": consumer}[sys.argv[1]]())
