"""Valid events for tests, with fresh ids; override what the test is about."""

from __future__ import annotations

import uuid
from typing import Any

from shared import clock
from shared.contracts import SaleRecorded


def sale_recorded(**overrides: Any) -> SaleRecorded:
    fields: dict[str, Any] = {
        "association_id": uuid.uuid4(),
        "merchant_id": uuid.uuid4(),
        "shop_id": uuid.uuid4(),
        "terminal_id": uuid.uuid4(),
        "occurred_at": clock.now(),
        "sale_id": uuid.uuid4(),
        "phone": "+33612345678",
        "amount_cents": 2460,
    }
    return SaleRecorded(**(fields | overrides))
