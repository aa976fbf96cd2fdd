"""Publishing the parameters of every merchant's offline terminals (``TerminalParametersPublished``)
when ``rules_version`` moves, and once at start; the gateway keeps the newest per merchant.

A background task looks at ``rules_version`` every second (one cheap query); when it moved it
builds every merchant's parameters from the rules snapshot and publishes, through the outbox
in one transaction, those whose content changed (a new association's rates change nothing for
the merchants of the others). At start every merchant is published: a gateway that lost one
gets it back.
"""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import orjson

from services.cards.rulebooks import BOOKS, from_snapshot
from shared import logging as log
from shared import outbox
from shared.contracts import TerminalParametersPublished
from shared.events import Event, new_event
from shared.service import Runtime

SOURCE = "cards"
CHECK_EVERY_S = 1.0
# Two cards processes never publish the same version twice over.
LOCK = int.from_bytes(b"cardsTP", "big")


async def publish(conn: asyncpg.Connection, force: bool = False) -> int:
    """Publish the merchants' parameters that changed since they were last published (every
    merchant's with ``force``); the number of events written. Runs its own transaction."""
    async with conn.transaction():
        version = await conn.fetchval("SELECT version FROM rules_version")
        checked = await conn.fetchval("SELECT rules_version FROM terminal_parameters_checked")
        if not force and checked == version:
            return 0
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
        snap = await BOOKS.current(conn)
        last = {
            r["merchant_id"]: bytes(r["digest"])
            for r in await conn.fetch("SELECT merchant_id, digest FROM terminal_parameters")
        }
        dormancy = {
            r["id"]: r["dormant_after_days"]
            for r in await conn.fetch("SELECT id, dormant_after_days FROM associations")
        }
        events: list[Event[TerminalParametersPublished]] = []
        rows: list[tuple[object, int, bytes]] = []
        history: list[tuple[object, int, dict[str, object]]] = []
        for mid in sorted(snap.merchants):
            params = from_snapshot(snap, mid)
            # The dormancy period travels with the rules, so that a terminal refuses a dormant
            # card offline as the server does online (finding 10).
            params = params.model_copy(
                update={"dormant_after_days": dormancy.get(params.association_id)}
            )
            document = params.to_json()
            content = {k: v for k, v in document.items() if k != "rules_version"}
            digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).digest()
            if not force and last.get(mid) == digest:
                continue
            rows.append((mid, snap.version, digest))
            history.append((mid, snap.version, document))
            events.append(
                new_event(
                    SOURCE,
                    TerminalParametersPublished(
                        merchant_id=mid,
                        association_id=params.association_id,
                        rules_version=snap.version,
                        document=document,
                    ),
                    subject=f"merchant/{mid}",
                )
            )
        if rows:
            await conn.execute(
                """INSERT INTO terminal_parameters (merchant_id, rules_version, digest)
                   SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bytea[])
                   ON CONFLICT (merchant_id) DO UPDATE SET rules_version = excluded.rules_version,
                       digest = excluded.digest, published_at = clock_timestamp()""",
                *zip(*rows, strict=True),
            )
        if history:
            # Kept for good: a terminal's rewards are checked against the version it used.
            await conn.executemany(
                """INSERT INTO terminal_parameters_history (merchant_id, rules_version, document)
                   VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""",
                history,
            )
        await conn.execute(
            """INSERT INTO terminal_parameters_checked (rules_version) VALUES ($1)
               ON CONFLICT (singleton) DO UPDATE SET rules_version = excluded.rules_version""",
            snap.version,
        )
        await outbox.write(conn, events)
        return len(events)


async def run(rt: Runtime) -> None:
    logger = log.get("parameters")
    force = True
    while not rt.stopping:
        try:
            async with rt.pool.acquire() as conn:
                n = await publish(conn, force)
            if n:
                logger.info("terminal_parameters_published", merchants=n, at_start=force)
            force = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: try again at the next tick
            logger.warning("terminal_parameters_failed", error=repr(exc))
        await asyncio.sleep(CHECK_EVERY_S)


async def start(rt: Runtime) -> None:
    """``ServiceSpec.on_ready``: the publishing task, stopped with the process."""
    task = asyncio.create_task(run(rt), name="terminal-parameters")
    rt.state["parameters_task"] = task
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
