"""Break a py-spy raw profile (collapsed stacks) of a service down by activity.

    python -m bench._profile run/bench/<run>/pyspy-terminals.txt

Each sample is put in the first category whose marker appears on its stack (GC first:
a collection is charged to whatever allocation triggered it, so it is taken out on its own).
The categories follow the path of a sale through the gateway.
"""

from __future__ import annotations

import sys
from collections import Counter

CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("gc (cyclic collector)", ("gc_collect_main",)),
    ("http: sale handler: authenticate (HMAC, headers)", ("Gateway.authenticate",)),
    ("http: sale handler: parse body (pydantic SaleIn)", ("parse_model",)),
    ("http: sale handler: build event (SaleRecorded, new_event)", ("new_event", "SaleRecorded")),
    ("http: sale handler: answer (_answer, json_response)", ("_answer", "json_response")),
    ("http: sale handler: rest (submit, waiters)", ("post_sale", "Gateway.submit")),
    ("http: middleware (metrics, tracing)", ("middleware.<locals>.mw",)),
    (
        "http: aiohttp protocol (parse request, write response)",
        ("aiohttp/web_protocol", "aiohttp/http_", "aiohttp/web_response", "aiohttp/web_request"),
    ),
    ("intake: group commit (asyncpg)", ("Intake._commit", "Intake._writer", "outbox.write")),
    ("relay: publish outbox (SELECT, publish, DELETE)", ("Relay.publish_once", "Relay.run")),
    ("consumer: parse events (orjson + pydantic)", ("shared/events.py", "unpack", "parse (")),
    ("consumer: record outcomes (UPDATE requests)", ("record (", "on_outcomes", "decide (")),
    ("consumer: resolve waiters (after_commit)", ("after_commit", "Gateway.resolve", "wake (")),
    ("consumer: transaction (inbox, commit) and metrics", ("Consumer.",)),
    ("amqp protocol (aiormq, pamqp)", ("aiormq/", "pamqp/", "aio_pika/")),
    ("postgres protocol (asyncpg, elsewhere)", ("asyncpg/",)),
    ("event loop and rest", ("",)),
]


def breakdown(path: str) -> tuple[int, Counter[str]]:
    total = 0
    per: Counter[str] = Counter()
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            count = int(n)
            total += count
            for name, markers in CATEGORIES:
                if any(m in stack for m in markers):
                    per[name] += count
                    break
    return total, per


def main() -> None:
    total, per = breakdown(sys.argv[1])
    print(f"{total} samples")
    for name, _ in CATEGORIES:
        if per[name]:
            print(f"{100 * per[name] / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
