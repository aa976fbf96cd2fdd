"""The notifications' use cases. The notices' ones stay importable from here
(``service.take_over_statements``)."""

from services.notifications.service.notices import (
    MAX_NOTICES,
    find_notices,
    notice,
    take_over_statements,
)

# (the notices' use cases; messages, rendering and sending are modules of this package)

__all__ = ["MAX_NOTICES", "find_notices", "notice", "take_over_statements"]
