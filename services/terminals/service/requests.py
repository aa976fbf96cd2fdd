"""A terminal's online request, submitted and answered: recorded with its event (group commit,
service/intake.py), then the cards service's verdict awaited (service/waiters.py) or, past
the timeout, left for the terminal to poll."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import asyncpg

from services.terminals.adapters import requests as store
from services.terminals.domain.answers import Pending
from services.terminals.domain.keyring import Keyring
from services.terminals.domain.outcomes import Decision
from services.terminals.domain.terminals import Terminal
from services.terminals.service.intake import Existing, Intake, Item, Replay
from services.terminals.service.registry import PROBLEMS, TerminalRegistry
from services.terminals.service.waiters import Verdict, Waiters
from shared.events import Event
from shared.http import Problem
from shared.settings import Settings


class Gateway:
    """Authenticates terminals (its registry), records their requests and waits for the
    cards service's verdict (its waiters)."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings
        self.intake = Intake(pool)
        self.keyring = Keyring.from_settings(settings)
        self.terminals = TerminalRegistry(pool, self.keyring, settings.signature_window_s)
        self.waiters = Waiters()
        self.dates = settings.date_window()  # made once: it was some 3 µs of every request
        self.desks: dict[UUID, UUID] = {}  # merchant → its desk terminal (service/desk.py)

    async def submit(
        self, kind: str, request_id: UUID, t: Terminal, nonce: str, body: bytes, event: Event[Any]
    ) -> Verdict:
        """The request's verdict: the HTTP status and the outcome (or the pending answer)."""
        with self.waiters.wait(request_id, self.settings.outcome_timeout_s) as waiter:
            known = await self._take(kind, request_id, t, nonce, body, event)
            if known is not None and known.status != "pending":
                return known.http_status or 200, known.outcome
            decided = await waiter
        if decided is None:  # no verdict in time: the terminal polls the request's status
            return await self.status(kind, request_id, t)
        return decided

    async def record(
        self,
        kind: str,
        request_id: UUID,
        t: Terminal,
        nonce: str,
        body: bytes,
        event: Event[Any],
        outcome: dict[str, Any],
    ) -> Verdict:
        """A request no service answers (a sale without a member): recorded with its event,
        and answered at once with ``outcome``, the same to a retry."""
        known = await self._take(kind, request_id, t, nonce, body, event)
        if known is not None and known.status != "pending":
            return known.http_status or 201, known.outcome
        async with self.pool.acquire() as conn:
            await store.record_outcomes(
                conn, [Decision(request_id, kind, "accepted", 201, outcome)]
            )
        return 201, outcome

    async def _take(
        self, kind: str, request_id: UUID, t: Terminal, nonce: str, body: bytes, event: Event[Any]
    ) -> Existing | None:
        """The request taken in (None: it is new), or the one already taken under its id;
        a replayed nonce, or an id naming another request, is refused."""
        digest = hashlib.sha256(body).digest()
        known = await self.intake.submit(Item(kind, request_id, t.id, nonce, digest, event))
        if isinstance(known, Replay):
            raise Problem(
                409,
                "Replayed request",
                "this nonce was already used",
                type_=PROBLEMS + "replay",
                code="replay",
            )
        if isinstance(known, Existing):
            if (known.kind, known.terminal_id, known.body_sha256) != (kind, t.id, digest):
                raise Problem(
                    409,
                    "Id already used",
                    f"{request_id} names another request",
                    type_=PROBLEMS + "id-conflict",
                    code="id_conflict",
                )
            return known
        return None

    async def status(self, kind: str, request_id: UUID, t: Terminal) -> Verdict:
        r = await store.status(self.pool, kind, request_id, t.id)
        if r is None:
            raise Problem(
                404,
                "Unknown request",
                f"no {kind} {request_id} from this terminal",
                code="unknown_request",
            )
        if r["status"] == "pending":
            return 202, Pending(id=request_id, status="pending").model_dump(mode="json")
        return r["http_status"], r["outcome"]
