"""Customer status levels (issue 14 item 2): a change of an account's level, told by cards.

The contract as the issue's split fixes it (cards publishes it; crm and notifications'
webhooks take it). Written here by the webhooks' branch so that their queue can bind it before
cards publishes it; the status levels' branch owns it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.events import EventData, register


@register
class LevelChanged(EventData):
    """An account's status level changed (up, down after the grace period, or lost)."""

    name = "account.level_changed"
    account_id: UUID
    association_id: UUID
    merchant_id: UUID | None = None  # None: a level of the association
    level_code: str | None = None  # None: no level any more
    previous_level_code: str | None = None
    occurred_at: datetime
