"""One clock for every service, job, test and the terminal program.

Nothing in Comptoir reads the wall clock directly: it calls ``clock.now()`` (an aware UTC
datetime) or ``clock.today_paris()``. A process runs on the system clock unless
``COMPTOIR_CLOCK`` names an instant (RFC 3339 with an offset): the clock then *starts* at that
instant and runs at the normal pace, so timeouts and intervals behave as usual while the
calendar is the one a test chose. ``INSTANT@SECONDS`` anchors it: the instant held at that
operating-system time (Unix seconds), so processes started one after the other all run on the
same calendar instead of each starting it when it has loaded (``anchored``). Unit tests of pure
code pass a ``FixedClock`` explicitly.

The database's own ``now()`` is never compared with ours: an instant that a rule depends on
is passed to SQL as a parameter taken from this clock (under libfaketime, for instance, the
PostgreSQL server keeps the real date while the services see another one).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
ENV = "COMPTOIR_CLOCK"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class StartedClock:
    """Starts at ``start`` when created and runs at the pace of the monotonic clock."""

    start: datetime
    _origin: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        return (self.start + timedelta(seconds=time.monotonic() - self._origin)).astimezone(UTC)


@dataclass
class FixedClock:
    """A clock that moves only when told to (unit tests of pure code)."""

    at: datetime

    def now(self) -> datetime:
        return self.at.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.at = self.at + timedelta(**delta)


def parse_instant(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise ValueError(f"{ENV} needs an offset (RFC 3339), got {value!r}")
    return at


def anchored(at: datetime) -> str:
    """``COMPTOIR_CLOCK`` for processes to be started from now on, all on one calendar: ``at``
    now (the same instant as ``StartedClock(at)`` created now)."""
    return f"{at.isoformat()}@{time.time():.6f}"


def from_env(environ: dict[str, str] | None = None) -> Clock:
    value = (environ if environ is not None else os.environ).get(ENV, "").strip()
    if not value:
        return SystemClock()
    instant, _, anchor = value.partition("@")
    start = parse_instant(instant)
    if anchor:
        # the time that passed since the instant held, before this process started
        start += timedelta(seconds=max(0.0, time.time() - float(anchor)))
    return StartedClock(start)


_clock: Clock = from_env()


def install(clock: Clock) -> None:
    """Make ``clock`` the process's clock (a service at start, a test of in-process code)."""
    global _clock
    _clock = clock


def current() -> Clock:
    return _clock


def now() -> datetime:
    return _clock.now()


def today_paris() -> date:
    """The calendar date in Paris, where the network's periods and days are counted."""
    return _clock.now().astimezone(PARIS).date()
