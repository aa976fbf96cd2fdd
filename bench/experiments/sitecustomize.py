"""Experiments on the services without editing them, for the ingest bench only.

``python -m bench.ingest --exp NAME=VALUE`` puts this directory first on the services'
PYTHONPATH, so Python imports this file at start-up; each BENCH_EXP_* variable turns on one
candidate change so that its effect can be measured before anyone proposes it for real:

- BENCH_EXP_GC_THRESHOLD=a,b,c: gc.set_threshold(a, b, c) (Python's default is 700,10,10);
- BENCH_EXP_GC_FREEZE_S=s: gc.freeze() s seconds after start (objects of the start-up:
  modules, pydantic schemas... are then never traversed again by the collector);
- BENCH_EXP_POOL_RESET=off: asyncpg pools get a no-op ``reset`` (asyncpg then skips the
  "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL" round trip it makes at
  every release of a connection to the pool);
- BENCH_EXP_COUNT_SQL=dir: every statement each service sends counted by its text (calls and
  seconds), written to dir/<service>-<pid>.json every 2 s: the queries per sale of a service,
  old code against new (copy this file into the old code's tree);
- BENCH_EXP_PROFILE=dir: the service under cProfile from SIGUSR1 to SIGUSR2, written then to
  dir/<service>-<pid>.pstats (bench/_sync_cpu.py: the storm's window; calls per line);
- BENCH_EXP_NO_STATISTICS=1: crm records no statistics' fact and counts no enrolment (issue
  14's A/B: the sale path with and without its aggregates; the answers are then wrong);
- BENCH_EXP_NO_MEMBER_DAYS=1: crm's roll-up adds the facts to the days but not to the member
  days (what dropping statistics_customer_days would save; the answers are then wrong).
"""

from __future__ import annotations

import gc
import os
import threading

_threshold = os.environ.get("BENCH_EXP_GC_THRESHOLD")
if _threshold:
    gc.set_threshold(*(int(x) for x in _threshold.split(",")))

_freeze = os.environ.get("BENCH_EXP_GC_FREEZE_S")
if _freeze:

    def _do_freeze() -> None:
        gc.collect()
        gc.freeze()

    _t = threading.Timer(float(_freeze), _do_freeze)
    _t.daemon = True
    _t.start()

if os.environ.get("BENCH_EXP_POOL_RESET") == "off":
    import asyncpg

    _create_pool = asyncpg.create_pool

    async def _no_reset(_: object) -> None:
        return None

    def create_pool(*args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("reset", _no_reset)
        return _create_pool(*args, **kwargs)

    asyncpg.create_pool = create_pool

_count_sql = os.environ.get("BENCH_EXP_COUNT_SQL")
if _count_sql:
    # every statement a service sends, counted by its text (calls, seconds), written to
    # <dir>/<service>-<pid>.json every 2 s: the queries per sale of each service
    import asyncio
    import atexit
    import json
    import re
    import sys
    import time

    import asyncpg.connection

    _stats: dict[str, list[float]] = {}
    _space = re.compile(r"\s+")

    def _key(sql: object) -> str:
        return _space.sub(" ", str(sql)).strip()[:160]

    def _wrap(name: str) -> None:
        orig = getattr(asyncpg.connection.Connection, name)

        async def wrapped(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return await orig(self, query, *args, **kwargs)
            finally:
                s = _stats.setdefault(f"{name}: {_key(query)}", [0, 0.0])
                s[0] += 1
                s[1] += time.perf_counter() - t

        setattr(asyncpg.connection.Connection, name, wrapped)

    for _name in ("execute", "executemany", "fetch", "fetchrow", "fetchval", "prepare"):
        _wrap(_name)

    def _dump() -> None:
        svc = os.path.basename(os.path.dirname(sys.argv[0])) or "unknown"
        path = f"{_count_sql}/{svc}-{os.getpid()}.json"
        with open(path + ".tmp", "w") as f:
            json.dump(dict(_stats), f)
        os.replace(path + ".tmp", path)

    def _loop() -> None:
        while True:
            time.sleep(2)
            _dump()

    threading.Thread(target=_loop, daemon=True).start()
    atexit.register(_dump)
    assert asyncio

_profile = os.environ.get("BENCH_EXP_PROFILE")
if _profile:
    import cProfile
    import signal
    import sys as _sys

    _profiler = cProfile.Profile()

    def _profile_on(*_: object) -> None:
        _profiler.enable()

    def _profile_off(*_: object) -> None:
        _profiler.disable()
        svc = os.path.basename(os.path.dirname(_sys.argv[0])) or "unknown"
        _profiler.dump_stats(f"{_profile}/{svc}-{os.getpid()}.pstats")

    signal.signal(signal.SIGUSR1, _profile_on)
    signal.signal(signal.SIGUSR2, _profile_off)

if os.environ.get("BENCH_EXP_NO_STATISTICS") == "1":
    # Imported in every service's process; only crm's calls these.
    from services.crm.service import statistics as _statistics

    async def _nothing(*_: object, **__: object) -> int:
        return 0

    _statistics.record = _nothing  # type: ignore[assignment]
    _statistics.enrolled = _nothing  # type: ignore[assignment]
    # A member's sale is its visit (crm migration 0021): the visit is written without naming it.
    from services.crm.adapters import customers as _customers

    if hasattr(_customers, "_VISITS_NAMED"):
        _customers._VISITS_NAMED = _customers.VISITS.sql

if os.environ.get("BENCH_EXP_NO_MEMBER_DAYS") == "1":
    from services.crm.adapters import statistics_roll_up as _roll_up

    _sql = _roll_up._ROLL_UP
    _start = _sql.index("), members AS (")
    _end = _sql.index("SELECT count(*) FROM taken")
    _roll_up._ROLL_UP = _sql[:_start] + ")\n    " + _sql[_end:]
