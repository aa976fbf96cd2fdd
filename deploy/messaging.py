"""The messaging servers the project starts: an SMTP sink (aiosmtpd) and Kannel with its fake
SMSC. ``make run`` starts and stops them (``deploy/run.py``; ``deploy/messaging.sh`` by hand);
the test suite starts the same Kannel (``Kannel``) and an in-process aiosmtpd
(tests/messaging.py).

    python -m deploy.messaging start [--dir run/messaging]   the sink and Kannel, detached
    python -m deploy.messaging stop | status
    python -m deploy.messaging list [--mail | --sms] [-n 20]  what they received
    python -m deploy.messaging mo +33612345678 STOP           a customer's SMS to us (MO)
    python -m deploy.messaging smtp-sink --dir D --port P     the sink alone, in the foreground

Kannel is three processes: bearerbox (the switch), smsbox (the ``sendsms`` HTTP interface
notifications calls, and the MO and delivery-report callbacks it makes) and fakesmsc
(kannel-extras' fake operator: it prints every SMS it receives, answers each with a delivery
report, and sends what it reads on its standard input as a customer's SMS). Its standard input
is a FIFO opened read-write, so that it never sees an end of file and ``mo`` can write to it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from deploy.smtp_sink import mail_received, run_smtp_sink

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "run" / "messaging"
BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
# kannel-extras installs the fake SMSC among Kannel's test programs, not on PATH.
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
SENDSMS_USER = "comptoir"
# A development password: smsbox listens on 127.0.0.1 only, and a deployment sets its own.
SENDSMS_PASSWORD = "comptoir-dev-sendsms"
SHORT_CODE = "38000"  # the number customers answer STOP to (the fake operator's)


@dataclass(frozen=True)
class Ports:
    smtp: int = 2525
    kannel_admin: int = 13100
    kannel_box: int = 13101
    kannel_smsc: int = 13102
    sendsms: int = 13103

    @classmethod
    def from_base(cls, base: int) -> Ports:
        return cls(base, base + 1, base + 2, base + 3, base + 4)

    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms}/cgi-bin/sendsms"


def kannel_conf(
    ports: Ports,
    directory: Path,
    mo_url: str,
    listen: str = "127.0.0.1",
    password: str = SENDSMS_PASSWORD,
) -> str:
    """bearerbox's and smsbox's configuration. ``mo_url``: where smsbox hands a customer's SMS
    (notifications' inbound route; %p the sender, %P the receiver, %a the text, %t the time)."""
    return f"""group = core
admin-port = {ports.kannel_admin}
admin-password = {password}
admin-allow-ip = "127.0.0.1"
smsbox-port = {ports.kannel_box}
box-allow-ip = "127.0.0.1"
log-file = "{directory / "bearerbox.log"}"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {ports.kannel_smsc}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports.kannel_box}
sendsms-port = {ports.sendsms}
sendsms-interface = {listen}
log-file = "{directory / "smsbox.log"}"
log-level = 1
mo-recode = true

group = sendsms-user
username = {SENDSMS_USER}
password = {password}
concatenation = true
max-messages = 10

group = sms-service
keyword = default
catch-all = true
# No automatic answer to a customer's SMS: notifications decides what to do with it.
max-messages = 0
get-url = "{mo_url}&from=%p&to=%P&text=%a&at=%t"
"""


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not port_open(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} does not listen on 127.0.0.1:{port}")
        time.sleep(0.1)


def _real_time_env() -> dict[str, str]:
    """Kannel is a server of the machine, like PostgreSQL: it keeps the real time even when
    started by a suite under libfaketime (make test-dates)."""
    env = dict(os.environ)
    for name in ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_RESET"):
        env.pop(name, None)
    return env


class Kannel:
    """bearerbox, the fake SMSC and smsbox, started in that order in ``directory``."""

    def __init__(
        self,
        directory: Path,
        ports: Ports,
        mo_url: str,
        detach: bool = False,
        listen: str = "127.0.0.1",
        password: str = SENDSMS_PASSWORD,
    ) -> None:
        self.listen = listen
        self.password = password
        self.dir = directory
        self.ports = ports
        self.mo_url = mo_url
        self.detach = detach
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def fifo(self) -> Path:
        return self.dir / "mo.fifo"

    @property
    def smsc_log(self) -> Path:
        return self.dir / "fakesmsc.log"

    def _spawn(self, name: str, argv: list[str], stdin: int | None = None) -> None:
        # fakesmsc logs what it receives on its standard error, with the rest of its log.
        log = self.smsc_log if name == "fakesmsc" else self.dir / f"{name}.out"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=_real_time_env(),
                start_new_session=self.detach,
            )
        self.procs.append(proc)
        if self.detach:
            (self.dir / f"{name}.pid").write_text(str(proc.pid))

    def start(self) -> None:
        for binary in (BEARERBOX, SMSBOX, FAKESMSC):
            if not binary.exists():
                raise RuntimeError(f"{binary} is missing: apt-get install kannel kannel-extras")
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "kannel.conf"
        conf.write_text(kannel_conf(self.ports, self.dir, self.mo_url, self.listen, self.password))
        self._spawn("bearerbox", [str(BEARERBOX), "-v", "1", str(conf)])
        wait_port(self.ports.kannel_smsc, "bearerbox's fake SMSC")
        if not self.fifo.exists():
            os.mkfifo(self.fifo)
        fd = os.open(self.fifo, os.O_RDWR)  # read-write: never an end of file
        try:
            smsc = [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(self.ports.kannel_smsc)]
            self._spawn("fakesmsc", [*smsc, "-i", "0", "-m", "-1"], stdin=fd)
        finally:
            os.close(fd)
        self._spawn("smsbox", [str(SMSBOX), "-v", "1", str(conf)])
        wait_port(self.ports.sendsms, "smsbox's sendsms")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def send_mo(directory: Path, sender: str, text: str, receiver: str = SHORT_CODE) -> None:
    """A customer's SMS, as the operator hands it to Kannel (fakesmsc's line format)."""
    line = f"{sender} {receiver} text {text}\n".encode()
    fd = os.open(directory / "mo.fifo", os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Sms:
    sender: str
    to: str
    text: str


def _octets(kind: str, data: str) -> bytes:
    """fakesmsc's encodings: ``text`` as is, the others URL-encoded with ``+`` for a space."""
    if kind == "text":
        return data.encode()
    return urllib.parse.unquote_to_bytes(data.replace("+", "%20"))


def _decode_sms(kind: str, raw: bytes) -> str:
    """A part of a concatenated SMS says ``data`` whatever its coding: UCS-2 is recognised by
    its high bytes (a listing's guess, good enough for the Latin scripts of a shop's messages);
    a GSM 7-bit text is Kannel's own, in the UTF-8 notifications gives it (``é`` is %C3%A9 in
    the log), Latin-1 for one that is not UTF-8."""
    if kind == "ucs-2" or (kind != "text" and len(raw) % 2 == 0 and raw and 0 in raw[0::2]):
        return raw.decode("utf-16-be", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def sms_received(log: Path) -> list[Sms]:
    """The SMS the fake operator received, oldest first (its lines ``Got message N: <from to
    type text>``); the parts of a concatenated SMS (``udh`` with its 8-bit reference, total and
    number) are joined into one once all have come, and decoded whole (a part may end in the
    middle of a character)."""
    found: list[Sms] = []
    pending: dict[tuple[str, str, int], dict[int, tuple[str, bytes]]] = {}
    if not log.exists():
        return found
    for line in log.read_text(errors="replace").splitlines():
        _, sep, rest = line.partition("Got message ")
        if not sep or ": <" not in rest:
            continue
        fields = rest.split(": <", 1)[1].removesuffix(">").split(" ")
        if len(fields) >= 6 and fields[2] == "udh":
            udh = urllib.parse.unquote_to_bytes(fields[3])
            part = (fields[4], _octets(fields[4], " ".join(fields[5:])))
            if len(udh) >= 6 and udh[1] == 0:  # IEI 0: concatenation, 8-bit reference
                key = (fields[0], fields[1], udh[3])
                parts = pending.setdefault(key, {})
                parts[udh[5]] = part
                if len(parts) == udh[4]:
                    raw = b"".join(parts[i][1] for i in sorted(parts))
                    found.append(Sms(fields[0], fields[1], _decode_sms(parts[min(parts)][0], raw)))
                    del pending[key]
                continue
            found.append(Sms(fields[0], fields[1], _decode_sms(*part)))
        elif len(fields) >= 4:
            kind = fields[2]
            text = _decode_sms(kind, _octets(kind, " ".join(fields[3:])))
            found.append(Sms(fields[0], fields[1], text))
    return found


# --- the daemons of `make run` ----------------------------------------------------------------


def _pids(directory: Path) -> dict[str, int]:
    pids = {}
    for name in ("smtp-sink", "bearerbox", "fakesmsc", "smsbox"):
        with contextlib.suppress(OSError, ValueError):
            pid = int((directory / f"{name}.pid").read_text())
            os.kill(pid, 0)
            pids[name] = pid
    return pids


def start(directory: Path, ports: Ports, mo_url: str) -> None:
    if _pids(directory):
        stop(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "smtp-sink.out").open("ab") as out:
        sink = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deploy.messaging",
                "smtp-sink",
                "--dir",
                str(directory / "mail"),
                "--port",
                str(ports.smtp),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    (directory / "smtp-sink.pid").write_text(str(sink.pid))
    Kannel(directory / "kannel", ports, mo_url, detach=True).start()
    for name in ("bearerbox", "fakesmsc", "smsbox"):
        (directory / f"{name}.pid").write_text((directory / "kannel" / f"{name}.pid").read_text())
    wait_port(ports.smtp, "the SMTP sink")


def stop(directory: Path) -> None:
    for name, pid in reversed(_pids(directory).items()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            # Started by this very process (make run's supervisor): reaped here, or it would
            # linger as a zombie that signal 0 still finds.
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        (directory / f"{name}.pid").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.messaging", description=__doc__)
    p.add_argument(
        "command", choices=["start", "stop", "status", "list", "mo", "smtp-sink", "kannel"]
    )
    p.add_argument("args", nargs="*")
    p.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    p.add_argument("--port", type=int, default=Ports().smtp)
    p.add_argument("--notifications-url", default="http://127.0.0.1:8084")
    p.add_argument("--token", default=os.environ.get("COMPTOIR_SMS_CALLBACK_TOKEN", "dev-sms"))
    p.add_argument("--listen", default="127.0.0.1", help="the sink's or sendsms' interface")
    p.add_argument("--mail", action="store_true")
    p.add_argument("--sms", action="store_true")
    p.add_argument("-n", type=int, default=20, help="the last N of each (default: %(default)s)")
    a = p.parse_args(argv)
    if a.command == "smtp-sink":
        run_smtp_sink(a.dir, a.port, a.listen)
    elif a.command == "kannel":  # in the foreground until SIGTERM (the Compose service)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        mo = f"{a.notifications_url}/v1/sms/inbound?token={a.token}"
        password = os.environ.get("COMPTOIR_SMS_PASSWORD", SENDSMS_PASSWORD)
        kannel = Kannel(a.dir, Ports(), mo, listen=a.listen, password=password)
        kannel.start()
        try:
            signal.sigwait({signal.SIGTERM, signal.SIGINT})
        finally:
            kannel.stop()
    elif a.command == "start":
        mo = f"{a.notifications_url}/v1/sms/inbound?token={a.token}"
        start(a.dir, Ports(), mo)
    elif a.command == "stop":
        stop(a.dir)
    elif a.command == "status":
        running = _pids(a.dir)
        print(" ".join(f"{k}={v}" for k, v in running.items()) or "not running")
        return 0 if len(running) == 4 else 1
    elif a.command == "mo":
        if len(a.args) < 2:
            p.error("mo NUMBER TEXT...")
        send_mo(a.dir / "kannel", a.args[0], " ".join(a.args[1:]))
    else:
        both = not (a.mail or a.sms)
        if a.mail or both:
            mails = mail_received(a.dir / "mail")
            print(f"E-mails received by the SMTP sink ({len(mails)}, in {a.dir / 'mail'}):")
            for path, sender, to, subject in mails[-a.n :]:
                print(f"  {path.name}  {sender} -> {to}: {subject}")
        if a.sms or both:
            sms = sms_received(a.dir / "kannel" / "fakesmsc.log")
            print(f"SMS received by Kannel's fake operator ({len(sms)}):")
            for s in sms[-a.n :]:
                print(f"  {s.sender} -> {s.to}: {s.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
