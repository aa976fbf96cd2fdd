"""bench/sync of any checkout, on a database, vhost and ports of its own, with the CPU each
process spends per storm line (docs/benchmarks.md, issues 12 and 13, 2026-12-07).

    PYTHONPATH=CHECKOUT python THIS_TREE/bench/_sync_cpu.py DB PORT_BASE LABEL \\
        --terminals 8 --per-terminal 2000 --cards 4000 --single 2000 --raw-rows 0

DB must exist, as a database and a vhost (`bash bench/env.sh DB`); the run resets its schemas.
The checkout's own bench/sync runs: older ones have no --database flag, so this points their
module globals (DB, DSN, AMQP, ports) at DB and PORT_BASE. It skips (c), the raw limit.

The window is the storm: from the counts taken before it to every line committed. Over it, user
+ system time from /proc/PID/stat of each service, and of the database's backends. The bench's
own polling backend is left out of "postgres" and given apart ("bench_poll_pg_ms_per_line"): the
old poll cost the database 0.05-0.13 ms a line, more for the slower code. After the run, the
updates and HOT updates of the busiest tables.

Options, by environment:
- SYNC_CPU_PROFILE=DIR: each service under cProfile for the window (this tree's
  bench/experiments/sitecustomize.py, BENCH_EXP_PROFILE), one DIR/<service>-<pid>.pstats each;
- SYNC_CPU_PGSAMPLE=FILE: pg_stat_activity sampled over the window (bench/_pgsample.py);
- SYNC_CPU_EXP=NAME=VALUE[,NAME=VALUE]: the experiments of this tree's
  bench/experiments/sitecustomize.py (BENCH_EXP_NAME=VALUE), as bench/ingest's ``--exp``.

Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

HERE = Path(__file__).resolve().parent
db, base, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.argv = ["bench.sync", *sys.argv[4:]]

import bench.ingest as ing  # noqa: E402  (the checkout's, from PYTHONPATH)
import bench.sync as bs  # noqa: E402

ing.DB = ing.VHOST = db
ing.DSN = f"postgresql://comptoir:comptoir@127.0.0.1:5432/{db}"
ing.AMQP = f"amqp://guest:guest@127.0.0.1:5672/{db}"
for i, name in enumerate(ing.SERVICES):
    ing.SERVICES[name] = base + i
bs.DSN, bs.AMQP, bs.LINE_PORT = ing.DSN, ing.AMQP, base + 10
PROFILE = os.environ.get("SYNC_CPU_PROFILE")
PGSAMPLE = os.environ.get("SYNC_CPU_PGSAMPLE")
EXP = dict(kv.partition("=")[::2] for kv in os.environ.get("SYNC_CPU_EXP", "").split(",") if kv)
TICK = os.sysconf("SC_CLK_TCK")
procs: dict[str, Any] = {}
marks: dict[str, Any] = {}

if PROFILE or EXP:
    _child_env = ing.child_env

    def child_env(extra: dict[str, str]) -> dict[str, str]:
        env = _child_env(extra)
        env["PYTHONPATH"] = f"{HERE / 'experiments'}:{env['PYTHONPATH']}"
        if PROFILE:
            env["BENCH_EXP_PROFILE"] = PROFILE
        env.update({f"BENCH_EXP_{k.upper()}": v for k, v in EXP.items()})
        return env

    ing.child_env = child_env
    bs.child_env = child_env


def cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def services_cpu() -> dict[str, float | None]:
    return {name: cpu(p.pid) for name, p in procs.items()}


def signal_services(sig: int) -> None:
    if PROFILE:
        for p in procs.values():
            os.kill(p.pid, sig)


def start_sampler() -> None:
    if PGSAMPLE:
        marks["sampler"] = subprocess.Popen(
            [sys.executable, str(HERE / "_pgsample.py"), db, PGSAMPLE]
        )


def stop_sampler() -> None:
    if "sampler" in marks:
        marks["sampler"].terminate()
        marks["sampler"].wait()


async def backends() -> list[int]:
    conn = await asyncpg.connect(ing.SUPER_DSN)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", db)
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


_start_services = bs.start_services


async def start_services(run_dir: Path) -> dict[str, Any]:
    started = await _start_services(run_dir)
    procs.update(started)
    return started


_counts = bs.counts


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    """The first counts after (a) are the storm's start."""
    out = await _counts(conn)
    if marks.get("armed") and "t0" not in marks:
        marks["bench_pid"] = conn.get_server_pid()
        marks["pg0"] = {pid: cpu(pid) for pid in await backends()}
        marks["s0"] = services_cpu()
        marks["t0"] = time.time()
        signal_services(signal.SIGUSR1)
        start_sampler()
    return out


_wait_committed = bs.wait_committed


async def wait_committed(conn: asyncpg.Connection, total: int, timeout: float) -> float:
    """The first wait is (a)'s; the second one's end is the storm's."""
    out = await _wait_committed(conn, total, timeout)
    if not marks.get("armed"):
        marks["armed"] = True
    elif "t0" in marks and "t1" not in marks:
        marks["s1"] = services_cpu()
        marks["t1"] = time.time()
        signal_services(signal.SIGUSR2)
        stop_sampler()
        pids = set(await backends()) | set(marks["pg0"])
        marks["pg1"] = {pid: cpu(pid) for pid in pids}
    return out


async def raw_limit(rows: int) -> float:
    return 1.0  # (c) skipped


async def busiest_tables() -> list[dict[str, Any]]:
    await asyncio.sleep(1)  # the services' backends have gone and reported their counts
    conn = await asyncpg.connect(ing.SUPER_DSN.rsplit("/", 1)[0] + f"/{db}")
    try:
        rows = await conn.fetch(
            """SELECT schemaname || '.' || relname AS t, n_tup_upd, n_tup_hot_upd
               FROM pg_stat_user_tables WHERE n_tup_upd > 1000 ORDER BY 1"""
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


def main() -> None:
    bs.start_services = start_services
    bs.counts = counts
    bs.wait_committed = wait_committed
    bs.raw_limit = raw_limit
    load = os.getloadavg()[0]
    result = asyncio.run(bs.main(bs.parse_args(sys.argv[1:])))
    tables = asyncio.run(busiest_tables())
    lines = result["storm_lines"]
    per = {n: round(1000 * (marks["s1"][n] - marks["s0"][n]) / lines, 4) for n in procs}
    bench_pid = marks["bench_pid"]

    def spent(pid: int) -> float:
        return (marks["pg1"].get(pid) or 0.0) - (marks["pg0"].get(pid) or 0.0)

    per["postgres"] = round(1000 * sum(spent(p) for p in marks["pg1"] if p != bench_pid) / lines, 4)
    total = sum(v for k, v in per.items() if k != "notifications")
    out = {
        "label": label,
        "date": time.strftime("%H:%M:%S", time.gmtime()),
        "load": round(load, 1),
        "storm": result["storm_sales_per_s"],
        "http_ms": result["sync_2000_ms"],
        "line_ms": result["sync_2000_line_ms"],
        "exact": result["booked_exactly"],
        "anomalies": result["anomalies"],
        "ms_per_line": per,
        "total_ex_notif": round(total, 3),
        "bench_poll_pg_ms_per_line": round(1000 * spent(bench_pid) / lines, 4),
        "tables": tables,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
