"""The one clock (shared/clock.py): a process's calendar can be chosen (COMPTOIR_CLOCK), and no
code but the clock reads the wall clock."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared import clock

ROOT = Path(__file__).resolve().parents[2]
# Every way Python code reads calendar time. bench/ is left out: it measures against the
# operating system's and PostgreSQL's clocks (a process's creation time, clock_timestamp()).
WALL_CLOCK = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|\btime\.time\(\)")


def test_a_started_clock_starts_at_its_instant_and_runs() -> None:
    start = datetime(2027, 1, 1, 0, 30, tzinfo=clock.PARIS)
    c = clock.StartedClock(start)
    first = c.now()
    assert first.tzinfo is UTC
    assert timedelta(0) <= first - start < timedelta(seconds=5)
    time.sleep(0.05)
    assert c.now() - first >= timedelta(seconds=0.05)


def test_comptoir_clock_chooses_the_calendar_and_its_absence_is_the_system_clock() -> None:
    chosen = clock.from_env({clock.ENV: "2028-02-29T12:00:00+01:00"})
    assert chosen.now().astimezone(clock.PARIS).date() == date(2028, 2, 29)
    assert isinstance(clock.from_env({}), clock.SystemClock)
    assert isinstance(clock.from_env({clock.ENV: "  "}), clock.SystemClock)


def test_a_comptoir_clock_without_an_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        clock.from_env({clock.ENV: "2028-02-29T12:00:00"})


def test_today_in_paris_is_not_the_utc_date_around_midnight() -> None:
    previous = clock.current()
    try:
        clock.install(clock.FixedClock(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)))
        assert clock.today_paris() == date(2027, 1, 1)
        assert clock.now().date() == date(2026, 12, 31)
        # The night the clocks go back: 02:30 happens twice in Paris, an hour apart in UTC.
        clock.install(clock.FixedClock(datetime(2027, 10, 31, 1, 30, tzinfo=UTC)))
        assert clock.now().astimezone(clock.PARIS).strftime("%H:%M%z") == "02:30+0100"
        assert clock.today_paris() == date(2027, 10, 31)
    finally:
        clock.install(previous)


def test_no_code_reads_the_wall_clock_but_the_clock() -> None:
    readers = []
    for top in ("services", "shared", "deploy", "tests"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path == ROOT / "shared" / "clock.py" or path == Path(__file__).resolve():
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if WALL_CLOCK.search(line):
                    readers.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert readers == []


def test_an_anchored_clock_counts_the_time_since_its_anchor_so_processes_agree() -> None:
    at = datetime(2031, 5, 20, 10, 0, tzinfo=clock.PARIS)
    value = clock.anchored(at)
    instant, anchor = value.split("@")
    assert clock.parse_instant(instant) == at
    # A process started 13 s after the anchor runs 13 s ahead of ``at``, as the first did.
    late = f"{instant}@{float(anchor) - 13}"
    ahead = clock.from_env({clock.ENV: late}).now() - at
    assert timedelta(seconds=13) <= ahead < timedelta(seconds=18)
    on_time = clock.from_env({clock.ENV: value}).now() - at
    assert timedelta(0) <= on_time < timedelta(seconds=5)
    # Unanchored, the calendar starts when the process does.
    assert clock.from_env({clock.ENV: instant}).now() - at < timedelta(seconds=5)
