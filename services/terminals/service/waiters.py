"""The waiters: a terminal's request waits here for the cards service's verdict, which the
consumer's after-commit hook hands over (entrypoints/consumers.py), or for its timeout."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

Verdict = tuple[int, Any]  # the HTTP status and the stored outcome


class Waiters:
    def __init__(self) -> None:
        self._by_request: dict[UUID, list[asyncio.Future[Verdict | None]]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._by_request)

    @contextmanager
    def wait(self, request_id: UUID, timeout_s: float) -> Iterator[asyncio.Future[Verdict | None]]:
        """A future of the request's verdict: None if none came within ``timeout_s``."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Verdict | None] = loop.create_future()
        self._by_request[request_id].append(waiter)
        # One timer per request: cheaper than wait_for(shield(...)) on the hot path.
        timer = loop.call_later(timeout_s, _expire, waiter)
        try:
            yield waiter
        finally:
            timer.cancel()
            waiters = self._by_request.get(request_id)
            if waiters is not None:
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters:
                    del self._by_request[request_id]

    def resolve(self, decided: Iterable[tuple[UUID, int, Any]]) -> None:
        """Wake the requests these verdicts answer (request id, HTTP status, outcome)."""
        for request_id, status, outcome in decided:
            for w in self._by_request.get(request_id, ()):
                if not w.done():
                    w.set_result((status, outcome))


def _expire(waiter: asyncio.Future[Verdict | None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
