"""Valid card transactions for tests and benchmarks: simulated cards (their counter, their
balances chained from one transaction to the next, their certificate made with the card's
diversified key from DEV_MASTERS) and an in-memory journal for the sync client."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from shared import clock
from shared.card.crypto import DEV_MASTERS, Certified, certificate, diversify
from shared.contracts import CardTransaction
from shared.rules.codes import card_number

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


@dataclass
class SimCard:
    """A card as far as the server can tell: it counts, chains its balances and certifies with
    its key diversified from the development ``cert`` master."""

    number: str
    available: int = 0
    pending: int = 0
    units: int = 0
    visits: int = 0
    atc: int = 0
    # The card's key version and the cert master of that version (a rotation's new cards).
    key_version: int = 1
    cert_master: bytes = field(default=DEV_MASTERS["cert"], repr=False)

    def certify(
        self,
        terminal_id: UUID,
        seq: int,
        kind: Literal["sale", "redemption"],
        amount: int,
        deltas: tuple[int, int, int],
        at: datetime,
        nonce: bytes | None = None,
        **terminal_fields: Any,
    ) -> CardTransaction:
        self.atc += 1
        self.available += deltas[0]
        self.pending += deltas[1]
        self.units += deltas[2]
        if kind == "sale":
            self.visits += 1
        nonce = nonce or secrets.token_bytes(8)
        fields = Certified(
            kind, self.number, self.atc, amount, *deltas, self.available, self.pending,
            self.units, self.visits, terminal_id, seq, at, nonce,
        )  # fmt: skip
        key = diversify(self.cert_master, "cert", self.number, self.key_version)
        cert = certificate(key, fields)
        return CardTransaction(
            seq=seq,
            kind=kind,
            card_number=self.number,
            atc=self.atc,
            occurred_at=at,
            amount_cents=amount,
            available_delta=deltas[0],
            pending_delta=deltas[1],
            units_delta=deltas[2],
            available_after=self.available,
            pending_after=self.pending,
            units_after=self.units,
            visits_after=self.visits,
            terminal_nonce=nonce.hex(),
            certificate=cert.hex(),
            key_version=self.key_version,
            **terminal_fields,
        )

    def sale(
        self,
        terminal_id: UUID,
        seq: int,
        amount: int,
        reward: int,
        at: datetime = T0,
        family: str | None = None,
        nonce: bytes | None = None,
    ) -> CardTransaction:
        return self.certify(
            terminal_id, seq, "sale", amount, (reward, 0, 0), at, nonce,
            reward_cents=reward, product_family=family,
        )  # fmt: skip

    def redeem(
        self,
        terminal_id: UUID,
        seq: int,
        amount: int,
        at: datetime = T0,
        nonce: bytes | None = None,
    ) -> CardTransaction:
        return self.certify(terminal_id, seq, "redemption", amount, (-amount, 0, 0), at, nonce)

    def copy(self) -> SimCard:
        """A clone: the same keys and state, living its own life from now on."""
        return SimCard(
            self.number, self.available, self.pending, self.units, self.visits, self.atc,
            self.key_version, self.cert_master,
        )  # fmt: skip


class CardTxFactory:
    """Journal lines of one terminal, seq 1, 2, 3...; ``cards`` shared between factories
    (one card used in two shops) keeps one counter and one balance per card."""

    def __init__(
        self,
        terminal_id: UUID,
        *,
        start_seq: int = 1,
        cards: dict[str, SimCard] | None = None,
        seed: int | None = None,
        start: datetime | None = None,
        reward_bps: int = 500,
    ) -> None:
        self.terminal_id = terminal_id
        self.seq = start_seq
        self.cards = {} if cards is None else cards
        self.rng = random.Random(seed)
        # A day back, but not before this month (Paris time): an association created now keeps
        # its books from the month's start, and the cards service holds what is dated before.
        month = clock.now().astimezone(clock.PARIS).replace(day=1, hour=0, minute=0, second=0)
        default = max(clock.now() - timedelta(days=1), month.astimezone(UTC))
        self.clock = (start or default).replace(microsecond=0)
        self.reward_bps = reward_bps

    def card(self, number: str | None = None) -> SimCard:
        if number is None:
            number = card_number("999042", self.rng.randrange(10**9))
        if number not in self.cards:
            self.cards[number] = SimCard(number)
        return self.cards[number]

    def sale(self, card: SimCard | None = None, amount_cents: int | None = None) -> CardTransaction:
        card = card or self.card()
        amount = amount_cents if amount_cents is not None else self.rng.randrange(100, 20_000)
        seq, at, nonce = self._next()
        return card.sale(
            self.terminal_id, seq, amount, amount * self.reward_bps // 10_000, at, "epicerie", nonce
        )

    def redemption(self, card: SimCard, amount_cents: int) -> CardTransaction:
        if amount_cents > card.available:
            raise ValueError("the card would refuse: insufficient balance")
        seq, at, nonce = self._next()
        return card.redeem(self.terminal_id, seq, amount_cents, at, nonce)

    def _next(self) -> tuple[int, datetime, bytes]:
        """The next line's sequence, the terminal's clock, a nonce (all from the seed)."""
        seq, self.seq = self.seq, self.seq + 1
        # Never ahead of now: the cards service holds a line dated in the future.
        step = timedelta(seconds=self.rng.randrange(1, 90))
        self.clock = min(self.clock + step, clock.now().replace(microsecond=0))
        return seq, self.clock, self.rng.randbytes(8)

    def batch(self, n: int, cards: int = 50) -> list[CardTransaction]:
        """``n`` sales spread over ``cards`` cards, a redemption now and then."""
        pool = [self.card() for _ in range(cards)]
        out = []
        for _ in range(n):
            c = self.rng.choice(pool)
            if c.available > 500 and self.rng.random() < 0.1:
                out.append(self.redemption(c, c.available // 2))
            else:
                out.append(self.sale(c))
        return out


@dataclass
class MemoryJournal:
    """A terminal's journal in memory (``shared.sync.client.JournalSource``)."""

    lines: list[CardTransaction] = field(default_factory=list)
    params_version: int = 0
    blacklist_version: int = 0
    committed_through: int = 0
    software: str = "test-terminal/1"
    configuration: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    blacklist: dict[str, str] = field(default_factory=dict)  # card number -> reason
    applied: list[dict[str, Any]] = field(default_factory=list)

    def hello(self) -> dict[str, Any]:
        first = self.lines[0].seq if self.lines else 0
        last = self.lines[-1].seq if self.lines else 0
        return {
            "software": self.software,
            "params_version": self.params_version,
            "blacklist_version": self.blacklist_version,
            "pending_count": sum(1 for t in self.lines if t.seq > self.committed_through),
            "journal_first_seq": first,
            "journal_last_seq": last,
        }

    def unsynced(self, after_seq: int, limit: int) -> list[CardTransaction]:
        if not self.lines:
            return []
        start = max(0, after_seq + 1 - self.lines[0].seq)
        return [t for t in self.lines[start : start + limit] if t.seq > after_seq]

    def totals(self, from_seq: int, to_seq: int) -> tuple[int, int]:
        span = [t for t in self.lines if from_seq <= t.seq <= to_seq]
        return len(span), sum(t.amount_cents for t in span)

    def committed(self, through_seq: int) -> None:
        self.committed_through = max(self.committed_through, through_seq)

    def apply_updates(
        self,
        configuration: dict[str, Any] | None,
        params: dict[str, Any] | None,
        params_version: int,
        blacklist: list[dict[str, Any]],
        blacklist_version: int,
    ) -> None:
        self.applied.append(
            {
                "configuration": configuration,
                "params": params,
                "params_version": params_version,
                "blacklist": blacklist,
                "blacklist_version": blacklist_version,
            }
        )
        if configuration is not None:
            self.configuration = configuration
        if params is not None:
            self.params = params
        self.params_version = params_version
        for e in blacklist:
            if e["action"] == "add":
                self.blacklist[e["card_number"]] = e["reason"]
            else:
                self.blacklist.pop(e["card_number"], None)
        self.blacklist_version = blacklist_version
