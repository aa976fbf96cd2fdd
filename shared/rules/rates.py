"""Which rates apply to a sale: the first two calculation modes of F6.

- ``network``: one taux client for every merchant of the association;
- ``merchant``: each merchant's own taux client, the network rate where a merchant has none.
The operator's fee (taux UC) is the merchant's own when set, else the association's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.rules.money import apply_rate


class RateMode(StrEnum):
    NETWORK = "network"
    MERCHANT = "merchant"


@dataclass(frozen=True, slots=True)
class AssociationRates:
    mode: RateMode
    taux_client_bps: int
    taux_uc_bps: int


@dataclass(frozen=True, slots=True)
class MerchantRates:
    taux_client_bps: int | None
    taux_uc_bps: int | None


@dataclass(frozen=True, slots=True)
class Reward:
    reward_cents: int
    fee_cents: int
    taux_client_bps: int
    taux_uc_bps: int


def reward_for(amount_cents: int, association: AssociationRates, merchant: MerchantRates) -> Reward:
    if association.mode is RateMode.MERCHANT and merchant.taux_client_bps is not None:
        client = merchant.taux_client_bps
    else:
        client = association.taux_client_bps
    uc = merchant.taux_uc_bps if merchant.taux_uc_bps is not None else association.taux_uc_bps
    return Reward(apply_rate(amount_cents, client), apply_rate(amount_cents, uc), client, uc)
