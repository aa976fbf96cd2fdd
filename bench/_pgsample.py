"""What a database's backends are doing, sampled: a stand-in for pg_stat_statements where it is
not loaded (docs/benchmarks.md, 2026-12-07).

    python bench/_pgsample.py DB OUT.json [interval_s]

Every ``interval_s`` (0.01) it reads pg_stat_activity of DB: the query of each active backend and
its wait event ("CPU" when it waits for nothing). On SIGTERM or SIGINT it writes OUT.json:
{"<query> || <wait>": samples, ..., "__polls__": polls}. Connects as ``postgres``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sys

import asyncpg

SPACES = re.compile(r"\s+")


async def sample(db: str, interval: float) -> dict[str, int]:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}")
    active = await conn.prepare(
        """SELECT query, coalesce(wait_event_type || ':' || wait_event, 'CPU')
           FROM pg_stat_activity
           WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()"""
    )
    counts: dict[str, int] = {}
    polls = 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        polls += 1
        for query, wait in await active.fetch(db):
            key = SPACES.sub(" ", query).strip()[:150] + " || " + wait
            counts[key] = counts.get(key, 0) + 1
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    await conn.close()
    counts["__polls__"] = polls
    return counts


def main() -> None:
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.01
    counts = asyncio.run(sample(sys.argv[1], interval))
    with open(sys.argv[2], "w") as f:
        json.dump(counts, f, indent=0)


if __name__ == "__main__":
    main()
