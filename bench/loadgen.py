"""Load generator process of the ingest benchmark.

Run by bench/ingest.py as ``python -m bench.loadgen SPEC.json OUT.json``. It prepares every
request body (and, for the gateway, its HMAC signature) before the start, prints ``READY``,
waits for ``GO`` on stdin, then posts with a bounded number of requests in flight until its
share of the sales is sent or the time cap is reached. For each sale it records the wall
clock time of the post (``time.time()``, comparable with PostgreSQL's ``clock_timestamp()`` on
the same machine), the time of the answer and the HTTP status, and writes them to OUT.json.

Spec keys: mode ("gateway" or "raw"), url, concurrency, duration_s, rate (sales/s, 0 = as
fast as the concurrency allows), client ("lean" or "aiohttp"), sales: [[sale_id, phone,
amount_cents, terminal_index]], terminals: [[terminal_id, secret]] (gateway mode).

Two clients: "aiohttp" (a ClientSession), and "lean" (the default): one keep-alive HTTP/1.1
connection per request in flight, the request bytes built in advance, the answer read as status
line + headers + Content-Length body. Both send one request at a time on a connection, as a
till does; the lean one costs the shared CPUs about a third of what aiohttp costs.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
import uvloop

from shared import signing

PATH = "/v1/sales"


def raw_request(host: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {PATH} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class LeanConnection(asyncio.Protocol):
    """One keep-alive connection: write a request, wait for its whole answer, return the status."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        i = head.find(b"content-length:")
        length = 0
        if i >= 0:
            j = head.find(b"\r\n", i)
            length = int(head[i + 15 : j if j >= 0 else len(head)])
        if len(self.buf) < end + 4 + length:
            return
        del self.buf[: end + 4 + length]
        self.waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError("closed by the server"))

    async def send(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


def prepare(spec: dict[str, Any]) -> list[tuple[str, bytes, dict[str, str]]]:
    """(sale_id, body, headers) for every sale, signed in advance so posting costs little."""
    out = []
    terminals = spec.get("terminals") or []
    for sale_id, phone, cents, t in spec["sales"]:
        payload: dict[str, Any] = {
            "sale_id": sale_id,
            "customer": {"phone": phone},
            "amount_cents": cents,
        }
        body = orjson.dumps(payload)
        headers = {"Content-Type": "application/json"}
        if spec["mode"] == "gateway":
            terminal_id, secret = terminals[t]
            headers.update(signing.headers(terminal_id, secret, "POST", PATH, body))
        if spec.get("client", "lean") == "lean":
            body = raw_request(urlsplit(spec["url"]).netloc, body, headers)
        out.append((sale_id, body, headers))
    return out


class Schedule:
    """Hands out request indexes to the workers: all of them once, or until the deadline,
    paced at ``rate`` per second when it is set (open loop)."""

    def __init__(self, count: int, rate: float, duration_s: float) -> None:
        self.count, self.rate = count, rate
        self.t0 = time.monotonic()
        self.deadline = self.t0 + duration_s
        self.next = 0

    async def take(self) -> int | None:
        i = self.next
        if i >= self.count or time.monotonic() > self.deadline:
            return None
        self.next += 1
        if self.rate > 0:
            delay = self.t0 + i / self.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return i


async def run_lean(
    spec: dict[str, Any], requests: list[tuple[str, bytes, dict[str, str]]]
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    u = urlsplit(spec["url"])
    concurrency = int(spec["concurrency"])
    rate = float(spec.get("rate") or 0)
    results: list[tuple[str, float, float, int]] = []
    errors: dict[str, int] = {}

    async def connect() -> LeanConnection:
        _, proto = await loop.create_connection(LeanConnection, u.hostname, u.port)
        return proto

    # Open the connections 32 at a time and complete a GET /health on each: a connection the
    # client sees as open may still sit in an overflowing accept queue on the server side
    # (the services listen with backlog=4096; other servers may not), and its first request would wait for TCP
    # retransmissions (seconds). After this, every connection has been accepted.
    health = f"GET /health HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n".encode()
    gate = asyncio.Semaphore(32)

    async def open_checked() -> LeanConnection:
        async with gate:
            conn = await connect()
            await asyncio.wait_for(conn.send(health), 30)
            return conn

    conns = await asyncio.gather(*(open_checked() for _ in range(concurrency)))
    print("READY", flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line.strip() != "GO":
        return {"results": [], "errors": {"aborted": 1}}
    started = time.time()
    cpu0 = time.process_time()
    schedule = Schedule(len(requests), rate, float(spec["duration_s"]))

    async def worker(conn: LeanConnection) -> None:
        while (i := await schedule.take()) is not None:
            sale_id, data, _ = requests[i]
            posted = time.time()
            try:
                if conn.transport is None:
                    conn = await connect()
                status = await conn.send(data)
            except Exception as exc:  # counted, and the connection is opened again
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                status = 0
                if conn.transport is not None:
                    conn.transport.close()
                    conn.transport = None
            results.append((sale_id, posted, time.time(), status))

    tasks = [asyncio.create_task(worker(c)) for c in conns]
    _, pending = await asyncio.wait(tasks, timeout=float(spec["duration_s"]) + 120)
    for t in pending:  # answers that never came: count them, do not hang
        t.cancel()
    if pending:
        errors["no answer within the time cap"] = len(pending)
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    return {
        "started": started,
        "results": results,
        "errors": errors,
        "not_sent": len(requests) - len(results),
        "cpu_s": time.process_time() - cpu0,
        "wall_s": time.time() - started,
    }


async def run(
    spec: dict[str, Any], requests: list[tuple[str, bytes, dict[str, str]]]
) -> dict[str, Any]:
    url = spec["url"].rstrip("/") + PATH
    concurrency = int(spec["concurrency"])
    rate = float(spec.get("rate") or 0)
    results: list[tuple[str, float, float, int]] = []
    errors: dict[str, int] = {}
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=concurrency, ttl_dns_cache=None
    )
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # Open the connections before the clock starts.
        await asyncio.gather(*(_touch(session, spec["url"]) for _ in range(concurrency)))
        print("READY", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if line.strip() != "GO":
            return {"results": [], "errors": {"aborted": 1}}
        started = time.time()
        cpu0 = time.process_time()
        schedule = Schedule(len(requests), rate, float(spec["duration_s"]))

        async def worker() -> None:
            while (i := await schedule.take()) is not None:
                sale_id, body, headers = requests[i]
                posted = time.time()
                try:
                    async with session.post(url, data=body, headers=headers) as r:
                        await r.read()
                        status = r.status
                except Exception as exc:  # a failed post is counted, not fatal
                    key = type(exc).__name__
                    errors[key] = errors.get(key, 0) + 1
                    status = 0
                results.append((sale_id, posted, time.time(), status))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "started": started,
        "results": results,
        "errors": errors,
        "not_sent": len(requests) - len(results),
        "cpu_s": time.process_time() - cpu0,
        "wall_s": time.time() - started,
    }


async def _touch(session: aiohttp.ClientSession, base: str) -> None:
    try:
        async with session.get(base.rstrip("/") + "/health") as r:
            await r.read()
    except Exception:
        pass


def main() -> None:
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path, "rb") as f:
        spec = orjson.loads(f.read())
    requests = prepare(spec)
    out = uvloop.run((run_lean if spec.get("client", "lean") == "lean" else run)(spec, requests))
    with open(out_path, "wb") as f:
        f.write(orjson.dumps(out))
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
