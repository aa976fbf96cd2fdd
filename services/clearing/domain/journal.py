"""The journal of the compte pivot: its accounts and the postings each kind of entry makes
(pure: no I/O).

Accounts: ``merchant`` (one per merchant; debit balance = the merchant owes the pivot),
``customer_liability`` (loyalty rewards owed to cardholders, pending or available),
``customer_funds`` (money customers loaded on gift, prepaid and e-purse cards: a liability
kept apart from rewards), ``operator_fees`` (the taux UC), and the association's own
accounts ``forfeited`` (rewards customers lost), ``adjustments`` (audited corrections),
``opening_balances`` (balances brought by a customer file import), ``vouchers`` (the gift
vouchers the association funds), ``sponsorships`` (the sponsorship rewards it funds; a
merchant's own sponsorship programme is funded by that merchant). Debit > 0, credit < 0; an entry's postings sum to zero.

| kind (reference)          | from                   | debit                  | credit                 |
|---------------------------|------------------------|------------------------|------------------------|
| accrual (sale)            | TransactionsBooked     | merchant M  R + F      | customer_liability R   |
|                           | kind sale              |                        | operator_fees F        |
| pending_expired (sale)    | id., E > 0             | customer_liability E   | forfeited E            |
| redemption (redemption)   | TransactionsBooked     | customer_liability X   | merchant N  X          |
|                           | redemption, cagnotte   |                        |                        |
| stored_value_spend (id.)  | TransactionsBooked     | customer_funds X       | merchant N  X          |
|                           | redemption, stored val.|                        |                        |
| reversal (return)         | RewardReversed         | customer_liability R   | merchant M  R + F      |
|                           |                        | operator_fees F        |                        |
| adjustment (movement)     | AccountAdjusted        | adjustments A          | purse account A        |
| opening_balance (id.)     | AccountAdjusted        | opening_balances A     | purse account A        |
| pending_lost (id.)        | AccountAdjusted        | forfeited A            | purse account A        |
| voucher (id.)             | AccountAdjusted        | vouchers A             | purse account A        |
| load (id.)                | AccountAdjusted        | merchant M  A          | purse account A        |
| donation (id.)            | AccountAdjusted        | partner P  A (A < 0)   | purse account A        |
| sponsorship (reward)      | AccountAdjusted        | merchant M  A, or the  | purse account A        |
|                           |                        | sponsorships A         |                        |
| partner_share (at close)  | the period's purchases | merchant M  S          | partner P  S           |
| merchant_adjustment (id.) | the API                | merchant M  A          | adjustments A          |
| settlement, collection    | a settlement file      | bank X                 | merchant M  X          |
| settlement, transfer      | a settlement file      | merchant, partner or   | bank X                 |
|                           |                        | operator_fees  X       |                        |

For AccountAdjusted the purse account is ``customer_liability`` (purse cagnotte) or
``customer_funds`` (purse stored_value), and A is signed as in the event (> 0 raises what
customers are owed): a negative A swaps debit and credit, so a pending_lost of -500 debits
customer_liability 500 and credits forfeited 500, like a pending_expired.

The third part of an account's key is its merchant (kind ``merchant``) or its partner
association (kind ``partner``), else None.

Zero records: a sale whose reward and fee both round to 0 (1 cent at 3 %, taux UC 0.5 %) moves
no money, yet it is a sale the merchant's statement counts and a reference the journal must hold
once, like every sale. So it is booked as an ``accrual`` entry with no postings, reward 0 and
fee 0, and so is a return of it (``reversal``): a zero record. The reconciliation's
``balanced`` check accepts an entry without postings only as such a record; any other entry
without postings is a fault it names (docs/clearing.md).

Periods (the months entries are booked in) are in ``periods.py``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple
from uuid import UUID

MERCHANT = "merchant"
LIABILITY = "customer_liability"
FUNDS = "customer_funds"
FEES = "operator_fees"
FORFEITED = "forfeited"
ADJUSTMENTS = "adjustments"
OPENING_BALANCES = "opening_balances"
VOUCHERS = "vouchers"
SPONSORSHIPS = "sponsorships"
PARTNER = "partner"
BANK = "bank"

# One account of the compte pivot: association, kind, and its merchant or partner (else None).
PivotAccount = tuple[UUID, str, UUID | None]
Purse = Literal["cagnotte", "stored_value"]
MovementKind = Literal[
    "adjustment", "opening_balance", "pending_lost", "voucher", "load", "donation", "sponsorship"
]

PURSE_ACCOUNT: dict[str, str] = {"cagnotte": LIABILITY, "stored_value": FUNDS}
# The association's account on the other side of a movement; a load's is the merchant.
MOVEMENT_COUNTERPART: dict[str, str] = {
    "adjustment": ADJUSTMENTS,
    "opening_balance": OPENING_BALANCES,
    "pending_lost": FORFEITED,
    "voucher": VOUCHERS,
    "load": MERCHANT,
    "donation": PARTNER,
    "sponsorship": SPONSORSHIPS,  # or the merchant whose own programme it is (``movement``)
}
SPEND_KIND: dict[str, str] = {"cagnotte": "redemption", "stored_value": "stored_value_spend"}


class Posting(NamedTuple):
    """A named tuple: three are built per booked line, a frozen dataclass's
    ``object.__setattr__`` per field cost 1 µs each (docs/benchmarks.md)."""

    account: PivotAccount
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
    partner: UUID | None = None,
) -> list[Posting]:
    """An AccountAdjusted movement of signed amount A (> 0 raises what customers are owed)."""
    counterpart = MOVEMENT_COUNTERPART[kind]
    if kind == "sponsorship" and merchant is not None:
        counterpart = MERCHANT  # a merchant's own sponsorship programme: the merchant pays
    if counterpart == MERCHANT:
        if merchant is None:
            raise ValueError(f"a {kind} names the merchant that took the money")
        other: PivotAccount = (association, MERCHANT, merchant)
    elif counterpart == PARTNER:
        if partner is None:
            raise ValueError(f"a {kind} names the partner association it goes to")
        other = (association, PARTNER, partner)
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


# The kinds of entry whose postings are a reward and a fee, both of which may round to 0.
ZERO_RECORD_KINDS = frozenset({"accrual", "reversal"})


def is_zero_record(kind: str, reward_cents: int | None, fee_cents: int | None) -> bool:
    """An entry that may have no postings: an accrual or reversal of reward 0 and fee 0."""
    return kind in ZERO_RECORD_KINDS and not reward_cents and not fee_cents


def partner_share(
    association: UUID, merchant: UUID, partner: UUID, share_cents: int
) -> list[Posting]:
    """What a merchant gives back to a partner association of its purchases by members."""
    return _nonzero(
        [
            Posting((association, MERCHANT, merchant), share_cents),
            Posting((association, PARTNER, partner), -share_cents),
        ]
    )


def merchant_adjustment(association: UUID, merchant: UUID, amount_cents: int) -> list[Posting]:
    """A correction of a merchant's position (> 0: the merchant owes more), against the
    association's adjustments account."""
    return _nonzero(
        [
            Posting((association, MERCHANT, merchant), amount_cents),
            Posting((association, ADJUSTMENTS, None), -amount_cents),
        ]
    )


def settlement(association: UUID, party: PivotAccount, due_cents: int) -> list[Posting]:
    """Settle a party's position of ``due_cents`` (debit balance: it owes, collected by direct
    debit; credit balance, negative: it is owed, paid by credit transfer) through the bank."""
    return _nonzero(
        [
            Posting((association, BANK, None), due_cents),
            Posting(party, -due_cents),
        ]
    )


def euros(cents: int) -> str:
    """Cents as euros with a dot, by integer arithmetic (a float drifts on large sums):
    -1234 → "-12.34"; the SEPA files' and the CSV exports' amounts."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"


def share_of(amount_cents: int, rate_bps: int) -> int:
    """``amount × rate``, rounded half up to the cent (amounts here are never negative)."""
    if amount_cents < 0:
        raise ValueError("a share is of a positive amount")
    return (amount_cents * rate_bps + 5_000) // 10_000
