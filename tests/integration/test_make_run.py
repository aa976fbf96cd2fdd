"""`make run`'s supervisor (deploy/run.py) owns the messaging servers: it starts the SMTP sink
and Kannel before the services, and a SIGTERM to its whole process group (what `timeout make
run` or a closed terminal sends, which kills the Makefile recipe's shell at once) or Ctrl-C's
SIGINT stops the services and then them, leaving no sink, bearerbox, smsbox or fake operator
behind.

The services are given a database and a broker that do not answer: they never become ready, so
they touch nothing of the suite's, and the signal comes while the supervisor waits for them."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.messaging import Ports
from tests import harness


def _open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone as far as the servers go (its parent, the supervisor, has exited).
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def _supervisor(tmp: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(harness.ROOT),
        "COMPTOIR_ENV": "development",
        "COMPTOIR_DATABASE_URL": "postgresql://nobody:x@127.0.0.1:9/none",
        "COMPTOIR_AMQP_URL": "amqp://nobody:x@127.0.0.1:9/none",
        "COMPTOIR_SYNC_LINE_PORT": str(harness.BASE_PORT + 57),
    }
    args = [
        sys.executable,
        "-m",
        "deploy.run",
        "--python",
        sys.executable,
        "--base-port",
        str(harness.BASE_PORT + 50),
        "--messaging-port-base",
        str(harness.BASE_PORT + 60),
        "--messaging-dir",
        str(tmp / "messaging"),
        "--log-dir",
        str(tmp / "logs"),
        "--demo-file",
        str(tmp / "demo.json"),
        "--no-db-roles",
        "--ready-timeout",
        "120",
        "--grace",
        "5",
    ]
    with out.open("wb") as f:
        # Its own process group, as make's under a terminal or `timeout`.
        return subprocess.Popen(
            args,
            cwd=harness.ROOT,
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])  # timeout; Ctrl-C
async def test_a_signal_to_make_runs_group_stops_the_services_and_the_messaging_servers(
    sig: signal.Signals, tmp_path: Path
) -> None:
    ports = Ports.from_base(harness.BASE_PORT + 60)
    out = tmp_path / "run.out"
    proc = _supervisor(tmp_path, out)
    pids: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 30
        names = ("smtp-sink", "bearerbox", "fakesmsc", "smsbox")
        while not (
            all((tmp_path / "messaging" / f"{n}.pid").exists() for n in names)
            and _open(ports.smtp)
            and _open(ports.sendsms)
            and "starting terminals" in out.read_text()
        ):
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, f"no messaging servers: {out.read_text()}"
            await asyncio.sleep(0.2)
        pids = {n: int((tmp_path / "messaging" / f"{n}.pid").read_text()) for n in names}
        assert all(_alive(p) for p in pids.values()), pids
        os.killpg(proc.pid, sig)
        assert await asyncio.to_thread(proc.wait, 60) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    said = out.read_text()
    assert "stopping the SMTP sink and Kannel" in said, said
    left = {n: p for n, p in pids.items() if _alive(p)}
    assert not left, f"left running: {left}\n{said}"
    assert not _open(ports.smtp) and not _open(ports.sendsms)
