"""The one fact of a booked transaction, whatever its origin: a sale (cagnottage) or a
redemption (décagnottage, or a spending of stored value) that cards booked in the cagnotte,
asked for online by a till or made offline by a chip card and synced. Clearing books it in
the journal and crm counts its visit, each with one handler.

The answer a till waits for online is another event (``CagnotteCredited``,
``CagnotteRedeemed``: balances, visits, the rules' refusals), for the gateway only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.base import Cents, Purse
from shared.events import EventData, register


class BookedTransaction(BaseModel):
    """One transaction as cards booked it (F15's record: customer, merchant, shop, terminal,
    amount, product family, date and time)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # The sale's or redemption's id: the till's online, card_transaction_id(terminal, seq)
    # for a chip card's; clearing books each (kind, id) once.
    transaction_id: UUID
    kind: Literal["sale", "redemption"]
    account_id: UUID
    card_number: str | None = None  # None: a cardless account, named by its phone
    occurred_at: datetime
    amount_cents: Cents  # the purchase (sale) or the amount spent (redemption)
    product_family: str | None = None
    # The family's label in the merchant's catalogue when the sale was booked: what the
    # statement shows (a label renamed later does not rewrite a month already sent).
    product_family_label: str | None = Field(default=None, max_length=200)
    purse: Purse = "cagnotte"  # what a redemption spent
    reward_cents: Cents = Field(
        default=0, ge=0
    )  # added to the customer's claim, pending or available
    expired_cents: Cents = Field(default=0, ge=0)  # pending forfeited at this purchase
    fee_cents: Cents = Field(default=0, ge=0)  # the operator's fee (taux UC) on the sale
    # The taux client the reward was computed at, and the rule that set it
    # (``shared.rules.engine.RATE_SOURCES``: the family's, the merchant's or the network's
    # rate, a promotion, the 100 % or the books' cap); None for a redemption or no rate.
    taux_client_bps: int | None = Field(default=None, ge=0, le=10_000)
    rate_source: str | None = Field(default=None, max_length=40)
    # A sale: the cagnotte after it (available, pending) and the pending rewards it made
    # available (the visit threshold reached, F8), for crm's receipt and trigger. Online, the
    # account's; for a chip card's sale, the card's balances after it as the card certified
    # them (what the till showed), the account following the card once all its lines arrive.
    # None for a redemption, and in a chip card's sales booked before they carried them.
    balance_cents: Cents | None = None
    pending_cents: Cents | None = None
    transferred_cents: Cents = Field(default=0, ge=0)


@register
class TransactionsBooked(EventData):
    """Transactions cards booked at one terminal: one sale or redemption asked for online
    (``origin="online"``), or the transactions of one synced chunk of a chip-card terminal's
    journal that were booked (``origin="card"``: all but those held as forged or cloned)."""

    name = "transactions.booked"
    origin: Literal["online", "card"]
    chunk_id: UUID | None = None  # the synced chunk, for origin "card"
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    terminal_id: UUID
    transactions: list[BookedTransaction] = Field(min_length=1)

    @model_validator(mode="after")
    def _chunk_of_card(self) -> TransactionsBooked:
        if (self.origin == "card") != (self.chunk_id is not None):
            raise ValueError("a chip card's transactions name their chunk, and only they do")
        return self
