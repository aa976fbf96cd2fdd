"""The notifications' domain, pure: notices (statements handed over), messages and their
statuses, SMS segments, the hours marketing SMS may leave at.

The names of the statements' notices stay importable from here (``domain.StatementNotice``)."""

from services.notifications.domain.notices import (
    HandedOver,
    NoticeStatus,
    StatementNotice,
    one_per_statement,
)

__all__ = ["HandedOver", "NoticeStatus", "StatementNotice", "one_per_statement"]
