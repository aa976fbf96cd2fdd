"""The front desk's use cases, offline: read a card, record a sale on it, spend its cagnotte.

The reward is the shared rules package's (``shared.rules``), compiled from the parameters
the gateway sent at the last sync, and what a sale does to the card's buckets is the same
``credit_sale`` the cards service runs: the server re-checks both and flags a difference.
Order of writes: the card first (it certifies the transaction), then the journal; a card
that refuses leaves the journal untouched and the sequence unused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from shared import clock
from shared.contracts import CardTransaction
from shared.rules.accounts import AccountState, credit_sale
from shared.rules.engine import Sale
from shared.rules.explain import Refusal
from shared.rules.params import TerminalParameters, TerminalRules, is_dormant_on
from shared.rules.params import compile as compile_rules
from terminal.adapters.journal import Fill, Journal
from terminal.reader import (
    CardError,
    CardReceipt,
    CardView,
    CreditOrder,
    DebitOrder,
    Reader,
)

T = TypeVar("T")


class Refused(Exception):
    """The terminal refuses, with a message code (``i18n.MESSAGES``) and its fields."""

    def __init__(self, code: str, **fields: Any) -> None:
        super().__init__(code)
        self.code = code
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Recorded:
    transaction: CardTransaction
    fill: Fill
    # why the reward is not the full rate (law, scope...): said by shared.rules.wording
    reasons: tuple[Refusal, ...] = ()


class Terminal:
    def __init__(
        self,
        journal: Journal,
        reader: Reader,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.journal = journal
        self.reader = reader
        self.now = now
        self._compiled: tuple[int, dict[UUID, TerminalRules]] | None = None

    # --- what the terminal knows --------------------------------------------------------

    @property
    def terminal_id(self) -> UUID:
        return UUID(self.journal.get("terminal_id"))

    def configuration(self) -> dict[str, Any]:
        conf: dict[str, Any] | None = self.journal.get("configuration")
        # params_version is written with the parameters: no need to read the document here.
        if conf is None or self.journal.get("params_version") is None:
            raise Refused("not_configured")
        return conf

    def rules(self) -> dict[UUID, TerminalRules]:
        version = int(self.journal.get("params_version", 0))
        if self._compiled is None or self._compiled[0] != version:
            params = TerminalParameters.model_validate(self.journal.get("params"))
            self._compiled = (version, compile_rules(params))
        return self._compiled[1]

    # --- use cases ------------------------------------------------------------------------

    def read_card(self) -> CardView:
        """The inserted card, after the offline checks: blacklist, blocked, expiry, type."""
        self.configuration()
        view = self._card(self.reader.read)
        self.check(view, self.now())
        return view

    def check(self, view: CardView, at: datetime) -> TerminalRules:
        reason = self.journal.blacklisted(view.number)
        if reason is not None:
            raise Refused(f"card_{reason}")
        if view.blocked:
            raise Refused("card_blocked")
        if view.expires_on is not None and at.date() > view.expires_on:
            raise Refused("card_expired", date=view.expires_on.isoformat())
        # Dormancy (F4) as the server judges it online: the parameters carry the period.
        days = (self.journal.get("params") or {}).get("dormant_after_days")
        if is_dormant_on(view.last_used_on, at.date(), days):
            assert view.last_used_on is not None
            raise Refused("card_dormant", days=days, last_used_on=view.last_used_on.isoformat())
        rules = self.rules().get(view.card_type_id)
        if rules is None:
            raise Refused("card_not_accepted")
        return rules

    def sale(self, amount_cents: int, family: str | None = None, quantity: int = 1) -> Recorded:
        conf, at, view, rules = self._begin()
        if rules.book is None:
            raise Refused("card_does_not_earn")
        # The card's status level, if its account held one at the last download (issue 14).
        evaluation = rules.book.evaluate(
            Sale(str(conf["merchant_id"]), family, amount_cents, at, quantity),
            rules.personal(view.number),
        )
        before = AccountState(
            available=view.available,
            pending=view.pending,
            units=view.units,
            visits=view.visits,
            window_started_at=view.window_started_at,
        )
        credit = credit_sale(before, evaluation, rules.book.program, rules.visit_threshold, at)
        after = credit.state
        order = CreditOrder(
            amount_cents=amount_cents,
            available_delta=after.available - before.available,
            pending_delta=after.pending - before.pending,
            units_delta=after.units - before.units,
            visits_after=after.visits,
            window_started_at=after.window_started_at,
            occurred_at=at,
            terminal_id=self.terminal_id,
            seq=self.journal.next_seq(),
        )
        tx = _transaction(
            self._card(lambda: self.reader.credit(order)),
            family=family,
            quantity=quantity,
            reward_cents=credit.reward_cents,
            expired_cents=credit.expired_cents,
            window_started_at=after.window_started_at,
        )
        self.journal.append(tx)
        return Recorded(tx, self.journal.fill(), evaluation.refusals)

    def redeem(self, amount_cents: int | None = None) -> Recorded:
        """Spend ``amount_cents`` of the cagnotte, or all of it."""
        _, at, view, _ = self._begin()
        amount = view.available if amount_cents is None else amount_cents
        if amount <= 0 or amount > view.available:
            raise Refused("insufficient_balance", available=view.available)
        order = DebitOrder(
            amount_cents=amount,
            occurred_at=at,
            terminal_id=self.terminal_id,
            seq=self.journal.next_seq(),
        )
        tx = _transaction(
            self._card(lambda: self.reader.debit(order)),
            window_started_at=view.window_started_at,
        )
        self.journal.append(tx)
        return Recorded(tx, self.journal.fill())

    def _begin(self) -> tuple[dict[str, Any], datetime, CardView, TerminalRules]:
        """Before a card is written: configured, room in the journal, the card passes."""
        conf = self.configuration()
        if self.journal.fill().full:
            raise Refused("journal_full", capacity=self.journal.capacity)
        at = self.now().replace(microsecond=0)  # the card certifies whole seconds
        view = self._card(self.reader.read)
        return conf, at, view, self.check(view, at)

    @staticmethod
    def _card(call: Callable[[], T]) -> T:
        try:
            return call()
        except CardError as exc:
            raise Refused(_CARD_REFUSALS.get(exc.code, "card_error"), detail=str(exc)) from exc


# What the card (or reader) said, as the screen's message code; anything else: card_error.
_CARD_REFUSALS = {
    "insufficient_balance": "insufficient_balance",
    "expired": "card_expired",
    "blocked": "card_blocked",
    "bad_mac": "bad_mac",
    "unknown_key_version": "unknown_key_version",
    "no_card": "no_card",
}


def _transaction(
    receipt: CardReceipt,
    *,
    family: str | None = None,
    quantity: int = 1,
    reward_cents: int = 0,
    expired_cents: int = 0,
    window_started_at: datetime | None = None,
) -> CardTransaction:
    """The journal line: what the card certified, and what the terminal adds to it."""
    return CardTransaction(
        seq=receipt.seq,
        kind=receipt.kind,
        card_number=receipt.card_number,
        atc=receipt.atc,
        occurred_at=receipt.occurred_at,
        amount_cents=receipt.amount_cents,
        product_family=family,
        quantity=quantity,
        reward_cents=reward_cents,
        expired_cents=expired_cents,
        available_delta=receipt.available_delta,
        pending_delta=receipt.pending_delta,
        units_delta=receipt.units_delta,
        available_after=receipt.available_after,
        pending_after=receipt.pending_after,
        units_after=receipt.units_after,
        visits_after=receipt.visits_after,
        window_started_at=window_started_at,
        key_version=receipt.key_version,
        terminal_nonce=receipt.terminal_nonce.hex(),
        certificate=receipt.certificate.hex(),
    )
