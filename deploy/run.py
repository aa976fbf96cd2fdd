"""`make run`: start the messaging servers, the five services and the portal, seed the demo
network, print where everything is (and the portal's demo logins).

Runs in the foreground. The messaging servers (an SMTP sink and Kannel with its fake operator,
``deploy/messaging.py``) are started first, so that notifications finds them. Each service is
its own process (``python -m services.<name>``) that migrates its schema when it starts; this
supervisor only starts them, waits until each one's ``/ready`` answers 200, seeds the demo
through the back-office APIs and prints the addresses, the demo terminals and example commands.
Service logs (JSON lines) go to ``run/logs/<service>.log``; warnings and errors are echoed
here, everything with ``--follow``.

Ctrl-C or SIGTERM stops every service (SIGTERM, then SIGKILL after a grace period), then the
messaging servers, and exits 0. The supervisor owns them rather than the Makefile's recipe: a
SIGTERM to the whole process group (``timeout make run``, a closed terminal) kills the recipe's
shell before it could stop them. If a service dies on its own, the supervisor says so, stops
the others and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import shlex
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from deploy import messaging, seed
from shared import clock, db
from shared.settings import DEFAULT_PORTS, DEV_SMS_CALLBACK_TOKEN, Settings

ROOT = Path(__file__).resolve().parents[1]
SERVICES = tuple(DEFAULT_PORTS)  # terminals, cards, clearing, crm, notifications, portal
LOUD_LEVELS = {"warning", "error", "critical", "exception"}


def _say(msg: str) -> None:
    print(f"[run] {msg}", flush=True)


try:
    _LIBC: Any = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:
    _LIBC = None
PR_SET_PDEATHSIG = 1


def _set_pdeathsig() -> None:
    """In the child, before exec: die with SIGTERM if the supervisor itself is killed -9."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))


@dataclass
class Service:
    name: str
    port: int
    log_path: Path
    proc: asyncio.subprocess.Process | None = None
    offset: int = 0  # how much of the log the echo has read
    buffer: bytes = b""
    ready: bool = False
    exited: asyncio.Task[int] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def last_lines(self, n: int = 15) -> list[str]:
        """The end of the log, without the supervisor's own /ready polling."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(max(0, self.log_path.stat().st_size - 256 * 1024))
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return []
        return [line for line in lines if '"path":"/ready"' not in line][-n:]


class Supervisor:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.logs = Path(args.log_dir)
        self.services = [
            Service(
                name,
                args.base_port + i if args.base_port else DEFAULT_PORTS[name],
                self.logs / f"{name}.log",
            )
            for i, name in enumerate(SERVICES)
        ]
        self.stop_requested = asyncio.Event()
        self.signal_name = ""

    # --- start -----------------------------------------------------------------------------

    def _busy_ports(self) -> list[int]:
        ports = [s.port for s in self.services]
        if self.args.messaging:
            m = self.messaging_ports
            ports += [m.smtp, m.kannel_admin, m.kannel_box, m.kannel_smsc, m.sendsms]
        busy = []
        for port in ports:
            with socket.socket() as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    busy.append(port)
        return busy

    @property
    def messaging_ports(self) -> messaging.Ports:
        base = self.args.messaging_port_base
        return messaging.Ports.from_base(base) if base else messaging.Ports()

    def _service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def start_messaging(self) -> None:
        """The SMTP sink and Kannel, whose customers' SMS go to this run's notifications."""
        token = os.environ.get("COMPTOIR_SMS_CALLBACK_TOKEN", DEV_SMS_CALLBACK_TOKEN)
        mo = f"{self._service('notifications').url}/v1/sms/inbound?token={token}"
        ports = self.messaging_ports
        messaging.start(Path(self.args.messaging_dir), ports, mo)
        _say(
            f"SMTP sink on 127.0.0.1:{ports.smtp}, Kannel's sendsms on 127.0.0.1:{ports.sendsms} "
            f"(its fake operator); in {_rel(Path(self.args.messaging_dir))}/"
        )

    def stop_messaging(self) -> None:
        _say("stopping the SMTP sink and Kannel")
        messaging.stop(Path(self.args.messaging_dir))

    def _env(self, s: Service) -> dict[str, str]:
        env = dict(os.environ)
        # A developer's machine: the public development secrets are allowed (with a warning
        # in each service's log); a deployment never sets this (shared/production.py).
        env.setdefault("COMPTOIR_ENV", "development")
        if self.args.db_roles:
            # Each service on its own role, owner of its schema only (deploy/ensure-infra.sh).
            env["COMPTOIR_DATABASE_URL"] = db.service_role_url(Settings().database_url, s.name)
        if self.args.base_port:
            # Each service finds the others, and crm's links point at crm, on this run's ports
            # (the defaults are 8080-8084); what the environment sets is kept.
            for other in self.services:
                env.setdefault(f"COMPTOIR_{other.name.upper()}_URL", other.url)
            env.setdefault("COMPTOIR_PUBLIC_URL", self._service("crm").url)
        if s.name == "portal":
            # Plain HTTP on this machine: the session cookie goes without Secure, which only
            # COMPTOIR_ENV=development allows (a deployment is behind TLS).
            env.setdefault("COMPTOIR_PORTAL_URL", s.url)
            if env["COMPTOIR_ENV"] == "development":
                env.setdefault("COMPTOIR_PORTAL_SECURE_COOKIES", "false")
        if self.args.messaging_port_base:  # notifications sends to this run's servers
            env.setdefault("COMPTOIR_SMTP_PORT", str(self.messaging_ports.smtp))
            env.setdefault("COMPTOIR_SMS_SENDSMS_URL", self.messaging_ports.sendsms_url())
        env.update(
            {
                "COMPTOIR_PORT": str(s.port),
                "PYTHONPATH": str(ROOT)
                + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    async def start(self, s: Service) -> None:
        with s.log_path.open("wb") as log:
            s.proc = await asyncio.create_subprocess_exec(
                self.args.python,
                "-m",
                f"services.{s.name}",
                cwd=ROOT,
                env=self._env(s),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Ctrl-C reaches the supervisor only, which stops them in order.
                start_new_session=True,
                preexec_fn=_set_pdeathsig if _LIBC is not None else None,
            )
        s.exited = asyncio.create_task(s.proc.wait(), name=f"wait-{s.name}")

    async def wait_all_ready(self, session: aiohttp.ClientSession, deadline: float) -> None:
        """Poll each service's /ready until all answer 200; ServiceDied if one exits or is late."""
        last: dict[str, str] = {}
        while True:
            waiting = [s for s in self.services if not s.ready]
            if not waiting:
                return
            for s in waiting:
                if s.exited is not None and s.exited.done():
                    raise ServiceDied(s, f"{_exit_text(s.exited.result())} before it was ready")
                try:
                    timeout = aiohttp.ClientTimeout(total=2)
                    async with session.get(f"{s.url}/ready", timeout=timeout) as r:
                        if r.status == 200:
                            s.ready = True
                            _say(f"{s.name} ready on {s.url}")
                            continue
                        body = await r.json(content_type=None)
                        checks = body.get("checks", body) if isinstance(body, dict) else body
                        last[s.name] = f"HTTP {r.status} {json.dumps(checks, ensure_ascii=False)}"
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    last[s.name] = str(exc) or type(exc).__name__
            if time.monotonic() > deadline:
                s = next(s for s in self.services if not s.ready)
                raise ServiceDied(
                    s,
                    f"not ready after {self.args.ready_timeout:.0f} s "
                    f"(last /ready: {last.get(s.name, 'no answer')})",
                )
            await asyncio.sleep(0.3)

    # --- logs --------------------------------------------------------------------------------

    def _echo(self, s: Service, line: bytes) -> None:
        text = line.decode(errors="replace").rstrip()
        if not text:
            return
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict):  # a traceback or print: always worth showing
            print(f"{s.name:>13} | {text}", flush=True)
            return
        level = str(record.get("level", "info")).lower()
        if record.get("event") == "http_request" and record.get("path") == "/ready":
            return  # 503 while starting or stopping: the supervisor's own polling
        if self.args.follow or level in LOUD_LEVELS:
            event = record.get("event", "")
            rest = {
                k: v
                for k, v in record.items()
                if k not in ("event", "level", "timestamp", "service")
            }
            extra = " ".join(f"{k}={v}" for k, v in rest.items())
            print(f"{s.name:>13} | {level.upper():<7} {event} {extra}".rstrip(), flush=True)

    def drain_logs(self) -> None:
        """Echo what the services logged since the last call."""
        for s in self.services:
            try:
                with s.log_path.open("rb") as f:
                    f.seek(s.offset)
                    chunk = f.read()
            except OSError:
                continue
            s.offset += len(chunk)
            *lines, s.buffer = (s.buffer + chunk).split(b"\n")
            for line in lines:
                self._echo(s, line)

    async def echo_logs(self) -> None:
        while True:
            self.drain_logs()
            await asyncio.sleep(0.3)

    # --- stop --------------------------------------------------------------------------------

    async def stop_all(self) -> None:
        alive = [s for s in self.services if s.proc is not None and s.proc.returncode is None]
        if not alive:
            return
        _say(
            f"stopping {', '.join(s.name for s in alive)} (SIGTERM, {self.args.grace:.0f} s grace)"
        )
        for s in alive:
            with contextlib.suppress(ProcessLookupError):
                s.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        pending = {s.exited for s in alive if s.exited is not None}
        _, late = await asyncio.wait(pending, timeout=self.args.grace)
        for s in alive:
            if s.exited in late:
                _say(f"{s.name} did not stop in {self.args.grace:.0f} s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(s.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
        if late:
            await asyncio.wait(late, timeout=5)
        for s in alive:
            code = s.proc.returncode  # type: ignore[union-attr]
            if code not in (0, None, -signal.SIGTERM):
                _say(f"{s.name} {_exit_text(code)} (see {_rel(s.log_path)})")

    def on_signal(self, sig: signal.Signals) -> None:
        if self.stop_requested.is_set():
            return
        self.signal_name = sig.name
        self.stop_requested.set()

    # --- main --------------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.on_signal, sig)
        if self.args.messaging:
            # A previous run killed before it could stop them (kill -9): its pid files say so.
            messaging.stop(Path(self.args.messaging_dir))
        busy = self._busy_ports()
        if busy:
            _say(
                f"ERROR: port(s) {', '.join(map(str, busy))} already in use: another `make run` "
                "or a stray service? (`pgrep -af 'services\\.'`, `ss -ltnp`); or use --base-port "
                "(and --no-messaging if 2525 or 13100-13103 are another run's)"
            )
            return 1
        self.logs.mkdir(parents=True, exist_ok=True)
        for s in self.services:  # keep the previous run's log beside the new one
            if s.log_path.exists():
                s.log_path.replace(s.log_path.with_suffix(".log.1"))
        echo = asyncio.create_task(self.echo_logs(), name="echo-logs")
        try:
            code = await self._messaging_then_run()
        finally:
            await self.stop_all()
            if self.args.messaging:
                await asyncio.to_thread(self.stop_messaging)
            echo.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await echo
            self.drain_logs()
        _say(f"stopped (exit code {code})")
        return code

    async def _messaging_then_run(self) -> int:
        if self.args.messaging:
            try:
                await asyncio.to_thread(self.start_messaging)
            except (RuntimeError, OSError) as exc:
                _say(f"ERROR: the messaging servers did not start: {exc}")
                return 1
        return await self._run()

    async def _run(self) -> int:
        settings = Settings()
        _say(f"database {_redact(settings.database_url)}, broker {_redact(settings.amqp_url)}")
        _say(f"starting {', '.join(SERVICES)}; logs in {_rel(self.logs)}/")
        for s in self.services:
            await self.start(s)
        stop = asyncio.create_task(self.stop_requested.wait(), name="stop")

        async def until_stopped(coro: Any) -> bool:
            """Run coro unless a stop is asked first; True if it finished."""
            task = asyncio.ensure_future(coro)
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()  # raises what the step raised
                return True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return False

        started = time.monotonic()
        try:
            async with aiohttp.ClientSession() as session:
                deadline = started + self.args.ready_timeout
                ok = await until_stopped(self.wait_all_ready(session, deadline))
        except ServiceDied as exc:
            return self._died(exc.service, exc.reason)
        if not ok:
            _say(f"{self.signal_name} received during start-up")
            return 0
        _say(f"all {len(self.services)} services ready in {time.monotonic() - started:.1f} s")

        demo: dict[str, Any] | None = None
        if not self.args.no_seed:
            urls = {s.name: s.url for s in self.services}
            try:
                result: dict[str, Any] = {}

                async def do_seed() -> None:
                    result.update(await seed.seed(urls, demo_file=Path(self.args.demo_file)))

                if not await until_stopped(do_seed()):
                    return 0
                demo = result
                seed.write(demo, Path(self.args.demo_file))
            except (seed.SeedError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                _say(f"ERROR: seeding the demo network failed: {exc}")
                return 1
            if not self.args.no_card_demo and not await until_stopped(self.card_demo(demo)):
                return 0
        self.banner(demo)

        # Serve until asked to stop, or until a service dies.
        waits: dict[asyncio.Task[Any], Service] = {
            s.exited: s for s in self.services if s.exited is not None
        }
        done, _ = await asyncio.wait({stop, *waits}, return_when=asyncio.FIRST_COMPLETED)
        if stop in done:
            _say(f"{self.signal_name} received")
            return 0
        dead = next(waits[t] for t in done if t in waits)
        return self._died(dead, _exit_text(dead.exited.result()))  # type: ignore[union-attr]

    async def card_demo(self, demo: dict[str, Any]) -> None:
        """The chip-card demo (deploy/demo_cards.py); a machine without pcscd skips it."""
        _say("chip-card demo: a virtual card in the PC/SC reader, the terminal program offline")
        try:
            # Imported here: pyscard needs libpcsclite, which a services-only image may lack.
            from deploy.demo_cards import CardDemo

            card_demo = CardDemo(demo, seed.admin_token(), Settings().sync_line_port, ROOT / "run")
            await card_demo.run(lambda line: print(f"[demo] {line}", flush=True))
        except Exception as exc:  # the services run on; say why the demo stopped
            _say(f"chip-card demo stopped: {exc!r} (is pcscd running? bash deploy/pcscd.sh start)")

    def _died(self, s: Service, reason: str) -> int:
        _say(f"ERROR: {s.name} {reason}. Last lines of {_rel(s.log_path)}:")
        for line in s.last_lines():
            print(f"    {line}", flush=True)
        return 1

    def banner(self, demo: dict[str, Any] | None) -> None:
        cli = f"{shlex.quote(_rel(Path(self.args.python)))} -m deploy.cli"
        apis = {
            "terminals": "POST /v1/sales|redemptions|returns|enrolments (signed), PUT /v1/terminals/{id}",
            "cards": "admin API: /openapi.json, docs/admin-api.md",
            "clearing": "statements, exports, period close, settlement files: docs/clearing.md",
            "crm": "GET /v1/customers/{account_id}",
            "notifications": "GET /v1/messages?account_id=…, /v1/statement-notices: docs/messages.md",
            "portal": "sign in with a browser: the demo logins below; docs/access.md",
        }
        out = ["", "Comptoir is running. Services (each has /health, /ready and /metrics):"]
        for s in self.services:
            out.append(f"  {s.name:<14} {s.url:<24} {apis[s.name]}")
            out.append(f"  {'':<14} {s.url}/health  {s.url}/ready  {s.url}/metrics")
        token = os.environ.get("COMPTOIR_ADMIN_TOKEN")
        out.append(
            "Back-office calls take 'Authorization: Bearer <COMPTOIR_ADMIN_TOKEN>'"
            + ("." if token else " (not set: the default dev-admin-token).")
        )
        out.append(f"Logs: {_rel(self.logs)}/<service>.log (JSON lines)")
        where = Path(self.args.messaging_dir)
        listing = f"{shlex.quote(_rel(Path(self.args.python)))} -m deploy.messaging list" + (
            "" if where == messaging.DEFAULT_DIR else f" --dir {shlex.quote(_rel(where))}"
        )
        if self.args.messaging:
            out.append(
                f"Messages sent: e-mails to the SMTP sink on 127.0.0.1:{self.messaging_ports.smtp}"
                f" (kept in {_rel(where / 'mail')}/*.eml), SMS to Kannel's fake operator "
                f"({_rel(where / 'kannel' / 'fakesmsc.log')}); list them: {listing}"
            )
        if demo is not None:
            a = demo["association"]
            out.append("")
            out.append(
                f"Demo network: {a['name']} ({a['id']}), rates per merchant, network taux client "
                f"{a['taux_client_bps']} bp, taux UC {a['taux_uc_bps']} bp"
            )
            portal = self._service("portal").url
            out.append(f"Portal: {portal}/sign-in — demo logins (generated on this machine):")
            out += [f"  {line}" for line in seed.login_lines(demo)]
            out.append(f"Demo terminals (credentials in {_rel(Path(self.args.demo_file))}):")
            for name, t in demo["terminals"].items():
                rate = f"{t['taux_client_bps']} bp" + (
                    " (network rate)" if t["uses_network_rate"] else ""
                )
                out.append(f"  {name:<12} {t['merchant']:<22} taux client {rate}")
                out.append(f"  {'':<12} terminal {t['id']}  (its secret: in the file above)")
            out += [
                "",
                "Try it (in another terminal, from the repository root):",
                f"  {cli} sale --terminal bistrot --phone '06 12 34 56 78' --amount 24.60",
                f"  {cli} redeem --terminal boulangerie --phone 0612345678 --amount 1.00",
                f"  {cli} account --phone 0612345678",
                f"  {cli} pivot",
                f"  {cli} customer --phone 0612345678",
                f"  {cli} enrol --terminal fleuriste --phone 0698765432 --email claire@example.org",
            ]
            if self.args.messaging:
                out.append(f"  {listing}   # the link Claire got to complete her details")
            for card in demo.get("cards", {}).values():
                out.append(
                    f"  {cli} sale --terminal librairie --card {card['number']} --amount 20 "
                    f"--family livres   # {card['holder']}'s card"
                )
            out += [
                f"  curl -s -H 'Authorization: Bearer {token or 'dev-admin-token'}' "
                f"{self.services[2].url}/v1/associations/{a['id']}/balances",
                "The month's statements so far (provisional until the month is closed), the "
                "boulangerie's as Excel:",
                f"  curl -s -H 'Authorization: Bearer {token or 'dev-admin-token'}' "
                f"{self.services[2].url}/v1/associations/{a['id']}/statements/"
                f"{clock.today_paris():%Y-%m}",
                f"  curl -s -o releve.xlsx -H 'Authorization: Bearer {token or 'dev-admin-token'}' "
                f"{self.services[2].url}/v1/merchants/{demo['terminals']['boulangerie']['merchant_id']}/statements/"
                f"{clock.today_paris():%Y-%m}.xlsx",
                "",
                "The offline terminal (docs/terminal-protocol.md; sync sessions over HTTP and over "
                f"the line on 127.0.0.1:{Settings().sync_line_port}):",
                "  .venv/bin/python -m shared.card sam &    # the SAM, in the reader's second slot",
                "  .venv/bin/python -m shared.card insert run/cards/<number>.json &   # a card",
                "  .venv/bin/python -m terminal run --dir run/terminals/librairie",
            ]
        out += ["", "Ctrl-C stops everything.", ""]
        print("\n".join(out), flush=True)


class ServiceDied(Exception):
    def __init__(self, service: Service, reason: str) -> None:
        super().__init__(reason)
        self.service = service
        self.reason = reason


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _rel(p: Path) -> str:
    """A path under the repository relative to it (what to type from the repository root)."""
    try:
        return str(p.absolute().relative_to(ROOT))
    except ValueError:
        return str(p)


def _redact(url: str) -> str:
    """The URL without its password."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    cred, host = rest.rsplit("@", 1)
    user = cred.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m deploy.run", description="Run Comptoir locally (make run)."
    )
    p.add_argument(
        "--python",
        default=str(ROOT / ".venv" / "bin" / "python"),
        help="interpreter for the services (default: %(default)s)",
    )
    p.add_argument("--log-dir", default=str(ROOT / "run" / "logs"), help="default: %(default)s")
    p.add_argument("--demo-file", default=str(seed.DEFAULT_OUT), help="default: %(default)s")
    p.add_argument(
        "--base-port",
        type=int,
        default=0,
        help="ports base..base+5 instead of 8080-8085 (in the order terminals, cards, "
        "clearing, crm, notifications, portal)",
    )
    p.add_argument(
        "--ready-timeout", type=float, default=60.0, help="seconds (default: %(default)s)"
    )
    p.add_argument(
        "--grace",
        type=float,
        default=15.0,
        help="seconds between SIGTERM and SIGKILL at shutdown (default: %(default)s)",
    )
    p.add_argument("--no-seed", action="store_true", help="do not seed the demo network")
    p.add_argument(
        "--no-db-roles",
        dest="db_roles",
        action="store_false",
        help="connect every service with COMPTOIR_DATABASE_URL's own role instead of its "
        "comptoir_<service> role (created by deploy/ensure-infra.sh)",
    )
    p.add_argument(
        "--no-card-demo", action="store_true", help="skip the chip-card and offline terminal demo"
    )
    p.add_argument(
        "--follow", action="store_true", help="echo every service log line, not only warnings"
    )
    p.add_argument(
        "--no-messaging",
        dest="messaging",
        action="store_false",
        help="do not start the SMTP sink and Kannel (COMPTOIR_SMTP_HOST and "
        "COMPTOIR_SMS_SENDSMS_URL point at servers of yours)",
    )
    p.add_argument(
        "--messaging-port-base",
        type=int,
        default=0,
        help="the SMTP sink on this port and Kannel's four on the next ones, instead of 2525 "
        "and 13100-13103",
    )
    p.add_argument(
        "--messaging-dir",
        default=str(messaging.DEFAULT_DIR),
        help="where the sink keeps e-mails and Kannel its logs (default: %(default)s)",
    )
    args = p.parse_args(argv)
    if not Path(args.python).exists():
        print(
            f"[run] ERROR: {args.python} not found: run deploy/ensure-infra.sh (or `make run`)",
            file=sys.stderr,
        )
        return 1
    try:
        return asyncio.run(Supervisor(args).run())
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        return 130


if __name__ == "__main__":
    sys.exit(main())
