"""Named crash points for fault tests (``COMPTOIR_FAILPOINTS=relay.before_publish``).

Some faults cannot be timed from outside: "the gateway dies after its commit and before the
publish" is a window of microseconds. A failpoint makes the process die exactly there, as
kill -9 would. Unset in production, where ``hit`` is one set lookup.
"""

from __future__ import annotations

import os

_ARMED = frozenset(p for p in os.environ.get("COMPTOIR_FAILPOINTS", "").split(",") if p)


def hit(name: str) -> None:
    if name in _ARMED:
        os._exit(137)
