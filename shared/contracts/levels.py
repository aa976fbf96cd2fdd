"""Customer status levels (issue 14, item 2): the cards service reviews each account's level
once a day and tells a change (crm keeps the customer's current level and tells them; the
webhooks forward it as a status change)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from shared.events import EventData, register


@register
class LevelChanged(EventData):
    """An account's level changed in one scope: the association's levels (``merchant_id``
    None) or one merchant's. ``level_code`` None: it holds none now (downgraded after the
    grace period); ``previous_level_code`` None: it held none before."""

    name = "account.level_changed"
    account_id: UUID
    association_id: UUID
    merchant_id: UUID | None = None
    level_code: str | None = Field(default=None, max_length=32)
    previous_level_code: str | None = Field(default=None, max_length=32)
    occurred_at: datetime
    # Beyond the fixed contract, for the customer's message: the level's name as shown.
    level_name: str | None = Field(default=None, max_length=100)
