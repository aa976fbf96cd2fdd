"""A registered terminal, as the gateway knows it once its secret is opened."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Who:
    """The authenticated terminal a message came from: where its operations happen."""

    id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID


@dataclass(frozen=True, slots=True)
class Terminal:
    id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    secret: str
    active: bool

    @property
    def who(self) -> Who:
        return Who(self.id, self.association_id, self.merchant_id, self.shop_id)
