"""The reward and fee of a sale from the rates alone: what the cards service computes today.

One rule, not two: the rates are chosen by ``catalogue.taux_client_for`` and
``catalogue.taux_uc_for``, the same functions the rules engine uses, so the server and the
engine cannot drift apart. A sale without a product family in ``family`` mode earns the
merchant's rate, as in ``merchant`` mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.rules.catalogue import CalculationMode, NetworkRates, taux_client_for, taux_uc_for
from shared.rules.money import apply_rate

# The names the server uses for the engine's types; the server stores network or merchant.
RateMode = CalculationMode
AssociationRates = NetworkRates


@dataclass(frozen=True, slots=True)
class MerchantRates:
    """A merchant's own rates; ``None`` is the association's."""

    taux_client_bps: int | None
    taux_uc_bps: int | None


@dataclass(frozen=True, slots=True)
class Reward:
    reward_cents: int
    fee_cents: int
    taux_client_bps: int
    taux_uc_bps: int


def reward_for(amount_cents: int, association: AssociationRates, merchant: MerchantRates) -> Reward:
    client, _ = taux_client_for(association, merchant, None)
    uc = taux_uc_for(association, merchant)
    return Reward(apply_rate(amount_cents, client), apply_rate(amount_cents, uc), client, uc)
