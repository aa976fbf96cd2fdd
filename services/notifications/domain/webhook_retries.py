"""When a failed webhook delivery is tried again (docs/webhooks.md): its backoff, and when it
is given up. Pure: no clock read, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

# After the n-th attempt of a round failed, the next comes this much later; after the last,
# or past a day since the round began, the delivery is failed (a person may replay it).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=6),
)
GIVE_UP_AFTER = timedelta(days=1)


def next_attempt(
    attempts: int, round_started: datetime, now: datetime, first: timedelta = RETRY_DELAYS[0]
) -> datetime | None:
    """When to try again after the ``attempts``-th attempt of a round (the first delivery, or a
    replay) failed at ``now`` (the first time ``first`` later: COMPTOIR_WEBHOOK_FIRST_RETRY_S);
    None: the delivery is failed."""
    if attempts < 1:
        raise ValueError("after an attempt")
    if attempts > len(RETRY_DELAYS):
        return None
    due = now + (first if attempts == 1 else RETRY_DELAYS[attempts - 1])
    return due if due - round_started <= GIVE_UP_AFTER else None
