"""Messages benchmark: a marketing campaign of 100,000 e-mails, from the requests on the broker
to the last one accepted by the local SMTP sink.

    PYTHONPATH=. .venv/bin/python -m bench.messages [--messages 100000] [--port-base 29080]
        [--pool 32] [--batch 500] [--settle S] [--code DIR]

(or ``make bench BENCHES=messages``). What it does (docs/benchmarks.md has the results):

1. drops the notifications schema of the bench database and its queue in the bench vhost
   (``COMPTOIR_DATABASE_URL``/``COMPTOIR_AMQP_URL``, comptoir_bench by default), starts the
   SMTP sink of ``make run`` (``python -m deploy.messaging smtp-sink``, a process of its own
   writing each message to a file) and the notifications service alone;
2. publishes ``--messages`` MessageRequested (template ``newsletter`` in French, marketing,
   with consent and one-click unsubscribe URL, one campaign) to the exchange, 500 per AMQP
   message as the outbox relay does;
3. ``messages_per_s``: messages divided by the time from the first publish until the sink
   has accepted (written) the last one; ``stored_s``: until the service had stored them all;
4. ``peak_rss_mb``: the service's peak RSS (VmHWM) before it is stopped; the sink's apart.

``--daily`` runs the other half of the benchmark instead: crm's daily triggers over a million
customers (bench/_daily.py says how).

A human summary goes to stderr; the last line of stdout is a JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import orjson
import psutil

from bench import _daily
from shared.broker import QUEUES
from shared.contracts import MessageRequested, MessageStatusChanged
from shared.events import new_event, pack

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DSN = os.environ.get(
    "COMPTOIR_DATABASE_URL", "postgresql://comptoir:comptoir@127.0.0.1:5432/comptoir_bench"
)
AMQP = os.environ.get("COMPTOIR_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/comptoir_bench")
ADMIN_TOKEN = "bench-admin-token-not-secret"
TARGET_PER_S = 1000.0


def say(msg: str) -> None:
    print(f"[bench.messages] {msg}", file=sys.stderr, flush=True)


async def reset() -> None:
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS notifications CASCADE")
    finally:
        await conn.close()
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        spec = QUEUES["notifications"]
        for name in (spec.name, f"{spec.name}.dead"):
            await channel.queue_delete(name)


def requests(n: int) -> list[MessageRequested]:
    association, campaign = uuid.uuid4(), uuid.uuid4()
    return [
        MessageRequested(
            message_id=uuid.uuid4(),
            channel="email",
            category="marketing",
            to=f"client{i:06d}@example.org",
            language="fr",
            template="newsletter",
            variables={
                "first_name": f"Client {i}",
                "shop_name": "Les Halles",
                "body": "Cette semaine : marché de Noël, nocturnes jusqu'à 21 h.",
            },
            association_id=association,
            account_id=uuid.uuid4(),
            campaign_id=campaign,
            consent_id=uuid.uuid4(),
            unsubscribe_url=f"https://crm.example.org/v1/unsubscribe/{uuid.uuid4()}",
        )
        for i in range(n)
    ]


async def stand_in_for_crm(bind: bool) -> None:
    """crm's queue takes MessageStatusChanged in a deployment; without one the relay's
    publishes come back unroutable and are retried. A queue of the bench's own stands in."""
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        if not bind:
            await channel.queue_delete("bench.message_statuses")
            return
        queue = await channel.declare_queue("bench.message_statuses", durable=True)
        exchange = await channel.get_exchange("comptoir.events")
        await queue.bind(exchange, MessageStatusChanged.routing_key())


async def publish(reqs: list[MessageRequested], batch: int) -> None:
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("comptoir.events")
        for i in range(0, len(reqs), batch):
            events = [new_event("crm", r).to_json() for r in reqs[i : i + batch]]
            await exchange.publish(
                aio_pika.Message(pack(events), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=MessageRequested.routing_key(),
                mandatory=True,
            )


async def count_stored() -> int:
    conn = await asyncpg.connect(DSN)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM notifications.messages"))
    finally:
        await conn.close()


def spawn(module: list[str], env: dict[str, str], log: Path, code: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [PY, "-m", *module], cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out = ROOT / "run" / "bench" / f"messages-{time.strftime('%Y%m%d-%H%M%S')}"
    mail = out / "mail"
    out.mkdir(parents=True)
    await reset()
    await stand_in_for_crm(True)
    smtp_port, port = args.port_base + 25, args.port_base + 4
    for taken in (smtp_port, port):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", taken)) == 0:
                raise SystemExit(f"port {taken} is in use: choose another --port-base")
    code = Path(args.code)  # resolved by main
    env = {**os.environ, "PYTHONPATH": str(code)}
    sink = spawn(
        ["deploy.messaging", "smtp-sink", "--dir", str(mail), "--port", str(smtp_port)],
        env,
        out / "sink.log",
        code,
    )
    service_env = {
        **env,
        "COMPTOIR_ENV": "development",
        "COMPTOIR_PORT": str(port),
        "COMPTOIR_DATABASE_URL": DSN,
        "COMPTOIR_AMQP_URL": AMQP,
        "COMPTOIR_ADMIN_TOKEN": ADMIN_TOKEN,
        "COMPTOIR_SMTP_PORT": str(smtp_port),
        "COMPTOIR_SMTP_POOL_SIZE": str(args.pool),
        "COMPTOIR_SMTP_RATE_PER_S": "100000",
        "COMPTOIR_SEND_BATCH": str(args.batch),
        **({"COMPTOIR_SEND_SETTLE_S": str(args.settle)} if args.settle else {}),
        "COMPTOIR_PREFETCH": "16",
        "COMPTOIR_LOG_LEVEL": "WARNING",
    }
    profile = ["cProfile", "-o", str(out / "notifications.prof"), "-m"] if args.profile else []
    service = spawn(
        [*profile, "services.notifications"], service_env, out / "notifications.log", code
    )
    try:
        await _daily.wait_ready(f"http://127.0.0.1:{port}", service, 60, "notifications")
        reqs = requests(args.messages)
        load_start = _daily.loadavg()
        say(f"publishing {args.messages} requests")
        t0 = time.monotonic()
        await publish(reqs, 500)
        published_s = time.monotonic() - t0
        stored_s = None
        while True:
            # the sink numbers its files in the order it accepts: the last one there, all are
            # (cheaper than listing a directory of 100,000 files five times a second)
            done = (mail / f"{args.messages:08d}.eml").exists()
            if stored_s is None and await count_stored() >= args.messages:
                stored_s = time.monotonic() - t0
            if done:
                break
            if time.monotonic() - t0 > args.timeout:
                accepted = len(os.listdir(mail)) if mail.exists() else 0
                raise TimeoutError(f"{accepted} accepted after {args.timeout} s")
            await asyncio.sleep(0.2)
        total_s = time.monotonic() - t0
        peak = _daily.vmhwm_mb(service.pid)
        sink_peak = _daily.vmhwm_mb(sink.pid)
        cpu = {
            name: round(sum(psutil.Process(proc.pid).cpu_times()[:2]), 1)
            for name, proc in (("service", service), ("sink", sink))
        }
    finally:
        for proc in (service, sink):
            proc.send_signal(signal.SIGTERM)
        for proc in (service, sink):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    await stand_in_for_crm(False)
    sample = sorted(mail.iterdir())[0].read_bytes()
    if not args.keep:
        shutil.rmtree(mail)
    result = {
        "bench": "messages",
        "messages": args.messages,
        "published_s": round(published_s, 2),
        "stored_s": round(stored_s or 0.0, 2),
        "total_s": round(total_s, 2),
        "messages_per_s": round(args.messages / total_s, 1),
        "target_messages_per_s": TARGET_PER_S,
        "peak_rss_mb": round(peak, 1),
        "sink_peak_rss_mb": round(sink_peak, 1),
        "service_cpu_s": cpu["service"],
        "sink_cpu_s": cpu["sink"],
        "smtp_pool": args.pool,
        "send_batch": args.batch,
        "send_settle_s": args.settle,
        "sample_bytes": len(sample),
        "code": str(code),
        "load_start": load_start,
        "load_end": _daily.loadavg(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
    }
    (out / "result.json").write_bytes(orjson.dumps(result))
    return result


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.messages", description=__doc__)
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--port-base", type=int, default=29080)
    p.add_argument(
        "--pool",
        type=int,
        default=32,
        help="SMTP connections to the local sink (default: %(default)s; the service's is 4)",
    )
    p.add_argument("--batch", type=int, default=500, help="messages claimed per pass")
    p.add_argument("--settle", type=float, help="COMPTOIR_SEND_SETTLE_S (default: the service's)")
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--keep", action="store_true", help="keep the e-mails the sink wrote")
    p.add_argument(
        "--profile", action="store_true", help="run the service under cProfile (run/bench/...)"
    )
    p.add_argument(
        "--daily", action="store_true", help="crm's daily triggers over a million customers"
    )
    _daily.add_arguments(p)
    args = p.parse_args()
    args.code = str(Path(args.code).resolve())
    if args.daily:
        print(orjson.dumps(_daily.main(args)).decode())
        return
    result = asyncio.run(run(args))
    say(
        f"{result['messages']} e-mails accepted by the sink in {result['total_s']} s: "
        f"{result['messages_per_s']}/s (target {TARGET_PER_S}/s); service peak RSS "
        f"{result['peak_rss_mb']} MB"
    )
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
