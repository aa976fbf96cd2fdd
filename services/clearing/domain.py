"""Pure bookkeeping rules of the compte pivot.

Accounts: ``merchant`` (one per merchant; debit balance = the merchant owes the pivot),
``customer_liability`` (loyalty rewards owed to cardholders, pending or available),
``customer_funds`` (money customers loaded on gift, prepaid and e-purse cards: a liability
kept apart from rewards), ``operator_fees`` (the taux UC), and the association's own
accounts ``forfeited`` (rewards customers lost), ``adjustments`` (audited corrections),
``opening_balances`` (balances brought by a customer file import), ``vouchers`` (the gift
vouchers the association funds). Debit > 0, credit < 0; an entry's postings sum to zero.

| kind (reference)          | from                   | debit                  | credit                 |
|---------------------------|------------------------|------------------------|------------------------|
| accrual (sale)            | CagnotteCredited       | merchant M  R + F      | customer_liability R   |
|                           |                        |                        | operator_fees F        |
| pending_expired (sale)    | CagnotteCredited, E>0  | customer_liability E   | forfeited E            |
| redemption (redemption)   | CagnotteRedeemed       | customer_liability X   | merchant N  X          |
|                           | purse cagnotte         |                        |                        |
| stored_value_spend (id.)  | CagnotteRedeemed       | customer_funds X       | merchant N  X          |
|                           | purse stored_value     |                        |                        |
| reversal (return)         | RewardReversed         | customer_liability R   | merchant M  R + F      |
|                           |                        | operator_fees F        |                        |
| adjustment (movement)     | AccountAdjusted        | adjustments A          | purse account A        |
| opening_balance (id.)     | AccountAdjusted        | opening_balances A     | purse account A        |
| pending_lost (id.)        | AccountAdjusted        | forfeited A            | purse account A        |
| voucher (id.)             | AccountAdjusted        | vouchers A             | purse account A        |
| load (id.)                | AccountAdjusted        | merchant M  A          | purse account A        |

For AccountAdjusted the purse account is ``customer_liability`` (purse cagnotte) or
``customer_funds`` (purse stored_value), and A is signed as in the event (> 0 raises what
customers are owed): a negative A swaps debit and credit, so a pending_lost of -500 debits
customer_liability 500 and credits forfeited 500, like a pending_expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

MERCHANT = "merchant"
LIABILITY = "customer_liability"
FUNDS = "customer_funds"
FEES = "operator_fees"
FORFEITED = "forfeited"
ADJUSTMENTS = "adjustments"
OPENING_BALANCES = "opening_balances"
VOUCHERS = "vouchers"

AccountKey = tuple[UUID, str, UUID | None]  # association, kind, merchant
Purse = Literal["cagnotte", "stored_value"]
MovementKind = Literal["adjustment", "opening_balance", "pending_lost", "voucher", "load"]

PURSE_ACCOUNT: dict[str, str] = {"cagnotte": LIABILITY, "stored_value": FUNDS}
# The association's account on the other side of a movement; a load's is the merchant.
MOVEMENT_COUNTERPART: dict[str, str] = {
    "adjustment": ADJUSTMENTS,
    "opening_balance": OPENING_BALANCES,
    "pending_lost": FORFEITED,
    "voucher": VOUCHERS,
    "load": MERCHANT,
}
SPEND_KIND: dict[str, str] = {"cagnotte": "redemption", "stored_value": "stored_value_spend"}


@dataclass(frozen=True, slots=True)
class Posting:
    account: AccountKey
    amount_cents: int  # debit > 0, credit < 0


def _nonzero(lines: list[Posting]) -> list[Posting]:
    return [p for p in lines if p.amount_cents != 0]


def accrual(association: UUID, merchant: UUID, reward_cents: int, fee_cents: int) -> list[Posting]:
    return _nonzero(
        [
            Posting((association, MERCHANT, merchant), reward_cents + fee_cents),
            Posting((association, LIABILITY, None), -reward_cents),
            Posting((association, FEES, None), -fee_cents),
        ]
    )


def pending_expired(association: UUID, expired_cents: int) -> list[Posting]:
    """Pending rewards past the visit threshold's maximum period: the customers lose them."""
    return _nonzero(
        [
            Posting((association, LIABILITY, None), expired_cents),
            Posting((association, FORFEITED, None), -expired_cents),
        ]
    )


def redemption(
    association: UUID, merchant: UUID, amount_cents: int, purse: Purse = "cagnotte"
) -> list[Posting]:
    """A spend at merchant N: from the cagnotte (décagnottage) or from the stored value."""
    return [
        Posting((association, PURSE_ACCOUNT[purse], None), amount_cents),
        Posting((association, MERCHANT, merchant), -amount_cents),
    ]


def reversal(association: UUID, merchant: UUID, reward_cents: int, fee_cents: int) -> list[Posting]:
    """A cancelled sale or a return: the accrual's mirror, for the part taken back."""
    return [
        Posting(p.account, -p.amount_cents)
        for p in accrual(association, merchant, reward_cents, fee_cents)
    ]


def movement(
    association: UUID,
    kind: MovementKind,
    purse: Purse,
    amount_cents: int,
    merchant: UUID | None = None,
) -> list[Posting]:
    """An AccountAdjusted movement of signed amount A (> 0 raises what customers are owed)."""
    counterpart = MOVEMENT_COUNTERPART[kind]
    if counterpart == MERCHANT:
        if merchant is None:
            raise ValueError(f"a {kind} names the merchant that took the money")
        other: AccountKey = (association, MERCHANT, merchant)
    else:
        other = (association, counterpart, None)
    return _nonzero(
        [
            Posting(other, amount_cents),
            Posting((association, PURSE_ACCOUNT[purse], None), -amount_cents),
        ]
    )


def is_balanced(postings: list[Posting]) -> bool:
    return sum(p.amount_cents for p in postings) == 0
