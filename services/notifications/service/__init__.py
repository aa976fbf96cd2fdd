"""The notifications' use cases. The notices' ones stay importable from here
(``service.take_over_statements``)."""

from services.notifications.service.notices import (
    MAX_NOTICES,
    find_notices,
    notice,
    take_over_statements,
)

__all__ = ["MAX_NOTICES", "find_notices", "notice", "take_over_statements"]
