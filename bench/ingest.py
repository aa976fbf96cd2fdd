"""Ingest benchmark: sales posted concurrently through the gateway, timed until committed in
cards, clearing and crm; in the same run, the raw limit of this machine for the same path.

    PYTHONPATH=. .venv/bin/python -m bench.ingest [--sales 20000] [--concurrency 256]
        [--duration 60] [--rate 0] [--loaders 1] [--client lean] [--skip-raw]

(or ``make bench``). Other options: ``--rate R`` paces the posts at R/s (open loop) instead of
as fast as the requests in flight allow; ``--monitor`` writes what the database backends wait
for, the outbox and queue depths each second; ``--pyspy PATH`` profiles the services during
the measure (``python -m bench._profile`` breaks a profile down); ``--exp NAME=VALUE`` and
``--service-env K=V`` try a change in the services without editing them (measure before
proposing); ``--help`` lists them all.

What it does (docs/benchmarks.md has the results and their reading):

1. resets its own database ``comptoir_bench`` (drops the services' schemas and the raw one)
   and its own RabbitMQ vhost ``comptoir_bench`` (delete, add, permissions);
2. starts the five services as separate processes on ports 28080-28084, waits for /ready,
   seeds one association, merchants and terminals through the admin APIs;
3. warms up (``--warmup`` sales, not measured), then posts ``--sales`` signed sales from
   ``--loaders`` separate load-generator processes, each with a bounded number of requests in
   flight, until done or ``--duration`` s have passed;
4. waits until every sale is in cards.cagnotte_entries, clearing.journal_entries and
   crm.visits; per sale, latency = last of the three commit times - post time (the commit
   times are the rows' ``clock_timestamp()`` defaults, a few ms before the COMMIT itself);
   sales_per_s = sales committed / (last commit - first post); checks each sale is there
   exactly once, and that balances equal the sum of their entries;
5. stops the services (SIGTERM), then measures the raw limit (bench/raw.py) with the same
   load generator, sales count and concurrency: ratio = sales_per_s / raw_limit_per_s.

RSS is sampled every 0.25 s on every process (peak reported); CPU is split by process group
over the measured window, with the top processes foreign to the bench (a run where they used
more than NOISE_LIMIT % of a core, or where the broker or PostgreSQL restarted, is flagged
"disturbed"). A human summary goes to stderr; the last line of stdout is a JSON object with
the figures; run/bench/<date>/ keeps the logs, the load generators' raw results and
result.json.

Always on database comptoir_bench and vhost comptoir_bench (never the COMPTOIR_* of the
environment: the reset drops schemas); PostgreSQL's ``postgres`` role must connect from
127.0.0.1 without a password (to create the database and read pg_stat_*), and rabbitmqctl
must be on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import psutil

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DB = "comptoir_bench"
VHOST = "comptoir_bench"
PG = "127.0.0.1:5432"
DSN = f"postgresql://comptoir:comptoir@{PG}/{DB}"
SUPER_DSN = f"postgresql://postgres@{PG}/postgres"
AMQP = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"
ADMIN_TOKEN = "bench-admin-token-not-secret"
SERVICES = {
    "terminals": 28080,
    "cards": 28081,
    "clearing": 28082,
    "crm": 28083,
    "notifications": 28084,
}
RAW_PORT = 28080  # reused once the services are stopped
LINE_PORT = 28085  # the gateway's sync line: off the default 8070, which `make run` may hold
SMS_PORT = 28086  # the SMS provider's stand-in (bench/_sendsms.py)


def configure(database: str, vhost: str, port_base: int) -> None:
    """Point the bench at another database, vhost and ports (--database, --vhost, --port-base),
    so that two benches (or a bench and the old code's, side by side) never share anything."""
    global DB, VHOST, DSN, AMQP, RAW_PORT, LINE_PORT, SMS_PORT
    DB, VHOST = database, vhost
    DSN = f"postgresql://comptoir:comptoir@{PG}/{DB}"
    AMQP = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"
    for i, name in enumerate(SERVICES):
        SERVICES[name] = port_base + i
    RAW_PORT = port_base
    LINE_PORT = port_base + len(SERVICES)
    SMS_PORT = port_base + len(SERVICES) + 1


SCHEMAS = ("terminals", "cards", "clearing", "crm", "notifications", "bench_raw")
CLIENT = ["lean"]  # the load generator's HTTP client, set from --client
NOISE_LIMIT = (
    15.0  # % of one core used by processes foreign to the bench: above, the run is flagged
)
TARGET = {"sales_per_s": 2500, "p99_ms": 250, "ratio": 0.5}


def say(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Processes


class Proc:
    """A child process started by the bench, killed by its pid only."""

    def __init__(
        self,
        label: str,
        args: list[str],
        env: dict[str, str],
        log: Path,
        stdin: bool = False,
        stdout_pipe: bool = False,
        remember_it: bool = True,
    ) -> None:
        self.label = label
        self.log = log
        self.logf = open(log, "wb")  # noqa: SIM115
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self.logf,
            stderr=self.logf,
            start_new_session=True,
        )
        self.ps = psutil.Process(self.popen.pid)
        if remember_it:
            remember(self.ps)

    @property
    def pid(self) -> int:
        return self.popen.pid

    async def line(self, timeout: float) -> str:
        assert self.popen.stdout is not None
        raw = await asyncio.wait_for(asyncio.to_thread(self.popen.stdout.readline), timeout)
        return raw.decode().strip()

    def send(self, text: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(text.encode())
        self.popen.stdin.flush()

    async def stop(self, grace: float = 20.0) -> int | None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(self.popen.wait), grace)
            except TimeoutError:
                say(f"  {self.label} did not stop in {grace}s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.popen.pid, signal.SIGKILL)
                await asyncio.to_thread(self.popen.wait)
        self.logf.close()
        forget(self.popen.pid)
        return self.popen.returncode


STARTED = (
    ROOT / "run" / "bench" / "started-pids.json"
)  # what the bench started, to end it after a crash


def remember(p: psutil.Process) -> None:
    """Record a service or raw process (pid + creation time) until it is stopped."""
    known = orjson.loads(STARTED.read_bytes()) if STARTED.exists() else {}
    known[str(p.pid)] = p.create_time()
    STARTED.write_bytes(orjson.dumps(known))


def forget(pid: int) -> None:
    if STARTED.exists():
        known = orjson.loads(STARTED.read_bytes())
        known.pop(str(pid), None)
        STARTED.write_bytes(orjson.dumps(known))


def end_leftovers() -> None:
    """SIGTERM the processes a previous bench started and could not stop (it was killed):
    only those recorded, with the same pid and creation time."""
    if not STARTED.exists():
        return
    for pid, created in orjson.loads(STARTED.read_bytes()).items():
        with contextlib.suppress(psutil.Error):
            p = psutil.Process(int(pid))
            if abs(p.create_time() - created) < 0.01:
                say(f"  ending pid {pid} left by a previous bench: {' '.join(p.cmdline())[:80]}")
                p.terminate()
                try:
                    p.wait(20)
                except psutil.TimeoutExpired:
                    p.kill()
    STARTED.unlink()


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


class Sampler(threading.Thread):
    """Peak RSS of the tracked processes, sampled every 0.25 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.tracked: dict[str, list[psutil.Process]] = {}
        self.peak: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        # every process's CPU, refreshed at each tick while a CPU window is open: catches the
        # short-lived processes (other engineers' CLI calls, tests) a start/end snapshot misses
        self.window_open = False
        self.seen: dict[
            int, tuple[str, float, float]
        ] = {}  # pid -> (label, cpu at first sight, last cpu)

    def track(self, label: str, proc: psutil.Process) -> None:
        with self.lock:
            self.tracked.setdefault(label, []).append(proc)

    def open_window(self) -> None:
        with self.lock:
            self.seen = {}
            self.window_open = True
            self._scan(first=True)

    def close_window(self) -> dict[int, tuple[str, float, float]]:
        with self.lock:
            self._scan(first=False)
            self.window_open = False
            return dict(self.seen)

    def _scan(self, first: bool) -> None:
        for p in psutil.process_iter():
            c = _cpu(p)
            if c is None:
                continue
            known = self.seen.get(p.pid)
            if known is None:
                # seen first now: born in the window (all its CPU counts) unless at the opening
                self.seen[p.pid] = (_label(p), c if first else 0.0, c)
            else:
                self.seen[p.pid] = (known[0], known[1], c)

    def run(self) -> None:
        tick = 0
        while not self.stopped.wait(0.25):
            tick += 1
            if self.window_open and tick % 2 == 0:
                with self.lock:
                    if self.window_open:
                        self._scan(first=False)
            with self.lock:
                items = [(k, list(v)) for k, v in self.tracked.items()]
            for label, procs in items:
                total = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
                if total:
                    self.peak[label] = max(self.peak.get(label, 0.0), total / 2**20)


def _label(p: psutil.Process) -> str:
    try:
        cmd = p.cmdline()
        name = p.name()
    except psutil.Error:
        return "?"
    if "-m" in cmd[:-1]:
        return f"{name} -m {cmd[cmd.index('-m') + 1]} {' '.join(cmd[cmd.index('-m') + 2 :])}"[:80]
    return " ".join(cmd)[:80] or name


def _cpu(p: psutil.Process) -> float | None:
    try:
        t = p.cpu_times()
        return float(t.user + t.system)
    except psutil.Error:
        return None


class CpuWindow:
    """CPU seconds per process group between start() and stop(), as % of one core."""

    def __init__(self, groups: dict[str, list[psutil.Process]], sampler: Sampler) -> None:
        self.groups = groups
        self.sampler = sampler
        self.exclude: set[int] = set()  # pids whose CPU is reported otherwise (the load generators)

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        self.sys0 = psutil.cpu_times()
        self.c0 = {k: {p.pid: _cpu(p) for p in ps} for k, ps in self.groups.items()}
        self.sampler.open_window()

    def stop(
        self,
        late: dict[str, list[psutil.Process]] | None = None,
        reported: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        """late: processes listed again at the end; those born in the window count in full."""
        wall = time.monotonic() - self.t0
        sys1 = psutil.cpu_times()
        out: dict[str, float] = {}
        for k, ps in self.groups.items():
            s = 0.0
            seen = set()
            for p in ps:
                seen.add(p.pid)
                a, b = self.c0[k].get(p.pid), _cpu(p)
                if a is not None and b is not None:
                    s += b - a
            for p in (late or {}).get(k, []):
                if p.pid not in seen and p.pid not in self.c0[k]:
                    with contextlib.suppress(psutil.Error):
                        if p.create_time() >= self.wall0 - 0.5:
                            s += _cpu(p) or 0.0
            out[k] = round(100 * s / wall, 1)
        for k, cpu_s in (reported or {}).items():
            out[k] = round(100 * cpu_s / wall, 1)
        known = sum(v for k, v in out.items() if k != "postgres (bench backends)")
        busy = sum(
            getattr(sys1, f) - getattr(self.sys0, f)
            for f in ("user", "system", "nice", "irq", "softirq", "steal")
        )
        idle = sum(getattr(sys1, f) - getattr(self.sys0, f) for f in ("idle", "iowait"))
        total = 100 * busy / (busy + idle) * (os.cpu_count() or 1) if busy + idle else 0.0
        out["other (machine busy - listed)"] = round(total - known, 1)
        return {
            "top_other_processes": self._others(wall, late),
            "window_s": round(wall, 2),
            "pct_of_one_core": out,
            "machine_busy_pct": round(100 * busy / (busy + idle), 1) if busy + idle else None,
            "machine_iowait_pct": round(100 * (sys1.iowait - self.sys0.iowait) / (busy + idle), 1)
            if busy + idle
            else None,
        }

    def _others(
        self, wall: float, late: dict[str, list[psutil.Process]] | None
    ) -> dict[str, float]:
        """CPU of the processes in no group (other engineers' work, kernel threads...), top 8,
        from the sampler (a process living less than 0.5 s may still be missed)."""
        listed = {p.pid for ps in self.groups.values() for p in ps} | {
            p.pid for ps in (late or {}).values() for p in ps
        }
        listed |= self.exclude
        per: dict[str, float] = {}
        for pid, (label, first, last) in self.sampler.close_window().items():
            if pid not in listed and last - first > 0:
                per[label] = per.get(label, 0.0) + last - first
        top = sorted(per.items(), key=lambda kv: -kv[1])[:8]
        out = {k: round(100 * v / wall, 1) for k, v in top if v / wall > 0.005}
        out["(all unlisted processes)"] = round(100 * sum(per.values()) / wall, 1)
        return out


def infra_processes() -> dict[str, list[psutil.Process]]:
    pg, rabbit = [], []
    for p in psutil.process_iter(["name", "username", "cmdline"]):
        name = p.info["name"] or ""
        if name.startswith("postgres"):
            pg.append(p)
        elif name.startswith("beam") and "rabbitmqctl" not in " ".join(p.info["cmdline"] or []):
            rabbit.append(p)
    return {"postgres (all)": pg, "rabbitmq": rabbit}


async def late_processes() -> dict[str, list[psutil.Process]]:
    return {"postgres (bench backends)": await bench_backends(), **infra_processes()}


async def bench_backends() -> list[psutil.Process]:
    conn = await asyncpg.connect(SUPER_DSN)
    try:
        pids = [
            r[0]
            for r in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                DB,
            )
        ]
    finally:
        await conn.close()
    out = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            out.append(psutil.Process(pid))
    return out


class Profiler:
    """py-spy on each service during the measured window (``--pyspy PATH_TO_PY_SPY``)."""

    def __init__(
        self, py_spy: str, run_dir: Path, targets: dict[str, int], rate: int, extra: list[str]
    ) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.files: dict[str, Path] = {}
        for name, pid in targets.items():
            self.files[name] = run_dir / f"pyspy-{name}.txt"
            self.procs[name] = subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "-p",
                    str(pid),
                    "-r",
                    str(rate),
                    "-f",
                    "raw",
                    "-o",
                    str(self.files[name]),
                    # --native needs to pause the process to unwind its C stack
                    *([] if "--native" in extra else ["--nonblocking"]),
                    *extra,
                ],
                stdout=subprocess.DEVNULL,
                stderr=open(run_dir / f"pyspy-{name}.log", "wb"),  # noqa: SIM115
                start_new_session=True,
            )

    async def stop(self) -> dict[str, Any]:
        for p in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGINT)
        for p in self.procs.values():
            try:
                await asyncio.wait_for(asyncio.to_thread(p.wait), 30)
            except TimeoutError:
                os.kill(p.pid, signal.SIGKILL)
        return {name: summarise_stacks(path) for name, path in self.files.items() if path.exists()}


def summarise_stacks(path: Path, top: int = 12) -> dict[str, Any]:
    """From py-spy's collapsed stacks: the share of samples by leaf function (self) and by
    function anywhere on the stack (inclusive), and by package of the leaf."""
    total = 0
    self_: dict[str, int] = {}
    incl: dict[str, int] = {}
    pkg: dict[str, int] = {}
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        count = int(n)
        total += count
        frames = [
            f
            for f in stack.split(";")
            if not f.startswith("process ") and not f.startswith("thread ")
        ]
        if not frames:
            continue
        leaf = frames[-1]
        self_[leaf] = self_.get(leaf, 0) + count
        for f in set(frames):
            incl[f] = incl.get(f, 0) + count
        where = leaf[leaf.find("(") + 1 :].split(":")[0] if "(" in leaf else leaf
        key = _package(where)
        pkg[key] = pkg.get(key, 0) + count

    def share(d: dict[str, int]) -> dict[str, float]:
        return {
            k: round(100 * v / total, 1) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]
        }

    return {
        "samples": total,
        "self_pct": share(self_),
        "inclusive_pct": share(incl),
        "leaf_package_pct": share(pkg),
    }


def _package(path: str) -> str:
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0]
    if "/work/main/" in path or path.startswith(("services/", "shared/")):
        rel = path.split("/work/main/")[-1]
        return "/".join(rel.split("/")[:2])
    if "/lib/python3" in path:
        return "stdlib:" + path.rsplit("/", 1)[-1]
    return path


async def monitor(
    path: Path, stop: asyncio.Event, pids: dict[str, int], py_spy: str | None
) -> None:
    """Every second until stop: what the bench's PostgreSQL backends wait for, the outbox
    backlogs, the broker's queue depths (every 2 s) and, with py-spy, the services' stacks
    (every 5 s). One JSON object per line in path: for finding out what a stall is."""
    try:
        conn = await asyncpg.connect(f"postgresql://postgres@{PG}/{DB}")
    except Exception as exc:
        say(f"  monitor off: {exc!r}")
        return
    tick = 0
    with open(path, "ab") as f:  # noqa: ASYNC230 - a line a second
        while not stop.is_set():
            sample: dict[str, Any] = {"t": time.time()}
            try:
                sample["backends"] = [
                    dict(r)
                    for r in await conn.fetch(
                        r"""SELECT pid, application_name AS app, state, wait_event_type AS wtype, wait_event AS wait,
                              round(extract(epoch FROM now() - xact_start)::numeric, 2)::float8 AS xact_s,
                              left(regexp_replace(query, '\s+', ' ', 'g'), 70) AS query
                       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()
                         AND (state <> 'idle' OR wait_event_type = 'Lock')""",
                        DB,
                    )
                ]
                sample["outbox"] = {
                    schema: await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox")
                    for schema in ("terminals", "cards")
                }
                sample["locks_waiting"] = await conn.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                )
            except Exception as exc:
                sample["error"] = repr(exc)
            if tick % 2 == 0:
                r = await asyncio.create_subprocess_exec(
                    "rabbitmqctl",
                    "-q",
                    "list_queues",
                    "-p",
                    VHOST,
                    "name",
                    "messages_ready",
                    "messages_unacknowledged",
                    "consumers",
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
                out, _ = await r.communicate()
                sample["queues"] = [
                    line.split("\t") for line in out.decode().splitlines() if "." in line
                ]
            if py_spy and tick % 5 == 0:
                sample["stacks"] = {}
                for name in ("terminals", "cards"):
                    r = await asyncio.create_subprocess_exec(
                        py_spy,
                        "dump",
                        "--nonblocking",
                        "-p",
                        str(pids[name]),
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                    )
                    out, _ = await r.communicate()
                    sample["stacks"][name] = out.decode()[-3000:]
            f.write(orjson.dumps(sample) + b"\n")
            f.flush()
            tick += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    await conn.close()


# ---------------------------------------------------------------------------------------------
# Reset, start, seed


def infra_ids() -> dict[str, int | None]:
    """Pids of the broker and of the PostgreSQL postmaster: a change means a restart."""
    ids: dict[str, int | None] = {"rabbitmq": None, "postgres": None}
    for p in psutil.process_iter(["name", "cmdline", "ppid"]):
        name = p.info["name"] or ""
        cmd = " ".join(p.info["cmdline"] or [])
        if name.startswith("beam") and "rabbit boot" in cmd:
            ids["rabbitmq"] = p.pid
        elif name.startswith("postgres") and p.info["ppid"] == 1:
            ids["postgres"] = p.pid
    return ids


class BrokerWatch:
    """A plain (not robust) AMQP connection held during a measure: the broker app restarting
    (rabbitmqctl stop_app/start_app keeps the same VM pid) closes it."""

    async def __aenter__(self) -> BrokerWatch:
        import aio_pika

        self.connection = await aio_pika.connect(AMQP)
        return self

    @property
    def restarted(self) -> bool:
        return bool(self.connection.is_closed)

    async def __aexit__(self, *_: Any) -> None:
        with contextlib.suppress(Exception):
            await self.connection.close()


def broker_check() -> None:
    """Refuse to run on a broker whose at-least-once dead-lettering supervisor is dead.

    Seen on RabbitMQ 3.10.8 here: after an app restart (the fault tests do stop_app/start_app),
    DLX workers exiting together made rabbit_fifo_dlx_sup reach its restart intensity; it is a
    transient child, so it stays dead, and every new quorum queue with
    x-dead-letter-strategy=at-least-once then crashes on election (INTERNAL_ERROR to the
    declaring client). Repair (operator's decision, not the bench's):
    rabbitmqctl eval 'supervisor:restart_child(rabbit_sup, rabbit_fifo_dlx_sup).'
    """
    r = subprocess.run(
        ["rabbitmqctl", "-q", "eval", "whereis(rabbit_fifo_dlx_sup)."],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    if r.returncode == 0 and r.stdout.strip() == "undefined":
        raise SystemExit(
            "RabbitMQ's rabbit_fifo_dlx_sup is not running: new at-least-once DLX quorum queues "
            "cannot start. See broker_check() in bench/ingest.py for the repair."
        )


def rabbitmqctl(*args: str, check: bool = True) -> None:
    # stdin closed: rabbitmqctl (an escript) would otherwise read the caller's stdin
    r = subprocess.run(
        ["rabbitmqctl", "-q", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    if check and r.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {r.stderr.strip()}")


async def reset() -> None:
    conn = await asyncpg.connect(SUPER_DSN)
    try:
        if not await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", DB):
            await conn.execute(f"CREATE DATABASE {DB} OWNER comptoir")
    finally:
        await conn.close()
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS " + ", ".join(SCHEMAS) + " CASCADE")
    finally:
        await conn.close()
    rabbitmqctl("await_startup")
    broker_check()
    rabbitmqctl("delete_vhost", VHOST, check=False)
    rabbitmqctl("add_vhost", VHOST)
    rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")


def ports_free(ports: list[int]) -> None:
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are fine
            try:
                s.bind(("127.0.0.1", port))
            except OSError as exc:
                raise SystemExit(
                    f"port {port} is in use (a previous bench still running?): {exc}"
                ) from exc


async def wait_ready(
    session: aiohttp.ClientSession, procs: dict[str, Proc], restart: Any, timeout: float = 120
) -> None:
    """Wait for /ready; a service that dies while starting (the shared broker restarting under
    other engineers' fault tests answers INTERNAL_ERROR to declarations) is started again."""
    deadline = time.monotonic() + timeout
    pending = set(procs)
    tries = dict.fromkeys(procs, 0)
    while pending:
        for name in list(pending):
            if procs[name].popen.poll() is not None:
                tries[name] += 1
                if tries[name] > 3:
                    raise SystemExit(
                        f"{name} exited at start {tries[name]} times; see {procs[name].log}"
                    )
                say(
                    f"  {name} exited at start (code {procs[name].popen.returncode}); starting it again"
                )
                procs[name].logf.close()
                forget(procs[name].pid)
                await asyncio.sleep(2)
                procs[name] = restart(name, tries[name])
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with session.get(
                    f"http://127.0.0.1:{SERVICES[name]}/ready",
                    timeout=aiohttp.ClientTimeout(total=2),
                ) as r:
                    if r.status == 200:
                        pending.discard(name)
        if time.monotonic() > deadline:
            raise SystemExit(f"not ready after {timeout}s: {sorted(pending)}")
        await asyncio.sleep(0.2)


async def seed(
    session: aiohttp.ClientSession, merchants: int, terminals: int
) -> tuple[str, list[tuple[str, str]]]:
    h = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}

    async def put(port: int, path: str, body: dict[str, Any]) -> Any:
        async with session.put(
            f"http://127.0.0.1:{port}{path}", data=orjson.dumps(body), headers=h
        ) as r:
            data = orjson.loads(await r.read())
            if r.status not in (200, 201):
                raise SystemExit(f"seed PUT {path}: {r.status} {data}")
            return data

    association = str(uuid.uuid4())
    await put(
        SERVICES["cards"],
        f"/v1/associations/{association}",
        {"name": "Bench", "rate_mode": "network", "taux_client_bps": 500, "taux_uc_bps": 100},
    )
    merchant_ids = [str(uuid.uuid4()) for _ in range(merchants)]
    for i, m in enumerate(merchant_ids):
        await put(
            SERVICES["cards"],
            f"/v1/associations/{association}/merchants/{m}",
            {"name": f"Merchant {i}"},
        )
    out = []
    for i in range(terminals):
        tid = str(uuid.uuid4())
        r = await put(
            SERVICES["terminals"],
            f"/v1/terminals/{tid}",
            {
                "association_id": association,
                "merchant_id": merchant_ids[i % merchants],
                "shop_id": str(uuid.uuid5(uuid.NAMESPACE_URL, merchant_ids[i % merchants])),
                "label": f"Till {i}",
            },
        )
        out.append((tid, r["secret"]))
    return association, out


# ---------------------------------------------------------------------------------------------
# History (--history N): the books of a network that has already run for a while


HISTORY_BATCH = 500_000  # sales per statement group: progress visible, memory bounded

# One batch of past sales, drawn in SQL: each lands on a real account, at a real terminal (and
# its merchant and shop), at an instant inside the batch's slice of the history window, so that
# the books' ids follow the time of the sales as they would have.
_DRAW = """
INSERT INTO h8_history
SELECT g, gen_random_uuid(), a.account_id, t.terminal_id, t.merchant_id, t.shop_id, x.amount,
       round(x.amount * $7::numeric / 10000)::bigint, round(x.amount * $8::numeric / 10000)::bigint,
       $5::timestamptz + (g - 1) * ($6::timestamptz - $5::timestamptz) / $4 + random() * interval '1 ms'
FROM generate_series(1, $4::int) g
CROSS JOIN LATERAL (SELECT 1 + floor(random() * cardinality($1::uuid[]))::int AS ai,
                           1 + floor(random() * cardinality($2::uuid[]))::int AS ti,
                           100 + floor(random() * 19901)::bigint AS amount, g AS k) x
CROSS JOIN LATERAL (SELECT ($1::uuid[])[x.ai] AS account_id) a
CROSS JOIN LATERAL (SELECT ($2::uuid[])[x.ti] AS terminal_id, ($3::uuid[])[x.ti] AS merchant_id,
                           ($9::uuid[])[x.ti] AS shop_id) t
"""

# What the five services would have written for those sales (see the handlers): the gateway's
# request and its outcome, every consumer's inbox row, the cards entry with its running
# balance, the clearing accrual with its three postings (customer liability, merchant, operator
# fees: they net to 0), the crm visit and its counters.
_BOOK = [
    """INSERT INTO terminals.requests (id, kind, terminal_id, body_sha256, status, http_status, outcome,
                                       received_at, decided_at)
       SELECT sale_id, 'sale', terminal_id, sha256(sale_id::text::bytea), 'accepted', 201,
              jsonb_build_object('status', 'accepted', 'sale_id', sale_id, 'account_id', account_id,
                                 'amount_cents', amount, 'reward_cents', reward, 'refusals', '[]'::jsonb,
                                 'program_kind', 'cagnotte', 'account_opened', false),
              occurred_at, occurred_at + interval '50 ms'
       FROM h8_history ORDER BY n""",
    """INSERT INTO terminals.inbox (event_id, type, received_at)
       SELECT gen_random_uuid(), 'comptoir.cagnotte.credited.v1', occurred_at FROM h8_history ORDER BY n""",
    """INSERT INTO cards.inbox (event_id, type, received_at)
       SELECT gen_random_uuid(), 'comptoir.sale.recorded.v1', occurred_at FROM h8_history ORDER BY n""",
    """INSERT INTO clearing.inbox (event_id, type, received_at)
       SELECT gen_random_uuid(), 'comptoir.transactions.booked.v1', occurred_at FROM h8_history ORDER BY n""",
    """INSERT INTO crm.inbox (event_id, type, received_at)
       SELECT gen_random_uuid(), 'comptoir.transactions.booked.v1', occurred_at FROM h8_history ORDER BY n""",
    """INSERT INTO cards.cagnotte_entries (account_id, kind, bucket, reference_id, amount_cents,
                                           balance_after_cents, purchase_cents, taux_client_bps, fee_cents,
                                           merchant_id, shop_id, terminal_id, occurred_at)
       SELECT h.account_id, 'cagnottage', 'available', h.sale_id, h.reward,
              a.balance_cents + sum(h.reward) OVER (PARTITION BY h.account_id ORDER BY h.n),
              h.amount, $1::int, h.fee, h.merchant_id, h.shop_id, h.terminal_id, h.occurred_at
       FROM h8_history h JOIN cards.accounts a ON a.id = h.account_id ORDER BY h.n""",
    """UPDATE cards.accounts a SET balance_cents = a.balance_cents + s.reward
       FROM (SELECT account_id, sum(reward) AS reward FROM h8_history GROUP BY 1) s
       WHERE a.id = s.account_id""",
    """WITH je AS (
         INSERT INTO clearing.journal_entries (kind, reference_id, event_id, association_id, merchant_id,
                                               purchase_cents, occurred_at, period, event_time, account_id,
                                               reward_cents, fee_cents, merchant_cents)
         SELECT 'accrual', sale_id, gen_random_uuid(), $1::uuid, merchant_id, amount, occurred_at,
                date_trunc('month', occurred_at AT TIME ZONE 'Europe/Paris')::date, occurred_at,
                account_id, reward, fee, reward + fee
         FROM h8_history ORDER BY n
         RETURNING id, merchant_id, reward_cents, fee_cents)
       INSERT INTO clearing.postings (entry_id, account_id, amount_cents)
       SELECT je.id, p.account_id, p.amount FROM je
       CROSS JOIN LATERAL (VALUES ($2::bigint, -je.reward_cents),
                                  ((SELECT id FROM clearing.pivot_accounts
                                    WHERE kind = 'merchant' AND merchant_id = je.merchant_id),
                                   je.reward_cents + je.fee_cents),
                                  ($3::bigint, -je.fee_cents)) p(account_id, amount)
       WHERE p.amount <> 0
       ORDER BY je.id""",
    """INSERT INTO crm.visits (sale_id, account_id, merchant_id, shop_id, amount_cents, occurred_at)
       SELECT sale_id, account_id, merchant_id, shop_id, amount, occurred_at FROM h8_history ORDER BY n""",
    """UPDATE crm.customers c SET visit_count = c.visit_count + s.visits,
              total_spent_cents = c.total_spent_cents + s.spent,
              last_visit_at = greatest(c.last_visit_at, s.last)
       FROM (SELECT account_id, count(*) AS visits, sum(amount) AS spent, max(occurred_at) AS last
             FROM h8_history GROUP BY 1) s
       WHERE c.account_id = s.account_id""",
    """INSERT INTO crm.merchant_customers AS m (account_id, merchant_id, visit_count, total_spent_cents,
                                                first_visit_at, last_visit_at)
       SELECT account_id, merchant_id, count(*), sum(amount), min(occurred_at), max(occurred_at)
       FROM h8_history GROUP BY 1, 2
       ON CONFLICT (account_id, merchant_id) DO UPDATE SET
           visit_count = m.visit_count + excluded.visit_count,
           total_spent_cents = m.total_spent_cents + excluded.total_spent_cents,
           first_visit_at = least(m.first_visit_at, excluded.first_visit_at),
           last_visit_at = greatest(m.last_visit_at, excluded.last_visit_at)""",
]
HISTORY_TABLES = (
    "terminals.requests",
    "terminals.inbox",
    "cards.inbox",
    "cards.cagnotte_entries",
    "cards.accounts",
    "clearing.inbox",
    "clearing.journal_entries",
    "clearing.postings",
    "crm.inbox",
    "crm.visits",
    "crm.customers",
    "crm.merchant_customers",
)


async def preload_history(n: int, association: str) -> dict[str, Any]:
    """Write n past sales straight into the services' tables (bulk SQL, not the API), spread
    over the accounts the API has opened, then VACUUM ANALYZE and CHECKPOINT, so that the
    measure starts on books n sales deep, settled as an old instance's would be."""
    started = time.monotonic()
    conn = await asyncpg.connect(f"postgresql://postgres@{PG}/{DB}")
    try:
        # the services' triggers only forbid UPDATE/DELETE and closed periods (none here);
        # replica role skips them and the foreign keys, which every row meets anyway
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("SET work_mem = '256MB'")
        accounts = [
            r[0]
            for r in await conn.fetch(
                "SELECT id FROM cards.accounts WHERE association_id = $1 ORDER BY id",
                uuid.UUID(association),
            )
        ]
        tills = await conn.fetch(
            "SELECT id, merchant_id, shop_id FROM terminals.terminals WHERE association_id = $1",
            uuid.UUID(association),
        )
        rates = await conn.fetchrow(
            "SELECT taux_client_bps, taux_uc_bps FROM cards.associations WHERE id = $1",
            uuid.UUID(association),
        )
        pivot = {
            r["kind"]: r["id"]
            for r in await conn.fetch(
                """SELECT kind, id FROM clearing.pivot_accounts
                   WHERE association_id = $1 AND kind IN ('customer_liability', 'operator_fees')""",
                uuid.UUID(association),
            )
        }
        if not accounts or len(pivot) < 2:
            raise SystemExit("history: no accounts or pivot accounts yet (open them first)")
        # the current month only: an earlier one would be closed by clearing under the measure
        end = await conn.fetchval("SELECT now() - interval '1 minute'")
        start = max(
            end - dt.timedelta(days=20),
            await conn.fetchval(
                """SELECT (date_trunc('month', now() AT TIME ZONE 'Europe/Paris') + interval '1 hour')
                          AT TIME ZONE 'Europe/Paris'"""
            ),
        )
        await conn.execute(
            """CREATE TEMP TABLE h8_history (n bigint, sale_id uuid, account_id uuid, terminal_id uuid,
                   merchant_id uuid, shop_id uuid, amount bigint, reward bigint, fee bigint,
                   occurred_at timestamptz)"""
        )
        done = 0
        while done < n:
            size = min(HISTORY_BATCH, n - done)
            lo = start + (end - start) * done / n
            hi = start + (end - start) * (done + size) / n
            t0 = time.monotonic()
            async with conn.transaction():
                await conn.execute("TRUNCATE h8_history")
                await conn.execute(
                    _DRAW,
                    accounts,
                    [t["id"] for t in tills],
                    [t["merchant_id"] for t in tills],
                    size,
                    lo,
                    hi,
                    rates["taux_client_bps"],
                    rates["taux_uc_bps"],
                    [t["shop_id"] for t in tills],
                )
                for i, q in enumerate(_BOOK):
                    if i == 5:
                        await conn.execute(q, rates["taux_client_bps"])
                    elif i == 7:
                        await conn.execute(
                            q,
                            uuid.UUID(association),
                            pivot["customer_liability"],
                            pivot["operator_fees"],
                        )
                    else:
                        await conn.execute(q)
            done += size
            say(f"  history: {done}/{n} sales written ({size / (time.monotonic() - t0):.0f}/s)")
        t1 = time.monotonic()
        for table in HISTORY_TABLES:
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        await conn.execute("CHECKPOINT")
        sizes = {
            r[0]: r[1]
            for r in await conn.fetch(
                "SELECT c, pg_total_relation_size(c::regclass) / 2^20 FROM unnest($1::text[]) c",
                list(HISTORY_TABLES),
            )
        }
    finally:
        await conn.close()
    return {
        "sales": n,
        "write_s": round(t1 - started, 1),
        "vacuum_checkpoint_s": round(time.monotonic() - t1, 1),
        "accounts": len(accounts),
        "table_mb": {k: round(v) for k, v in sizes.items()},
    }


# ---------------------------------------------------------------------------------------------
# Load


def make_sales(n: int, phones: list[str], terminals: int, rng: random.Random) -> list[list[Any]]:
    return [
        [str(uuid.uuid4()), rng.choice(phones), rng.randint(100, 20_000), rng.randrange(terminals)]
        for _ in range(n)
    ]


async def post_load(
    run_dir: Path,
    tag: str,
    mode: str,
    url: str,
    sales: list[list[Any]],
    terminals: list[tuple[str, str]],
    concurrency: int,
    loaders: int,
    duration: float,
    rate: float,
    sampler: Sampler,
    on_go: Any = None,
) -> dict[str, Any]:
    """Run the load generators; returns their merged results."""
    procs = []
    shares = [sales[i::loaders] for i in range(loaders)]
    for i, share in enumerate(shares):
        spec = run_dir / f"{tag}-loader{i}.spec.json"
        spec.write_bytes(
            orjson.dumps(
                {
                    "mode": mode,
                    "url": url,
                    "concurrency": max(1, concurrency // loaders),
                    "duration_s": duration,
                    "rate": rate / loaders,
                    "sales": share,
                    "terminals": terminals,
                    "client": CLIENT[0],
                }
            )
        )
        p = Proc(
            f"loadgen{i}",
            [PY, "-m", "bench.loadgen", str(spec), str(run_dir / f"{tag}-loader{i}.out.json")],
            child_env({}),
            run_dir / f"{tag}-loader{i}.log",
            stdin=True,
            stdout_pipe=True,
            remember_it=False,
        )
        sampler.track("loadgen", p.ps)
        procs.append(p)
    for p in procs:
        line = await p.line(120)
        if line != "READY":
            raise SystemExit(f"load generator not ready ({line!r}); see {p.log}")
    if on_go is not None:
        on_go([p.ps for p in procs])
    for p in procs:
        p.send("GO\n")
    for p in procs:
        await asyncio.to_thread(p.popen.wait)
        p.logf.close()
        if p.popen.returncode != 0:
            raise SystemExit(f"load generator failed; see {p.log}")
    merged: dict[str, Any] = {"results": [], "errors": {}, "not_sent": 0, "cpu_s": 0.0}
    for i in range(loaders):
        out = orjson.loads((run_dir / f"{tag}-loader{i}.out.json").read_bytes())
        merged["results"] += out["results"]
        merged["not_sent"] += out.get("not_sent", 0)
        merged["cpu_s"] += out.get("cpu_s", 0.0)
        for k, v in out["errors"].items():
            merged["errors"][k] = merged["errors"].get(k, 0) + v
    return merged


# ---------------------------------------------------------------------------------------------
# Completion and figures

# Cheap completion counts (polled): rows added since a watermark taken before the load.
# (watermark query, count of the rows added since, given the watermark)
NEW_ROWS = {
    "cards": (
        "SELECT coalesce(max(id), 0) FROM cards.cagnotte_entries",
        "SELECT count(*) FROM cards.cagnotte_entries WHERE id > $1 AND kind = 'cagnottage'",
    ),
    "clearing": (
        "SELECT coalesce(max(id), 0) FROM clearing.journal_entries",
        "SELECT count(*) FROM clearing.journal_entries WHERE id > $1 AND kind = 'accrual'",
    ),
    # the customers' visit counters, not count(*) of visits: that would scan the whole history
    # four times a second during the measure (--history)
    "crm": (
        "SELECT coalesce(sum(visit_count), 0) FROM crm.customers",
        "SELECT coalesce(sum(visit_count), 0) - $1 FROM crm.customers",
    ),
}
TIMES = {
    "cards": """SELECT reference_id::text, extract(epoch FROM created_at)::float8 FROM cards.cagnotte_entries
                WHERE kind = 'cagnottage' AND reference_id = ANY($1::uuid[])""",
    "clearing": """SELECT reference_id::text, extract(epoch FROM booked_at)::float8 FROM clearing.journal_entries
                   WHERE kind = 'accrual' AND reference_id = ANY($1::uuid[])""",
    "crm": """SELECT sale_id::text, extract(epoch FROM recorded_at)::float8 FROM crm.visits
              WHERE sale_id = ANY($1::uuid[])""",
}


async def watermarks(
    conn: asyncpg.Connection, queries: dict[str, tuple[str, str]]
) -> dict[str, int]:
    return {k: await conn.fetchval(q[0]) for k, q in queries.items()}


async def wait_counts(
    conn: asyncpg.Connection,
    queries: dict[str, tuple[str, str]],
    marks: dict[str, int],
    expected: int,
    stall_s: float = 20,
    cap_s: float = 180,
) -> dict[str, int]:
    """Poll (every 0.25 s, cheap counts) until each table has `expected` new rows, or nothing
    moved for stall_s. The exact per-sale check is made once, afterwards."""
    last: dict[str, int] = {}
    moved = time.monotonic()
    started = time.monotonic()
    while True:
        counts = {k: await conn.fetchval(q[1], marks[k]) for k, q in queries.items()}
        if all(v >= expected for v in counts.values()):
            return counts
        if counts != last:
            last, moved = counts, time.monotonic()
        elif time.monotonic() - moved > stall_s or time.monotonic() - started > cap_s:
            say(f"  stalled: {counts} of {expected}")
            return counts
        await asyncio.sleep(0.25)


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))  # nearest rank
    return round(s[k], 1)


def dist(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": pct(values, 50),
        "p90": pct(values, 90),
        "p99": pct(values, 99),
        "max": round(max(values), 1) if values else None,
    }


async def pg_stats(conn: asyncpg.Connection) -> dict[str, int]:
    r = await conn.fetchrow(
        """SELECT xact_commit, xact_rollback, deadlocks, tup_inserted, tup_updated, tup_deleted, blks_read,
                  (SELECT wal_records FROM pg_stat_wal), (SELECT wal_bytes FROM pg_stat_wal)::bigint AS wal_bytes,
                  (SELECT wal_sync FROM pg_stat_wal), (SELECT wal_write FROM pg_stat_wal)
           FROM pg_stat_database WHERE datname = $1""",
        DB,
    )
    return dict(r)


async def table_stats(conn: asyncpg.Connection) -> dict[str, tuple[int, int, int, int]]:
    rows = await conn.fetch(
        """SELECT schemaname || '.' || relname AS t, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd
           FROM pg_stat_user_tables WHERE schemaname = ANY($1::text[])""",
        list(SCHEMAS),
    )
    return {
        r["t"]: (r["n_tup_ins"], r["n_tup_upd"], r["n_tup_del"], r["n_tup_hot_upd"]) for r in rows
    }


def rows_per_sale(
    a: Mapping[str, tuple[int, ...]], b: Mapping[str, tuple[int, ...]], sales: int
) -> dict[str, Any]:
    """Rows inserted/updated/deleted per sale, by table (the write amplification of a sale)."""
    out: dict[str, Any] = {}
    total = 0
    for t, after in sorted(b.items()):
        before = a.get(t, (0, 0, 0, 0))
        ins, upd, dele = (after[i] - before[i] for i in range(3))
        if ins or upd or dele:
            out[t] = {
                k: round(v / sales, 2) for k, v in (("ins", ins), ("upd", upd), ("del", dele)) if v
            }
            total += ins + upd + dele
    out["total row writes per sale"] = round(total / max(1, sales), 1)
    return out


def tcp_counters() -> dict[str, int]:
    """Kernel TCP counters (whole machine): listen queue overflows and retransmission timeouts."""
    lines = [
        line.split()
        for line in Path("/proc/net/netstat").read_text().splitlines()
        if line.startswith("TcpExt:")
    ]
    values = dict(zip(lines[0][1:], lines[1][1:], strict=True))
    return {k: int(values[k]) for k in ("ListenOverflows", "TCPTimeouts", "TCPSynRetrans")}


def diff(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: int(b[k] - a[k]) for k in a}


async def scrape(session: aiohttp.ClientSession) -> dict[str, Any]:
    """A few counters from each service's /metrics: events per broker message, retries, errors."""
    out: dict[str, Any] = {}
    for name, port in SERVICES.items():
        try:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as r:
                text = (await r.read()).decode()
        except aiohttp.ClientError:
            continue
        handled = messages = seconds = 0.0
        errors: dict[str, float] = {}
        published = 0.0
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            key, _, value = line.rpartition(" ")
            v = float(value)
            if key.startswith("comptoir_events_handled_total"):
                handled += v
            elif key.startswith("comptoir_message_handler_duration_seconds_count"):
                messages += v
            elif key.startswith("comptoir_message_handler_duration_seconds_sum"):
                seconds += v
            elif key.startswith("comptoir_message_handler_errors_total") and v:
                errors[key[key.index("kind=") :].split('"')[1]] = v
            elif key.startswith("comptoir_outbox_published_total"):
                published += v
            elif (
                key.startswith(
                    ("comptoir_dead_lettered_total", "comptoir_outbox_publish_failures_total")
                )
                and v
            ):
                errors[key.split("{")[0]] = errors.get(key.split("{")[0], 0) + v
        out[name] = {
            "events_handled": int(handled),
            "messages": int(messages),
            "events_per_message": round(handled / messages, 1) if messages else None,
            "mean_message_ms": round(1000 * seconds / messages, 1) if messages else None,
            "outbox_published": int(published),
            "errors": errors,
        }
    return out


# ---------------------------------------------------------------------------------------------
# The two measurements


async def bench_comptoir(
    args: argparse.Namespace, run_dir: Path, sampler: Sampler
) -> dict[str, Any]:
    ports_free(list(SERVICES.values()))
    say(f"reset: database {DB}, vhost {VHOST}")
    await reset()
    procs: dict[str, Proc] = {}
    provider: Proc | None = None
    if args.sms_provider:
        ports_free([SMS_PORT])
        provider = Proc(
            "sms provider",
            [PY, "-m", "bench._sendsms", str(SMS_PORT)],
            child_env({}),
            run_dir / "sms-provider.log",
        )

    def start(name: str, attempt: int = 0) -> Proc:
        env = child_env(
            {
                "COMPTOIR_DATABASE_URL": DSN,
                "COMPTOIR_AMQP_URL": AMQP,
                "COMPTOIR_PORT": str(SERVICES[name]),
                "COMPTOIR_SYNC_LINE_PORT": str(LINE_PORT),
                "COMPTOIR_CARDS_URL": f"http://127.0.0.1:{SERVICES['cards']}",
                "COMPTOIR_TERMINALS_URL": f"http://127.0.0.1:{SERVICES['terminals']}",
                "COMPTOIR_ADMIN_TOKEN": ADMIN_TOKEN,
                # the bench's services use the development card keys (nothing real is at stake)
                "COMPTOIR_ENV": "development",
                "COMPTOIR_LOG_LEVEL": "WARNING",
                **(
                    {"COMPTOIR_SMS_SENDSMS_URL": f"http://127.0.0.1:{SMS_PORT}/cgi-bin/sendsms"}
                    if provider
                    else {}
                ),
            }
        )
        for kv in args.service_env:
            k, _, v = kv.partition("=")
            env[k] = v
        for kv in args.exp:
            k, _, v = kv.partition("=")
            env[f"BENCH_EXP_{k.upper()}"] = v
        if args.exp:
            env["PYTHONPATH"] = f"{ROOT / 'bench' / 'experiments'}:{env['PYTHONPATH']}"
        p = Proc(
            name,
            [PY, "-m", f"services.{name}"],
            env,
            run_dir / f"{name}{f'.{attempt}' if attempt else ''}.log",
        )
        sampler.track(name, p.ps)
        return p

    for name in SERVICES:
        procs[name] = start(name)
    result: dict[str, Any] = {}
    history: dict[str, Any] | None = None
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, procs, start)
            association, terminals = await seed(session, args.merchants, args.terminals)
            say(
                f"services ready, seeded 1 association, {args.merchants} merchants, {args.terminals} terminals"
            )
            rng = random.Random(args.seed)
            phones = [f"+336{n:08d}" for n in rng.sample(range(10**8), args.customers)]
            conn = await asyncpg.connect(DSN)
            try:
                if args.history:
                    # every customer's first sale through the API opens their account in all
                    # the services; the history is then spread over those accounts
                    say(f"history: opening {len(phones)} accounts through the gateway")
                    first = [
                        [str(uuid.uuid4()), ph, rng.randint(100, 20_000), i % len(terminals)]
                        for i, ph in enumerate(phones)
                    ]
                    marks = await watermarks(conn, NEW_ROWS)
                    await post_load(
                        run_dir,
                        "accounts",
                        "gateway",
                        f"http://127.0.0.1:{SERVICES['terminals']}",
                        first,
                        terminals,
                        args.concurrency,
                        args.loaders,
                        args.duration,
                        0,
                        sampler,
                    )
                    await wait_counts(conn, NEW_ROWS, marks, len(first))
                    say(f"history: writing {args.history} past sales (bulk SQL)")
                    history = await preload_history(args.history, association)
                    say(f"history: {history}")
                if args.warmup:
                    warm = make_sales(args.warmup, phones, len(terminals), rng)
                    say(f"warm-up: {args.warmup} sales")
                    marks = await watermarks(conn, NEW_ROWS)
                    await post_load(
                        run_dir,
                        "warmup",
                        "gateway",
                        f"http://127.0.0.1:{SERVICES['terminals']}",
                        warm,
                        terminals,
                        args.concurrency,
                        args.loaders,
                        args.duration,
                        0,
                        sampler,
                    )
                    await wait_counts(conn, NEW_ROWS, marks, len(warm))
                sales = make_sales(args.sales, phones, len(terminals), rng)
                groups = {name: [p.ps] for name, p in procs.items()}
                if provider:
                    groups["sms provider (stand-in)"] = [provider.ps]
                groups["postgres (bench backends)"] = await bench_backends()
                groups.update(infra_processes())
                groups["bench (this process)"] = [psutil.Process()]
                cpu = CpuWindow(groups, sampler)
                marks = await watermarks(conn, NEW_ROWS)
                pg0 = await pg_stats(conn)
                tcp0 = tcp_counters()
                tables0 = await table_stats(conn)
                infra0 = infra_ids()
                watch = await BrokerWatch().__aenter__()

                profiler: list[Profiler] = []
                monitor_stop = asyncio.Event()
                monitor_task: list[asyncio.Task[None]] = []

                def go(loader_ps: list[psutil.Process]) -> None:
                    cpu.exclude = {p.pid for p in loader_ps}
                    cpu.start()
                    if args.monitor:
                        monitor_task.append(
                            asyncio.get_running_loop().create_task(
                                monitor(
                                    run_dir / "monitor.jsonl",
                                    monitor_stop,
                                    {n: p.pid for n, p in procs.items()},
                                    args.pyspy,
                                )
                            )
                        )
                    if args.pyspy and not args.monitor:
                        profiler.append(
                            Profiler(
                                args.pyspy,
                                run_dir,
                                {n: p.pid for n, p in procs.items() if n in args.pyspy_services},
                                args.pyspy_rate,
                                args.pyspy_args.split(),
                            )
                        )

                say(
                    f"load: {args.sales} sales, {args.concurrency} in flight, {args.loaders} load generator(s)"
                    + (f", paced at {args.rate}/s" if args.rate else "")
                )
                load = await post_load(
                    run_dir,
                    "sales",
                    "gateway",
                    f"http://127.0.0.1:{SERVICES['terminals']}",
                    sales,
                    terminals,
                    args.concurrency,
                    args.loaders,
                    args.duration,
                    args.rate,
                    sampler,
                    on_go=go,
                )
                sent = {r[0]: r for r in load["results"]}
                sent_ids = list(sent)
                say(f"  posted {len(sent_ids)}; waiting for the commits in cards, clearing and crm")
                counts = await wait_counts(conn, NEW_ROWS, marks, len(sent_ids))
                monitor_stop.set()
                for task in monitor_task:
                    await task
                cpu_split = cpu.stop(await late_processes(), {"loadgen": load["cpu_s"]})
                profile = await profiler[0].stop() if profiler else None
                pg1 = await pg_stats(conn)
                tcp1 = tcp_counters()
                # backends flush their table statistics at most once a second (idle ones later):
                # rows_per_sale is approximate on short runs
                await asyncio.sleep(1.1)
                tables1 = await table_stats(conn)
                intake = await conn.fetchrow(
                    """SELECT count(*) AS sales, count(DISTINCT seen_at) AS transactions FROM terminals.nonces
                       WHERE seen_at >= to_timestamp($1)""",
                    min(r[1] for r in load["results"]),
                )
                times: dict[str, dict[str, float]] = {}
                dup: dict[str, int] = {}
                for k, q in TIMES.items():
                    rows = await conn.fetch(q, sent_ids)
                    times[k] = {}
                    seen: dict[str, int] = {}
                    for sid, at in rows:
                        times[k][sid] = at
                        seen[sid] = seen.get(sid, 0) + 1
                    dup[k] = sum(1 for v in seen.values() if v > 1)
                requests = {
                    r[0]: r[1]
                    for r in await conn.fetch(
                        "SELECT status, count(*) FROM terminals.requests WHERE id = ANY($1::uuid[]) GROUP BY 1",
                        sent_ids,
                    )
                }
                # one pass over the entries (a sum per account would be 5000 index walks)
                mismatched = await conn.fetchval(
                    """SELECT count(*) FROM cards.accounts a
                       LEFT JOIN (SELECT account_id, sum(amount_cents) AS s FROM cards.cagnotte_entries
                                  GROUP BY 1) e ON e.account_id = a.id
                       WHERE a.balance_cents <> coalesce(e.s, 0)"""
                )
                metrics = await scrape(session)
                broker_restarted = watch.restarted
                await watch.__aexit__()
            finally:
                await conn.close()
        complete = [s for s in sent_ids if all(s in times[k] for k in TIMES)]
        t0 = min(r[1] for r in load["results"])
        span = (
            int(
                max(
                    [r[2] for r in load["results"]] + [max(v.values()) for v in times.values() if v]
                )
                - t0
            )
            + 1
        )
        timeline = {name: [0] * span for name in ("posted", "answered", *TIMES)}
        for r in load["results"]:
            timeline["posted"][int(r[1] - t0)] += 1
            timeline["answered"][int(r[2] - t0)] += 1
        for k, v in times.items():
            for at in v.values():
                timeline[k][min(span - 1, max(0, int(at - t0)))] += 1
        lat = [1000 * (max(times[k][s] for k in TIMES) - sent[s][1]) for s in complete]
        stage = {k: dist([1000 * (times[k][s] - sent[s][1]) for s in complete]) for k in TIMES}
        http = dist([1000 * (r[2] - r[1]) for r in load["results"]])
        statuses: dict[str, int] = {}
        for r in load["results"]:
            statuses[str(r[3])] = statuses.get(str(r[3]), 0) + 1
        first_post = min(r[1] for r in load["results"])
        last_commit = (
            max(max(times[k][s] for k in TIMES) for s in complete) if complete else first_post
        )
        last_answer = max(r[2] for r in load["results"])
        d = dist(lat)
        result = {
            "history": history,
            "sales_posted": len(sent_ids),
            "sales_not_sent": load["not_sent"],
            "sales_committed": len(complete),
            "sales_per_s": round(len(complete) / (last_commit - first_post), 1)
            if complete
            else 0.0,
            "http_answers_per_s": round(len(sent_ids) / (last_answer - first_post), 1),
            "p50_ms": d["p50"],
            "p90_ms": d["p90"],
            "p99_ms": d["p99"],
            "max_ms": d["max"],
            "stage_ms": stage,
            "http_ms": http,
            "http_status": statuses,
            "client_errors": load["errors"],
            "exactly_once": {
                "rows": counts,
                "missing": {k: len(sent_ids) - len(times[k]) for k in TIMES},
                "duplicates": dup,
                "requests_by_status": requests,
                "balance_mismatches": mismatched,
            },
            "cpu": cpu_split,
            "pg": diff(pg0, pg1),
            "services": metrics,
            "timeline_per_s": timeline,
            "tcp": diff(tcp0, tcp1),
            # nonces.seen_at defaults to now(), the transaction's start: one value per group commit
            "gateway_sales_per_intake_commit": round(
                intake["sales"] / max(1, intake["transactions"]), 1
            ),
            "rows_per_sale": rows_per_sale(tables0, tables1, len(complete)),
            "infra_restarted": [k for k, v in infra_ids().items() if v != infra0[k]]
            + (["rabbitmq app"] if broker_restarted else []),
        }
        if profile:
            result["profile"] = profile
        result["pg"]["commits_per_sale"] = round(
            result["pg"]["xact_commit"] / max(1, len(complete)), 2
        )
        result["pg"]["wal_syncs_per_sale"] = round(
            result["pg"]["wal_sync"] / max(1, len(complete)), 3
        )
    finally:
        say("stopping the services (SIGTERM)")
        codes = {}
        for name, p in procs.items():
            codes[name] = await p.stop()
        if provider:
            await provider.stop()
        result["exit_codes"] = codes
    return result


async def bench_raw(args: argparse.Namespace, run_dir: Path, sampler: Sampler) -> dict[str, Any]:
    from bench import raw

    ports_free([RAW_PORT])
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {raw.SCHEMA} CASCADE")
        await conn.execute(raw.DDL)
        env = child_env(
            {
                "BENCH_RAW_DSN": DSN,
                "BENCH_RAW_AMQP": AMQP,
                "BENCH_RAW_PORT": str(RAW_PORT),
                "BENCH_RAW_POOL": str(args.raw_pool),
                "BENCH_RAW_PREFETCH": str(args.raw_prefetch),
            }
        )
        procs = {
            role: Proc(
                f"raw_{role}",
                [PY, "-m", "bench.raw", role],
                env,
                run_dir / f"raw_{role}.log",
                stdout_pipe=True,
            )
            for role in ("server", "consumer")
        }
        try:
            for p in procs.values():
                sampler.track(p.label, p.ps)
                if await p.line(60) != "READY":
                    raise SystemExit(f"{p.label} did not start; see {p.log}")
            rng = random.Random(args.seed + 1)
            phones = [f"+336{n:08d}" for n in rng.sample(range(10**8), args.customers)]
            query = {
                "raw": (
                    f"SELECT count(*) FROM {raw.SCHEMA}.consumed",
                    f"SELECT count(*) - $1 FROM {raw.SCHEMA}.consumed",
                )
            }
            url = f"http://127.0.0.1:{RAW_PORT}"
            if args.warmup:
                warm = make_sales(args.warmup, phones, 1, rng)
                marks = await watermarks(conn, query)
                await post_load(
                    run_dir,
                    "raw-warmup",
                    "raw",
                    url,
                    warm,
                    [],
                    args.concurrency,
                    args.loaders,
                    args.duration,
                    0,
                    sampler,
                )
                await wait_counts(conn, query, marks, len(warm))
            sales = make_sales(args.sales, phones, 1, rng)
            groups = {p.label: [p.ps] for p in procs.values()}
            groups["bench (this process)"] = [psutil.Process()]
            groups["postgres (bench backends)"] = await bench_backends()
            groups.update(infra_processes())
            cpu = CpuWindow(groups, sampler)
            marks = await watermarks(conn, query)
            pg0 = await pg_stats(conn)
            tcp0 = tcp_counters()
            infra0 = infra_ids()
            watch = await BrokerWatch().__aenter__()

            def go(loader_ps: list[psutil.Process]) -> None:
                cpu.exclude = {p.pid for p in loader_ps}
                cpu.start()

            say(
                f"raw limit: {args.sales} sales, {args.concurrency} in flight (pool {args.raw_pool}, prefetch {args.raw_prefetch})"
            )
            load = await post_load(
                run_dir,
                "raw",
                "raw",
                url,
                sales,
                [],
                args.concurrency,
                args.loaders,
                args.duration,
                args.rate,
                sampler,
                on_go=go,
            )
            sent = {r[0]: r for r in load["results"]}
            ids = list(sent)
            await wait_counts(conn, query, marks, len(ids))
            cpu_split = cpu.stop(await late_processes(), {"loadgen": load["cpu_s"]})
            pg1 = await pg_stats(conn)
            rows = await conn.fetch(
                f"SELECT sale_id::text, extract(epoch FROM committed_at)::float8 FROM {raw.SCHEMA}.consumed WHERE sale_id = ANY($1::uuid[])",
                ids,
            )
            broker_restarted = watch.restarted
            await watch.__aexit__()
            tcp1 = tcp_counters()
        finally:
            for p in procs.values():
                await p.stop()
    finally:
        await conn.close()
    at = {r[0]: r[1] for r in rows}
    lat = [1000 * (at[s] - sent[s][1]) for s in at]
    first_post = min(r[1] for r in load["results"])
    d = dist(lat)
    statuses: dict[str, int] = {}
    for r in load["results"]:
        statuses[str(r[3])] = statuses.get(str(r[3]), 0) + 1
    pg: dict[str, Any] = diff(pg0, pg1)
    pg["commits_per_sale"] = round(pg["xact_commit"] / max(1, len(at)), 2)
    pg["wal_syncs_per_sale"] = round(pg["wal_sync"] / max(1, len(at)), 3)
    return {
        "raw_limit_per_s": round(len(at) / (max(at.values()) - first_post), 1) if at else 0.0,
        "sales_committed": len(at),
        "missing": len(ids) - len(at),
        "p50_ms": d["p50"],
        "p99_ms": d["p99"],
        "max_ms": d["max"],
        "http_ms": dist([1000 * (r[2] - r[1]) for r in load["results"]]),
        "http_status": statuses,
        "cpu": cpu_split,
        "pg": pg,
        "tcp": diff(tcp0, tcp1),
        "infra_restarted": [k for k, v in infra_ids().items() if v != infra0[k]]
        + (["rabbitmq app"] if broker_restarted else []),
    }


def code_version() -> dict[str, Any]:
    """The commit measured, and whether the services' code had uncommitted changes."""

    def git(*a: str) -> str:
        r = subprocess.run(
            ["git", *a], cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        return r.stdout.rstrip("\n")  # porcelain lines start with a space that matters

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes_in": sorted(
            {
                line[3:].split("/")[0]
                for line in git("status", "--porcelain", "services", "shared").splitlines()
            }
        ),
    }


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": model,
        "python": platform.python_version(),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    CLIENT[0] = args.client
    configure(args.database, args.vhost, args.port_base)
    run_dir = ROOT / "run" / "bench" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    end_leftovers()
    say(f"logs in {run_dir}")
    out: dict[str, Any] = {
        "bench": "ingest",
        "machine": machine(),
        "sales": args.sales,
        "concurrency": args.concurrency,
        "service_env": args.service_env,
        "experiments": args.exp,
        "code": code_version(),
        "loaders": args.loaders,
        "rate": args.rate,
        "client": args.client,
        "customers": args.customers,
    }
    sampler = Sampler()
    sampler.start()
    started = time.monotonic()
    raw_result: dict[str, Any] | None
    if args.skip_comptoir:  # tuning the raw pipeline alone
        await reset()
        raw_result = await bench_raw(args, run_dir, sampler)
        say(
            f"raw limit: {raw_result['raw_limit_per_s']} sales/s; p50 {raw_result['p50_ms']} ms, p99 {raw_result['p99_ms']} ms; "
            f"CPU {raw_result['cpu']['pct_of_one_core']}, busy {raw_result['cpu']['machine_busy_pct']}%"
        )
        return {"raw": raw_result, "raw_limit_per_s": raw_result["raw_limit_per_s"]}
    comptoir = await bench_comptoir(args, run_dir, sampler)
    raw_result = None if args.skip_raw else await bench_raw(args, run_dir, sampler)
    sampler.stopped.set()
    services_peak = {k: round(v, 1) for k, v in sampler.peak.items() if k in SERVICES}
    out.update({k: comptoir[k] for k in ("sales_per_s", "p50_ms", "p99_ms")})
    out["raw_limit_per_s"] = raw_result["raw_limit_per_s"] if raw_result else None
    out["ratio"] = (
        round(out["sales_per_s"] / out["raw_limit_per_s"], 3) if out["raw_limit_per_s"] else None
    )
    out["rss_mb"] = services_peak
    out["rss_mb_other"] = {k: round(v, 1) for k, v in sampler.peak.items() if k not in SERVICES}
    out["targets"] = {
        "sales_per_s>=2500": out["sales_per_s"] >= TARGET["sales_per_s"],
        "p99_ms<250": (out["p99_ms"] or 1e9) < TARGET["p99_ms"],
        "ratio>=0.5": None if out["ratio"] is None else out["ratio"] >= TARGET["ratio"],
    }
    restarted = comptoir["infra_restarted"] + (raw_result["infra_restarted"] if raw_result else [])
    noise = {"comptoir": comptoir["cpu"]["top_other_processes"]["(all unlisted processes)"]}
    if raw_result:
        noise["raw"] = raw_result["cpu"]["top_other_processes"]["(all unlisted processes)"]
    out["others_cpu_pct_of_one_core"] = noise
    problems = []
    if restarted:
        problems.append(f"restarted during a measure: {sorted(set(restarted))}")
    noisy = [k for k, v in noise.items() if v > NOISE_LIMIT]
    if noisy:
        problems.append(
            f"other processes used more than {NOISE_LIMIT}% of a core during {noisy} ({noise})"
        )
    out["disturbed"] = "; ".join(problems) or None
    out["comptoir"] = comptoir
    out["raw"] = raw_result
    out["bench_seconds"] = round(time.monotonic() - started, 1)
    (run_dir / "result.json").write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))
    summary(out)
    return out


def summary(o: dict[str, Any]) -> None:
    c = o["comptoir"]
    say("")
    say(
        f"== ingest bench, {o['sales']} sales, {o['concurrency']} in flight, {o['machine']['nproc']} cores "
        f"(load before {o['machine']['loadavg_before']})"
    )
    say(
        f"comptoir : {o['sales_per_s']} sales/s committed everywhere; post->last commit p50 {o['p50_ms']} ms, "
        f"p90 {c['p90_ms']} ms, p99 {o['p99_ms']} ms, max {c['max_ms']} ms"
    )
    say(
        "           per stage p50/p99 ms: "
        + ", ".join(f"{k} {v['p50']}/{v['p99']}" for k, v in c["stage_ms"].items())
        + f"; HTTP answer {c['http_ms']['p50']}/{c['http_ms']['p99']}; statuses {c['http_status']}"
    )
    e = c["exactly_once"]
    say(
        f"           committed {c['sales_committed']}/{c['sales_posted']}; missing {e['missing']}; duplicates {e['duplicates']}; "
        f"balance mismatches {e['balance_mismatches']}; requests {e['requests_by_status']}"
    )
    say(
        f"           postgres: {c['pg']['commits_per_sale']} commits/sale, {c['pg']['wal_syncs_per_sale']} WAL syncs/sale, "
        f"{c['pg']['deadlocks']} deadlocks, {c['pg']['xact_rollback']} rollbacks"
    )
    tl = c["timeline_per_s"]
    say(
        "           per second (posted / answered / cards / clearing / crm): "
        + " ".join(
            f"{tl['posted'][i]}/{tl['answered'][i]}/{tl['cards'][i]}/{tl['clearing'][i]}/{tl['crm'][i]}"
            for i in range(len(tl["posted"]))
        )
    )
    say(f"           kernel TCP during the measure: {c['tcp']}")
    say(
        f"           gateway: {c['gateway_sales_per_intake_commit']} sales per intake commit; "
        f"{c['rows_per_sale']['total row writes per sale']} row writes per sale"
    )
    say(
        "           events per broker message: "
        + ", ".join(
            f"{k} {v['events_per_message']} ({v['mean_message_ms']} ms/msg)"
            for k, v in c["services"].items()
            if v["messages"]
        )
        + (
            "; errors " + str({k: v["errors"] for k, v in c["services"].items() if v["errors"]})
            if any(v["errors"] for v in c["services"].values())
            else ""
        )
    )
    say(
        f"           CPU (% of one core) over {c['cpu']['window_s']} s, machine busy {c['cpu']['machine_busy_pct']}%: "
        + ", ".join(
            f"{k} {v}"
            for k, v in sorted(c["cpu"]["pct_of_one_core"].items(), key=lambda kv: -kv[1])
        )
    )
    say(f"           top other processes: {c['cpu']['top_other_processes']}")
    for name, prof in (c.get("profile") or {}).items():
        say(
            f"  py-spy {name} ({prof['samples']} samples): leaf package % {prof['leaf_package_pct']}"
        )
        say(f"      self % {prof['self_pct']}")
    if o["raw"]:
        r = o["raw"]
        say(
            f"raw limit: {r['raw_limit_per_s']} sales/s; post->consumer commit p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; "
            f"statuses {r['http_status']}; missing {r['missing']}; {r['pg']['wal_syncs_per_sale']} WAL syncs/sale"
        )
        say(
            f"           CPU (% of one core) over {r['cpu']['window_s']} s, machine busy {r['cpu']['machine_busy_pct']}%: "
            + ", ".join(
                f"{k} {v}"
                for k, v in sorted(r["cpu"]["pct_of_one_core"].items(), key=lambda kv: -kv[1])
            )
        )
        say(f"           top other processes: {r['cpu']['top_other_processes']}")
    say(f"ratio {o['ratio']}; peak RSS MB {o['rss_mb']}")
    say(f"targets: {o['targets']}")
    if o["disturbed"]:
        say(f"WARNING: disturbed run: {o['disturbed']}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sales", type=int, default=20_000, help="sales measured (each phase)")
    p.add_argument(
        "--concurrency",
        type=int,
        default=512,
        help="requests in flight, all load generators together",
    )
    p.add_argument(
        "--duration", type=float, default=60, help="cap in seconds on the posting of each phase"
    )
    p.add_argument(
        "--rate",
        type=float,
        default=0,
        help="pace the posts at this many per second (0: closed loop)",
    )
    p.add_argument("--loaders", type=int, default=1, help="load generator processes")
    p.add_argument(
        "--warmup", type=int, default=1000, help="sales posted before each measure, not measured"
    )
    p.add_argument("--customers", type=int, default=5000, help="distinct phone numbers")
    p.add_argument("--merchants", type=int, default=4)
    p.add_argument("--terminals", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--client",
        choices=("lean", "aiohttp"),
        default="lean",
        help="load generator HTTP client (lean: raw keep-alive HTTP/1.1, a third of aiohttp's CPU)",
    )
    p.add_argument("--skip-raw", action="store_true", help="do not measure the raw limit")
    p.add_argument(
        "--no-sms-provider",
        dest="sms_provider",
        action="store_false",
        help="start no stand-in for Kannel (bench/_sendsms.py): the details links crm asks "
        "for when a sale opens an account then fail and are retried",
    )
    p.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="N",
        help="preload N past sales (bulk SQL into the services' tables) before the measure",
    )
    p.add_argument("--database", default=DB, help="the bench's own database (reset by the run)")
    p.add_argument("--vhost", default=VHOST, help="the bench's own RabbitMQ vhost (reset too)")
    p.add_argument(
        "--port-base",
        type=int,
        default=RAW_PORT,
        help="first of the 6 ports used (5 services, then the gateway's sync line)",
    )
    p.add_argument("--skip-comptoir", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--raw-pool",
        type=int,
        default=20,
        help="asyncpg pool size of the raw processes (best of 5, 10, 20)",
    )
    p.add_argument(
        "--raw-prefetch",
        type=int,
        default=256,
        help="prefetch of the raw consumer (best of 8, 64, 256)",
    )
    p.add_argument(
        "--monitor",
        action="store_true",
        help="write run/bench/<run>/monitor.jsonl: backends' waits, outbox and queue depths each second",
    )
    p.add_argument(
        "--pyspy", metavar="PATH", help="py-spy binary: profile each service during the measure"
    )
    p.add_argument("--pyspy-rate", type=int, default=50, help="py-spy samples per second")
    p.add_argument(
        "--pyspy-args", default="--gil", help="extra py-spy record flags (e.g. '--gil --native')"
    )
    p.add_argument(
        "--pyspy-services",
        type=lambda v: v.split(","),
        default=list(SERVICES),
        help="comma-separated services to profile",
    )
    p.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="COMPTOIR_X=V",
        help="extra env for the services (to try a setting); repeatable",
    )
    p.add_argument(
        "--exp",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="turn on an experiment of bench/experiments/sitecustomize.py in the services "
        "(gc_threshold=a,b,c; gc_freeze_s=S; pool_reset=off); repeatable",
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    result = asyncio.run(main(parse_args()))
    print(orjson.dumps({k: v for k, v in result.items()}).decode())
