"""Product families and the rates that apply to them: the three calculation modes of F6.

- ``network``: one taux client for every merchant and family of the association;
- ``merchant``: each merchant's own taux client, else the network's;
- ``family``: the merchant's rate for the product family, else the merchant's own rate, else
  the network's.

The server stores the first two today (``shared.rules.rates.RateMode`` is this enum). Families
also carry the legal flags of F10 (tobacco, gambling, book), which ``shared.rules.legal`` acts on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from shared.rules.money import MAX_RATE_BPS


class CalculationMode(StrEnum):
    NETWORK = "network"
    MERCHANT = "merchant"
    FAMILY = "family"


def check_rate(rate_bps: int | None, what: str) -> None:
    if rate_bps is not None and not 0 <= rate_bps <= MAX_RATE_BPS:
        raise ValueError(f"{what}: a rate is 0 to {MAX_RATE_BPS} bp, not {rate_bps}")


@dataclass(frozen=True, slots=True)
class ProductFamily:
    """One family of a merchant's catalogue; ``taux_client_bps`` is its own rate (mode family)."""

    code: str
    taux_client_bps: int | None = None
    tobacco: bool = False
    gambling: bool = False
    book: bool = False

    def __post_init__(self) -> None:
        check_rate(self.taux_client_bps, f"family {self.code}")


@dataclass(frozen=True, slots=True)
class NetworkRates:
    """The association's mode and rates (taux client for the customer, taux UC for the fee)."""

    mode: CalculationMode
    taux_client_bps: int
    taux_uc_bps: int

    def __post_init__(self) -> None:
        check_rate(self.taux_client_bps, "network taux client")
        check_rate(self.taux_uc_bps, "network taux UC")


@dataclass(frozen=True, slots=True)
class Merchant:
    """A merchant's own rates (``None`` = the network's) and its catalogue of families."""

    merchant_id: str
    taux_client_bps: int | None = None
    taux_uc_bps: int | None = None
    families: Mapping[str, ProductFamily] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        check_rate(self.taux_client_bps, f"merchant {self.merchant_id} taux client")
        check_rate(self.taux_uc_bps, f"merchant {self.merchant_id} taux UC")
        for code, family in self.families.items():
            if code != family.code:
                raise ValueError(f"merchant {self.merchant_id}: family {family.code} under {code}")
        # Frozen means frozen: a caller's dict could still change under us.
        object.__setattr__(self, "families", MappingProxyType(dict(self.families)))

    @staticmethod
    def with_families(
        merchant_id: str,
        families: Iterable[ProductFamily],
        taux_client_bps: int | None = None,
        taux_uc_bps: int | None = None,
    ) -> Merchant:
        return Merchant(merchant_id, taux_client_bps, taux_uc_bps, {f.code: f for f in families})


class OwnRates(Protocol):
    """What the rate rules read of a merchant: its own rates, ``None`` for the network's."""

    @property
    def taux_client_bps(self) -> int | None: ...

    @property
    def taux_uc_bps(self) -> int | None: ...


def taux_client_for(
    network: NetworkRates, merchant: OwnRates, family: ProductFamily | None
) -> tuple[int, str]:
    """The base taux client of a sale and the rule that gave it (before promotions and law)."""
    mode = network.mode
    if mode is CalculationMode.FAMILY and family is not None and family.taux_client_bps is not None:
        return family.taux_client_bps, "rate.family"
    if mode is not CalculationMode.NETWORK and merchant.taux_client_bps is not None:
        return merchant.taux_client_bps, "rate.merchant"
    return network.taux_client_bps, "rate.network"


def taux_uc_for(network: NetworkRates, merchant: OwnRates) -> int:
    """The operator's fee rate: the merchant's own when set, else the network's (as today)."""
    return merchant.taux_uc_bps if merchant.taux_uc_bps is not None else network.taux_uc_bps
