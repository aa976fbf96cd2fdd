"""The front desk: a line-oriented program in French or English over ``Terminal``, the
nightly and manual syncs, and the online identification of a cardless customer by phone or
e-mail.

    python -m terminal setup --dir DIR --terminal-id ID --secret S \\
        --gateway http://127.0.0.1:8080 [--line 127.0.0.1:8070] [--lang fr]
    python -m terminal run --dir DIR
"""

from __future__ import annotations

import asyncio
import random
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO
from uuid import UUID

import aiohttp

from shared import clock
from shared.client import TerminalClient
from shared.rules import wording
from shared.sync.client import HttpTransport, LineTransport, SyncClient, SyncReport
from terminal import i18n
from terminal.adapters.journal import Fill, Journal
from terminal.i18n import Lang, euros, parse_euros, say
from terminal.terminal import Recorded, Refused, Terminal

SOFTWARE = "comptoir-terminal/1"


async def sync(journal: Journal, transport: str = "ip") -> SyncReport:
    """One sync session over IP (HTTP) or the line (TCP with modem framing)."""
    terminal_id = UUID(journal.get("terminal_id"))
    secret = str(journal.get("secret"))
    if transport == "line":
        host, _, port = str(journal.get("line")).rpartition(":")
        link: HttpTransport | LineTransport = LineTransport(host, int(port), terminal_id, secret)
    else:
        link = HttpTransport(str(journal.get("gateway")), terminal_id, secret)
    try:
        report = await SyncClient(link, software=SOFTWARE).run(journal)
    finally:
        await link.aclose()
    if report.ok:
        journal.set(last_sync_at=clock.now().astimezone().isoformat())
    return report


def next_nightly(now: datetime, hour: int, minute: int, jitter_s: int) -> datetime:
    """The next nightly sync: at hour:minute local time, spread by up to ``jitter_s`` so a
    network's terminals do not all call at the same second."""
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= now:
        at += timedelta(days=1)
    return at + timedelta(seconds=random.randint(0, jitter_s))


@dataclass
class Desk:
    """The front-desk program's state; ``handle`` runs one typed line and returns what the
    screen shows (tests drive it directly, the REPL reads stdin)."""

    terminal: Terminal
    lang: Lang
    next_sync: datetime | None = None

    @property
    def journal(self) -> Journal:
        return self.terminal.journal

    async def handle(self, line: str) -> list[str]:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            return [say(self.lang, "bad_input", detail=str(exc))]
        if not words:
            return []
        command, args = words[0].lower(), words[1:]
        action = _COMMANDS.get(command)
        if action is None:
            return [say(self.lang, "unknown_command", command=command)]
        try:
            return await action(self, args)
        except Refused as exc:
            fields = dict(exc.fields)
            if isinstance(fields.get("available"), int):
                fields["available"] = euros(fields["available"], self.lang)
            return [say(self.lang, exc.code, **fields)]
        except ValueError as exc:
            return [say(self.lang, "bad_input", detail=str(exc))]

    async def card(self, _: list[str]) -> list[str]:
        v = self.terminal.read_card()
        out = [
            say(
                self.lang,
                "card",
                number=v.number,
                available=euros(v.available, self.lang),
                pending=euros(v.pending, self.lang),
                visits=v.visits,
            )
        ]
        if v.units:
            out.append(say(self.lang, "card_units", units=v.units))
        if v.expires_on:
            out.append(say(self.lang, "card_expires", date=v.expires_on.isoformat()))
        return out

    async def sale(self, args: list[str]) -> list[str]:
        if not args:
            raise ValueError("amount?")
        amount = parse_euros(args[0])
        family, quantity = None, 1
        for a in args[1:]:
            if a[:1] in ("x", "×") and a[1:].isdigit():
                quantity = int(a[1:])
            else:
                family = a
        done = self.terminal.sale(amount, family, quantity)
        t = done.transaction
        out = [
            say(
                self.lang,
                "sale_done",
                amount=euros(t.amount_cents, self.lang),
                reward=euros(t.reward_cents, self.lang),
                available=euros(t.available_after, self.lang),
                pending=euros(t.pending_after, self.lang),
                visits=t.visits_after,
            )
        ]
        lang = self.lang
        reader = wording.Reader(money=lambda cents: euros(cents, lang))
        out += [
            say(lang, "sale_reason", detail=wording.refusal(r, lang, reader)) for r in done.reasons
        ]
        return out + self._fill(done)

    async def redeem(self, args: list[str]) -> list[str]:
        if not args:
            raise ValueError("amount or 'all'?")
        amount = None if args[0].lower() in ("tout", "all") else parse_euros(args[0])
        done = self.terminal.redeem(amount)
        t = done.transaction
        return [
            say(
                self.lang,
                "redeem_done",
                amount=euros(t.amount_cents, self.lang),
                available=euros(t.available_after, self.lang),
            ),
            *self._fill(done),
        ]

    async def phone(self, args: list[str]) -> list[str]:
        """A cardless customer, named by their phone or the e-mail address they enrolled with:
        the sale goes online to the gateway, which knows the account."""
        if len(args) < 2:
            raise ValueError("phone (or e-mail) and amount?")
        email = args[0] if "@" in args[0] else None
        self.terminal.configuration()
        amount = parse_euros(args[1])
        family = args[2] if len(args) > 2 else None
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
                client = TerminalClient(
                    s,
                    str(self.journal.get("gateway")),
                    str(self.journal.get("terminal_id")),
                    str(self.journal.get("secret")),
                )
                r = await client.sale(None if email else args[0], amount, family, email=email)
        except (aiohttp.ClientError, TimeoutError):
            return [say(self.lang, "offline")]
        if r.status == 201:
            return [
                say(
                    self.lang,
                    "phone_sale_done",
                    amount=euros(amount, self.lang),
                    phone=r.body["account_id"] and args[0],
                    reward=euros(r.body["reward_cents"], self.lang),
                    available=euros(r.body["balance_cents"], self.lang),
                )
            ]
        if r.status == 202:
            return [say(self.lang, "phone_sale_pending", status=r.status)]
        detail = r.body.get("detail") if isinstance(r.body, dict) else r.status
        return [say(self.lang, "refused_online", detail=detail)]

    async def anonymous(self, args: list[str]) -> list[str]:
        """A sale without a member (no card, no phone), sent online for the statistics: what
        lets them know the members' share of the shop's revenue. Offline, it is not kept."""
        if not args:
            raise ValueError("amount?")
        self.terminal.configuration()
        amount = parse_euros(args[0])
        family = args[1] if len(args) > 1 else None
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
                client = TerminalClient(
                    s,
                    str(self.journal.get("gateway")),
                    str(self.journal.get("terminal_id")),
                    str(self.journal.get("secret")),
                )
                r = await client.anonymous_sale(amount, family)
        except (aiohttp.ClientError, TimeoutError):
            return [say(self.lang, "anonymous_offline")]
        if r.status == 201:
            return [say(self.lang, "anonymous_done", amount=euros(amount, self.lang))]
        detail = r.body.get("detail") if isinstance(r.body, dict) else r.status
        return [say(self.lang, "refused_online", detail=detail)]

    async def sync(self, args: list[str]) -> list[str]:
        return (await self.sync_once("line" if args and args[0] in ("ligne", "line") else "ip"))[1]

    async def sync_once(self, transport: str = "ip") -> tuple[bool, list[str]]:
        try:
            report = await sync(self.journal, transport)
        except Exception as exc:  # the screen says why; the journal keeps everything
            return False, [say(self.lang, "sync_failed", detail=str(exc) or type(exc).__name__)]
        if not report.ok:
            detail = report.error or "?"
            if report.failures:
                detail += f" ({', '.join(report.failures[-3:])})"
            return False, [say(self.lang, "sync_failed", detail=detail)]
        return True, [
            say(
                self.lang,
                "sync_done",
                sent=report.sent,
                params=self.journal.get("params_version", 0),
                blacklist=self.journal.get("blacklist_version", 0),
            )
        ]

    async def status(self, _: list[str]) -> list[str]:
        fill = self.journal.fill()
        conf = self.journal.get("configuration") or {}
        return [
            say(
                self.lang,
                "status",
                terminal=self.journal.get("terminal_id"),
                label=conf.get("label", "?"),
                pending=fill.pending,
                capacity=fill.capacity,
                params=self.journal.get("params_version", 0),
                blacklist=self.journal.get("blacklist_version", 0),
                next_sync=self.next_sync.strftime("%Y-%m-%d %H:%M") if self.next_sync else "-",
            )
        ]

    async def history(self, _: list[str]) -> list[str]:
        return [
            f"#{t.seq} {t.occurred_at:%Y-%m-%d %H:%M} {t.kind} {t.card_number} "
            f"{euros(t.amount_cents, self.lang)} {'✓' if committed else '…'}"
            for t, committed in self.journal.recent()
        ]

    async def language(self, args: list[str]) -> list[str]:
        if not args or args[0] not in i18n.LANGS:
            raise ValueError("fr | en")
        self.lang = args[0]
        self.journal.set(lang=self.lang)
        return [say(self.lang, "help")]

    async def help(self, _: list[str]) -> list[str]:
        return [say(self.lang, "help")]

    def _fill(self, done: Recorded) -> list[str]:
        return [self.warning(done.fill)] if done.fill.warning else []

    def warning(self, fill: Fill) -> str:
        return say(
            self.lang,
            "journal_warning",
            percent=fill.pending * 100 // fill.capacity,
            pending=fill.pending,
            capacity=fill.capacity,
        )


Action = Callable[[Desk, list[str]], Awaitable[list[str]]]
_COMMANDS: dict[str, Action] = {}
for _names, _action in (
    (("carte", "card"), Desk.card),
    (("vente", "sale"), Desk.sale),
    (("payer", "pay", "redeem"), Desk.redeem),
    (("tel", "phone"), Desk.phone),
    (("anonyme", "anonymous"), Desk.anonymous),
    (("synchro", "sync"), Desk.sync),
    (("etat", "état", "status"), Desk.status),
    (("journal", "history"), Desk.history),
    (("langue", "language", "lang"), Desk.language),
    (("aide", "help", "?"), Desk.help),
):
    for _n in _names:
        _COMMANDS[_n] = _action


async def nightly(desk: Desk, out: TextIO, hour: int = 2, minute: int = 30) -> None:
    """Sync every night; on failure retry every 10 minutes until it works."""
    while True:
        desk.next_sync = next_nightly(clock.now().astimezone(), hour, minute, 1800)
        await asyncio.sleep(max(0.0, (desk.next_sync - clock.now().astimezone()).total_seconds()))
        while True:
            ok, lines = await desk.sync_once()
            print("\n".join(lines), file=out, flush=True)
            if ok:
                break
            await asyncio.sleep(600)
