"""Experiments on the services without editing them, for the ingest bench only.

``python -m bench.ingest --exp NAME=VALUE`` puts this directory first on the services'
PYTHONPATH, so Python imports this file at start-up; each BENCH_EXP_* variable turns on one
candidate change so that its effect can be measured before anyone proposes it for real:

- BENCH_EXP_GC_THRESHOLD=a,b,c: gc.set_threshold(a, b, c) (Python's default is 700,10,10);
- BENCH_EXP_GC_FREEZE_S=s: gc.freeze() s seconds after start (objects of the start-up:
  modules, pydantic schemas... are then never traversed again by the collector);
- BENCH_EXP_POOL_RESET=off: asyncpg pools get a no-op ``reset`` (asyncpg then skips the
  "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL" round trip it makes at
  every release of a connection to the pool).
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
